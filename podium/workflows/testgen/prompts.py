"""The three prompts of test generation: a short plan (orchestrator), the tests (executor), a repair (escalation).

The plan prompt sends the module's outline, never its bodies, so the expensive model reads and writes little.
"""

from __future__ import annotations

from collections.abc import Sequence

from podium.core.types import ChatRequest
from podium.workflows.testgen.analysis import ModuleAnalysis

PLAN_MAX_TOKENS = 300
GENERATE_MAX_TOKENS = 4096
_PLAN_POINTS = 8
_PREVIOUS_CHARS = 6000  # how much of a rejected attempt the repair prompt quotes

PLAN_SYSTEM = (
    "You are a senior Python test engineer. From a module outline, write a concise test plan: at most "
    f"{_PLAN_POINTS} numbered points naming the behaviours, edge cases and error cases worth testing. No code."
)
GENERATE_SYSTEM = (
    "You write pytest test files. Reply with exactly one ```python code block holding a complete test file and "
    "nothing else. Use plain `def test_...` functions with `assert` statements and `pytest.raises` for errors. "
    "Tests must be deterministic, fast and offline: no network, no sleeping, no files outside tmp_path."
)


def plan_request(analysis: ModuleAnalysis) -> ChatRequest:
    """Ask the orchestrator for a test plan from the outline alone."""
    prompt = f"Module outline:\n\n{analysis.outline()}\n\nWrite the test plan."
    return ChatRequest.from_prompt(prompt, system=PLAN_SYSTEM, max_tokens=PLAN_MAX_TOKENS, temperature=0.0)


def generate_request(analysis: ModuleAnalysis, plan: str | None) -> ChatRequest:
    """Ask the executor for the test file: the import to use, what to cover, the plan and the source."""
    return ChatRequest.from_prompt(
        _generate_prompt(analysis, plan), system=GENERATE_SYSTEM, max_tokens=GENERATE_MAX_TOKENS, temperature=0.0
    )


def repair_request(analysis: ModuleAnalysis, plan: str | None, previous: str, errors: Sequence[str]) -> ChatRequest:
    """Ask a stronger model for a corrected file, quoting the rejected one and why it was rejected."""
    quoted = previous if len(previous) <= _PREVIOUS_CHARS else previous[:_PREVIOUS_CHARS] + "\n# ... (truncated)"
    problems = "\n".join(f"- {e}" for e in errors) or "- (no details)"
    prompt = (
        f"{_generate_prompt(analysis, plan)}\n\n"
        f"A previous attempt was rejected by these checks:\n{problems}\n\n"
        f"The rejected attempt:\n```python\n{quoted}\n```\n\n"
        "Write a corrected, complete test file that passes every check."
    )
    return ChatRequest.from_prompt(prompt, system=GENERATE_SYSTEM, max_tokens=GENERATE_MAX_TOKENS, temperature=0.0)


def _generate_prompt(analysis: ModuleAnalysis, plan: str | None) -> str:
    names = ", ".join(analysis.public_names)
    parts = [
        f"Write pytest tests for the Python module `{analysis.module}`.",
        f"Import it exactly as `import {analysis.module}` or `from {analysis.module} import ...`.",
        f"Every one of these names must be exercised by at least one test: {names}.",
        f"Outline (complexity {analysis.level}):\n{analysis.outline()}",
    ]
    if plan and plan.strip():
        parts.append(f"Test plan:\n{plan.strip()}")
    parts.append(f"Source of `{analysis.module}`:\n```python\n{analysis.source.rstrip()}\n```")
    return "\n\n".join(parts)
