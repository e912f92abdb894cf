"""Checks a generated test file must pass before it is written: code block, syntax, pytest shape, coverage of the
module's public API, assertions, and a ``pytest --collect-only`` in a child process (``--run`` also runs it)."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from podium.core.json_types import JSONObject
from podium.workflows.testgen.analysis import ModuleAnalysis
from podium.workflows.testgen.sandbox import DEFAULT_TIMEOUT_S, PytestOutcome, run_pytest

_FENCE = re.compile(r"```[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)(?:```|\Z)", re.DOTALL)
_PY_LANGS = {"", "python", "py", "python3"}
_ASSERTING_CALLS = {"raises", "warns", "deprecated_call", "fail"}
_SHOWN = 6  # names listed in a failed check's detail


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str = ""

    def to_dict(self) -> JSONObject:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Every check's verdict on one reply, and the code extracted from it."""

    code: str
    checks: tuple[Check, ...]
    test_count: int = 0
    pytest: PytestOutcome | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def passed_count(self) -> int:
        return sum(c.passed for c in self.checks)

    @property
    def errors(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]

    def to_dict(self) -> JSONObject:
        return {
            "passed": self.passed,
            "checks_passed": self.passed_count,
            "checks_total": len(self.checks),
            "tests": self.test_count,
            "checks": [c.to_dict() for c in self.checks],
        }


def extract_code(reply: str) -> str | None:
    """The longest Python code block in a model reply; the whole reply when it has no fence but parses."""
    blocks = [m.group("body") for m in _FENCE.finditer(reply) if m.group("lang").lower() in _PY_LANGS]
    if blocks:
        return max(blocks, key=len).strip() + "\n"
    text = reply.strip()
    if not text:
        return None
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text + "\n"


def static_checks(code: str | None, analysis: ModuleAnalysis) -> tuple[list[Check], ast.Module | None, int]:
    """The checks that need no process: (checks, parsed tree or None, number of test functions)."""
    if code is None:
        return [Check("code block", False, "the reply holds no Python code block")], None, 0
    checks = [Check("code block", True, f"{len(code)} chars")]
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        checks.append(Check("syntax", False, f"line {exc.lineno}: {exc.msg}"))
        return checks, None, 0
    checks.append(Check("syntax", True))
    tests = _test_functions(tree)
    imports_pytest = any(
        isinstance(n, ast.Import)
        and any(a.name == "pytest" for a in n.names)
        or isinstance(n, ast.ImportFrom)
        and n.module == "pytest"
        for n in ast.walk(tree)
    )
    pytest_note = "imports pytest" if imports_pytest else "plain test functions"
    checks.append(
        Check("test functions", bool(tests), f"{len(tests)} tests, {pytest_note}" if tests else "no test_* functions")
    )
    missing = [n for n in analysis.public_names if n not in _referenced_names(tree)]
    checks.append(
        Check(
            "covers public API",
            not missing,
            _listed("not referenced", missing) or f"{len(analysis.public_names)} names",
        )
    )
    silent = [t.name for t in tests if not _asserts(t)]
    asserted = bool(tests) and not silent
    checks.append(Check("assertions", asserted, _listed("no assert in", silent) or ("" if tests else "no tests")))
    return checks, tree, len(tests)


def validate(
    reply: str,
    analysis: ModuleAnalysis,
    *,
    filename: str,
    collect: bool = True,
    run: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    python: str = sys.executable,
) -> ValidationReport:
    """Run every check on ``reply``. pytest runs only when the static checks pass (there is no point otherwise)."""
    code = extract_code(reply)
    checks, _, n_tests = static_checks(code, analysis)
    outcome = None
    if collect and code is not None and all(c.passed for c in checks):
        outcome = run_pytest(
            code, filename=filename, import_root=analysis.import_root, timeout_s=timeout_s, python=python
        )
        checks.append(_collect_check(outcome))
        if run and outcome.ok:
            ran = run_pytest(
                code,
                filename=filename,
                import_root=analysis.import_root,
                collect_only=False,
                timeout_s=timeout_s,
                python=python,
            )
            checks.append(_run_check(ran))
            outcome = ran
    return ValidationReport(code or "", tuple(checks), n_tests, outcome)


def _collect_check(outcome: PytestOutcome) -> Check:
    if outcome.ok and outcome.collected:
        return Check("pytest collects", True, f"{outcome.collected} collected")
    if outcome.timed_out:
        return Check("pytest collects", False, "collection timed out")
    why = "; ".join(outcome.error_lines(4)) or f"exit code {outcome.exit_code}"
    return Check("pytest collects", False, why)


def _run_check(outcome: PytestOutcome) -> Check:
    if outcome.ok:
        return Check("tests pass", True, f"{outcome.passed} passed")
    if outcome.timed_out:
        return Check("tests pass", False, "the run timed out")
    return Check("tests pass", False, f"{outcome.failed} failed: " + "; ".join(outcome.error_lines(4)))


def _test_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    funcs = (ast.FunctionDef, ast.AsyncFunctionDef)
    out = [n for n in tree.body if isinstance(n, funcs) and n.name.startswith("test")]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("Test")):
        out += [n for n in cls.body if isinstance(n, funcs) and n.name.startswith("test")]
    return out


def _referenced_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.name.rsplit(".", 1)[-1])
            if node.asname:
                names.add(node.asname)
    return names


def _asserts(func: ast.AST) -> bool:
    """An assert statement, ``pytest.raises``/``warns``, or an ``assert*`` helper call (unittest, numpy)."""
    for node in ast.walk(func):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in _ASSERTING_CALLS or name.lower().startswith("assert"):
                return True
    return False


def _listed(what: str, names: list[str]) -> str:
    if not names:
        return ""
    more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
    return f"{what} {', '.join(names[:_SHOWN])}{more}"


def default_test_path(source: Path) -> Path:
    """``calc.py`` -> ``calc_test.py`` next to it (pytest collects ``*_test.py``)."""
    return source.with_name(f"{source.stem}_test.py")
