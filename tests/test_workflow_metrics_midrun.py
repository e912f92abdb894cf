"""Workflow metrics move while a run is under way: cost counters grow with each call, and a task or a delegation is
counted when it happens, so a Prometheus scrape in the middle of a run sees them (not only at the end).

Both workflows run on the real engine against the fake upstream on loopback; the registry is read from the
workflow's own progress callback or event hook, in the middle of the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.core.events import EventType
from podium.core.types import Usage
from podium.engine import Podium
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve
from podium.workflows.project import ProjectOrchestrator, build_spec
from podium.workflows.testgen import GenerationOptions, analyze_file, generate_tests

KEY = "sk-test-midrun-0123456789"
ORCHESTRATOR = "anthropic:claude-sonnet-4-5"
EXECUTOR = "gemini:gemini-2.5-flash"
PLAN_USAGE = Usage(input_tokens=210, output_tokens=95)
GEN_USAGE = Usage(input_tokens=1500, output_tokens=420)
MODULE = '"""Adds."""\n\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b\n'
TESTS = "```python\nfrom calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```\n"
TASKS = {"tasks": [
    {"id": "core", "title": "Core", "prompt": "Write it.", "task_type": "code", "output_file": "pkg/core.py",
     "acceptance": ["class"]},
    {"id": "docs", "title": "Docs", "prompt": "Document it.", "task_type": "writing", "depends_on": ["core"],
     "acceptance": ["README"]},
]}  # fmt: skip
ANSWER = "README\n```python\nclass TokenBucket:\n    rate = 1\n```\n"
TASK_USAGE = Usage(input_tokens=100, output_tokens=100)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def _price(model_id: str, usage: Usage) -> Decimal:
    cost = Catalog.bundled().get(model_id).cost(usage)
    assert cost is not None
    return cost


def _snapshot(registry: CollectorRegistry) -> dict[str, float]:
    """Every orchestration_* sample (labels folded into the name), as a scrape would see it now."""
    out: dict[str, float] = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name.startswith("orchestration_") and not s.name.endswith("_created"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


async def test_testgen_counts_the_task_delegation_and_its_cost_before_validating(
    upstream: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    fake, base = upstream
    fake.reset()
    bundled = Catalog.bundled()
    fake.script(bundled.get(ORCHESTRATOR).api_model, "1. test add", usage=PLAN_USAGE)
    fake.script(bundled.get(EXECUTOR).api_model, TESTS, usage=GEN_USAGE)
    source = tmp_path / "calc.py"
    source.write_text(MODULE)
    config = PodiumConfig.from_mapping({
        "providers": {"anthropic": {"base_url": base}, "gemini": {"base_url": base}},
        "orchestration": {"fallback_strategy": {"models": []}, "executors": [
            {"model": "gemini-2.5-flash", "provider": "google-ai-studio", "api_key_env": "GOOGLE_API_KEY",
             "use_cases": ["simple", "moderate", "complex", "expert"]}]},
        "resilience": {"retry": {"max_attempts": 1}},
    })  # fmt: skip
    env = {"ANTHROPIC_API_KEY": KEY, "GOOGLE_API_KEY": KEY}
    telemetry = Telemetry(config.telemetry)
    seen: dict[str, dict[str, float]] = {}

    def progress(kind: str, message: str) -> None:
        if kind == "executor" and message.startswith("Tests generated"):  # answered, not yet validated
            seen["after delegation"] = _snapshot(telemetry.registry)

    async with Podium.from_config(config, env=env, home=tmp_path / "home", telemetry=telemetry) as client:
        result = await generate_tests(client, analyze_file(source), config.orchestration, env=env,
                                      options=GenerationOptions(output=tmp_path / "calc_test.py"),
                                      telemetry=telemetry, progress=progress)  # fmt: skip
    assert result.passed
    mid = seen["after delegation"]
    plan, gen = _price(ORCHESTRATOR, PLAN_USAGE), _price(EXECUTOR, GEN_USAGE)
    assert mid["orchestration_tasks_total{complexity=simple}"] == 1
    assert mid[f"orchestration_delegations_total{{executor_model={EXECUTOR}}}"] == 1
    assert mid[f"orchestration_delegations_success_total{{executor_model={EXECUTOR}}}"] == 0  # not checked yet
    assert mid["orchestration_executor_tokens_total"] == GEN_USAGE.total_tokens
    assert mid["orchestration_orchestrator_cost_usd_total"] == pytest.approx(float(plan))
    assert mid["orchestration_executor_cost_usd_total"] == pytest.approx(float(gen))
    assert mid["orchestration_total_cost_usd_total"] == pytest.approx(float(plan + gen))
    assert mid["orchestration_workflows_total"] == 0

    end = _snapshot(telemetry.registry)  # the task and the delegation are not counted a second time at the end
    assert end["orchestration_tasks_total{complexity=simple}"] == 1
    assert end[f"orchestration_delegations_total{{executor_model={EXECUTOR}}}"] == 1
    assert end[f"orchestration_delegations_success_total{{executor_model={EXECUTOR}}}"] == 1
    assert end["orchestration_total_cost_usd_total"] == pytest.approx(float(plan + gen))
    assert end["orchestration_workflows_total"] == 1


async def test_a_project_shows_the_first_tasks_cost_while_the_second_runs(
    upstream: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    fake, base = upstream
    fake.reset()
    fake.script("gpt-4o-mini", json.dumps(TASKS), usage=TASK_USAGE)
    fake.script("gpt-4o", ANSWER, usage=TASK_USAGE)
    config = PodiumConfig.from_mapping({
        "orchestration": {"orchestrator": {"model": "openai:gpt-4o-mini"}, "fallback_strategy": {"models": []}},
        "providers": {"openai": {"base_url": f"{base}/v1"}},
        "routing": {"chains": {"solo": ["openai:gpt-4o"]}, "chain": "solo"},
        "resilience": {"retry": {"max_attempts": 1}},
    })  # fmt: skip
    orch = ProjectOrchestrator(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home")
    seen: dict[str, dict[str, float]] = {}

    def second_task_started(task_id: str, **_: object) -> None:
        if task_id == "docs":
            seen["docs started"] = _snapshot(orch.telemetry.registry)

    orch.add_hook(EventType.TASK_STARTED, second_task_started)
    try:
        state = await orch.run(build_spec(description="Token bucket", max_usd="1"), output_dir=tmp_path / "out")
    finally:
        orch.close()
    assert state.status == "completed"
    mid = seen["docs started"]
    task = _price("openai:gpt-4o", TASK_USAGE)
    assert mid["orchestration_delegations_total{executor_model=openai:gpt-4o}"] == 1
    assert mid["orchestration_executor_cost_usd_total"] == pytest.approx(float(task))
    assert mid["orchestration_total_cost_usd_total"] == pytest.approx(float(task + _price("openai:gpt-4o-mini",
                                                                                          TASK_USAGE)))
    assert sum(v for k, v in mid.items() if k.startswith("orchestration_tasks_total")) == 2  # docs counted at start
    assert mid["orchestration_workflows_total"] == 0
