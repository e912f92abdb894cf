"""The criteria checker: turns a task's success criteria into checks run on its files, in a temporary folder.

Which checks run on a task's answer:

- ``py_compile`` on every Python file it delivers, and ``json`` on every JSON file (always: they are cheap);
- ``pytest`` when it delivers tests, or when a criterion asks for tests and the task delivers Python (its
  dependencies' files are in the folder too, so tests written earlier run against this task's code);
- ``ruff`` on its Python files and ``schema:<name>`` on its JSON files, when a criterion asks for them.

The project's criteria apply where they can: a check with nothing to run on, or whose tool is missing, is
``skipped``. The task's own ``success_criteria`` must apply: there the same cases are ``failed``, except that a
criterion which only reads like a Python check ("the Go program compiles") on a task delivering no Python is
``unchecked``. A criterion no check covers is listed as ``unchecked`` (not machine-checked) and stays guidance. A failed check fails the task's
validation, which the runner answers with a retry on a stronger model, the failures quoted.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TypeVar

from podium.workflows.project.checks import FAILED, SKIPPED, UNCHECKED, CheckOutcome
from podium.workflows.project.criteria import (
    JSON_CHECK,
    LINT,
    SCHEMA,
    SYNTAX,
    TESTS,
    Criterion,
    JSONSchema,
    parse_criteria,
)
from podium.workflows.project.deliverables import ANSWERS_DIR
from podium.workflows.project.spec import DEFAULT_CHECK_TIMEOUT_S, ProjectSpec
from podium.workflows.project.state import ProjectState, TaskState
from podium.workflows.project.tasks import TaskSpec
from podium.workflows.project.tools import (
    CheckTools,
    check_json,
    check_schema,
    compile_python,
    run_pytest,
    run_ruff,
)

NOT_MACHINE_CHECKED = "not machine-checked: kept as guidance in the prompts"
# The checks only Python files can answer, and the words that make a criterion ask for them whatever the files.
_PYTHON_CHECKS = frozenset([TESTS, LINT, SYNTAX])
_PYTHON_NAMED = re.compile(r"\b(?:pytest|python|py_compile|ruff)\b", re.IGNORECASE)
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class CheckInputs:
    """What checking one task needs besides its answer, taken from the project state on the event loop."""

    criteria: tuple[Criterion, ...]
    schemas: Mapping[str, JSONSchema]
    output_dir: Path
    context_files: tuple[str, ...]  # the files of the tasks it depends on, relative to output_dir
    reserved: frozenset[str]  # other tasks' output files, which an answer's extra blocks may not take
    timeout_s: float = DEFAULT_CHECK_TIMEOUT_S
    tools: CheckTools = field(default_factory=CheckTools)


def task_criteria(spec: ProjectSpec, task: TaskSpec) -> tuple[Criterion, ...]:
    """The project's criteria (applied where they can) then the task's own (which must apply)."""
    names = spec.checks.schemas
    own = parse_criteria(task.success_criteria, explicit=True, schemas=names)
    return tuple(parse_criteria(spec.project.success_criteria, schemas=names) + own)


def check_inputs(state: ProjectState, task: TaskState, tools: CheckTools) -> CheckInputs:
    deps = _ancestors({tid: t.spec.depends_on for tid, t in state.tasks.items()}, task.id)
    context = [
        f
        for tid in state.tasks
        if tid in deps
        for f in state.tasks[tid].files
        if PurePosixPath(f).parts[0] != ANSWERS_DIR
    ]
    reserved = {t.spec.output_file for tid, t in state.tasks.items() if tid != task.id and t.spec.output_file}
    return CheckInputs(
        criteria=task_criteria(state.spec, task.spec),
        schemas=state.spec.checks.schemas,
        output_dir=state.output_dir,
        context_files=tuple(dict.fromkeys(context)),
        reserved=frozenset(reserved),
        timeout_s=state.spec.checks.timeout_seconds,
        tools=tools,
    )


def _ancestors(deps: Mapping[str, tuple[str, ...]], task_id: str) -> set[str]:
    """Every task ``task_id`` depends on, directly or not."""
    out: set[str] = set()
    todo = list(deps.get(task_id, ()))
    while todo:
        dep = todo.pop()
        if dep not in out:
            out.add(dep)
            todo += deps.get(dep, ())
    return out


def run_checks(files: Mapping[str, str], inputs: CheckInputs) -> tuple[CheckOutcome, ...]:
    """Every check that applies, run in a fresh temporary folder holding the dependencies' files and ``files``.

    Blocking (child processes): call it in a worker thread. Merge with ``CheckResult.with_outcomes``."""
    own_py = sorted(f for f in files if f.endswith(".py"))
    plan = _Plan(inputs.criteria, python=bool(own_py))
    own_json = sorted(f for f in files if f.endswith(".json"))
    own_tests = [f for f in own_py if _is_test_file(f)]
    out: list[CheckOutcome] = []
    with tempfile.TemporaryDirectory(prefix="podium-check-") as tmp:
        work, aux = Path(tmp) / "work", Path(tmp) / "aux"
        aux.mkdir()
        _materialise(work, inputs, files)
        if own_py:
            python, timeout = inputs.tools.python, inputs.timeout_s
            outcome = compile_python(work, aux, own_py, python=python, timeout_s=timeout, criterion=plan.text(SYNTAX))
            out.append(plan.must_apply(SYNTAX, outcome))
        else:
            out += plan.nothing_to_check(SYNTAX, "py_compile", "no Python files")
        any_tests = any(_is_test_file(p.name) for p in work.rglob("*.py"))  # the dependencies' count too
        if own_tests or (plan.wants(TESTS) and own_py and any_tests):
            python = inputs.tools.python
            outcome = run_pytest(work, aux, python=python, timeout_s=inputs.timeout_s, criterion=plan.text(TESTS))
            out.append(plan.must_apply(TESTS, outcome))
        else:
            out += plan.nothing_to_check(TESTS, "pytest", "no tests" if own_py else "no Python files")
        if plan.wants(LINT) and own_py:
            ruff = inputs.tools.ruff
            outcome = run_ruff(work, aux, own_py, ruff=ruff, timeout_s=inputs.timeout_s, criterion=plan.text(LINT))
            out.append(plan.must_apply(LINT, outcome))
        else:
            out += plan.nothing_to_check(LINT, "ruff", "no Python files")
        if own_json:
            out.append(check_json(work, own_json, criterion=plan.text(JSON_CHECK)))
        else:
            out += plan.nothing_to_check(JSON_CHECK, "json", "no JSON files")
        for crit in plan.schema_criteria():
            name = crit.schema if crit.schema is not None else next(iter(inputs.schemas), "")
            check = f"schema:{name}"
            if name not in inputs.schemas:
                out.append(CheckOutcome(check, SKIPPED, f"skipped: no schema {name!r} under checks.schemas", crit.text))
            elif own_json:
                module = inputs.tools.jsonschema
                outcome = check_schema(work, own_json, name, inputs.schemas[name], module=module, criterion=crit.text)
                out.append(plan.must_apply(SCHEMA, outcome, crit))
            else:
                out += plan.nothing_to_check(SCHEMA, check, "no JSON files", crit)
    out += [CheckOutcome("criterion", UNCHECKED, NOT_MACHINE_CHECKED, c.text) for c in inputs.criteria if not c.checks]
    return tuple(out)


class _Plan:
    """The criteria by the check they ask for; the task's own criterion wins over the project's.

    ``python``: whether the task delivers Python files. Without them, a task's own criterion that only reads like a
    Python check ("the Go program compiles", "all jest tests pass") is guidance, not a failed pytest/py_compile."""

    def __init__(self, criteria: tuple[Criterion, ...], *, python: bool = True) -> None:
        self.python = python
        self.by_check: dict[str, Criterion] = {}
        self.schemas: dict[str | None, Criterion] = {}
        for crit in criteria:
            for check in crit.checks:
                if check == SCHEMA:
                    self._keep(self.schemas, crit.schema, crit)
                else:
                    self._keep(self.by_check, check, crit)

    @staticmethod
    def _keep(into: dict[K, Criterion], key: K, crit: Criterion) -> None:
        if key not in into or (crit.explicit and not into[key].explicit):
            into[key] = crit

    def wants(self, check: str) -> bool:
        return check in self.by_check

    def text(self, check: str) -> str | None:
        crit = self.by_check.get(check)
        return crit.text if crit is not None else None

    def schema_criteria(self) -> list[Criterion]:
        return list(self.schemas.values())

    def nothing_to_check(
        self, kind: str, check: str, missing: str, crit: Criterion | None = None
    ) -> list[CheckOutcome]:
        """A criterion whose check has nothing to run on: failed for the task's own, skipped for the project's."""
        crit = crit or self.by_check.get(kind)
        if crit is None:
            return []
        if crit.explicit and kind in _PYTHON_CHECKS and not self.python and not _PYTHON_NAMED.search(crit.text):
            return [
                CheckOutcome(check, UNCHECKED, f"{NOT_MACHINE_CHECKED} ({missing} in the task's output)", crit.text)
            ]
        if crit.explicit:
            return [CheckOutcome(check, FAILED, f"{missing} in the task's output to check", crit.text)]
        return [CheckOutcome(check, SKIPPED, f"skipped: not applicable ({missing} in this task's output)", crit.text)]

    def must_apply(self, kind: str, outcome: CheckOutcome, crit: Criterion | None = None) -> CheckOutcome:
        """``outcome``, failed when it was skipped (its tool is missing) but the task's own criterion asked for it."""
        crit = crit or self.by_check.get(kind)
        if outcome.status != SKIPPED or crit is None or not crit.explicit:
            return outcome
        why = outcome.reason.removeprefix("skipped: ")
        reason = f"the task's own criterion could not be checked: {why}"
        return CheckOutcome(outcome.check, FAILED, reason, outcome.criterion, outcome.detail)


def _is_test_file(name: str) -> bool:
    stem = PurePosixPath(name).name
    return stem.endswith(".py") and (stem.startswith("test_") or stem.endswith("_test.py"))


def _materialise(work: Path, inputs: CheckInputs, files: Mapping[str, str]) -> None:
    """Copy the dependencies' files, then write the answer's files, under ``work``."""
    work.mkdir()
    for rel in inputs.context_files:
        source = inputs.output_dir / rel
        if source.is_file():
            _write(work, rel, source.read_bytes())
    for rel, body in files.items():
        _write(work, rel, body.encode("utf-8"))


def _write(root: Path, rel: str, data: bytes) -> None:
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        return  # deliverables and task specs only produce relative paths inside; this is the last guard
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
