"""A project's task list: the JSON the orchestrator model writes, parsed and checked into ``TaskSpec``s."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject
from podium.routing.task_analysis import TASK_TYPES
from podium.workflows.project.graph import find_cycle

MAX_TASKS = 40
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n\s*```\s*$", re.DOTALL)
TASK_KEYS: tuple[str, ...] = (
    "id",
    "title",
    "prompt",
    "depends_on",
    "task_type",
    "acceptance",
    "output_file",
    "success_criteria",
    "critical",
)


class PlanError(ValidationError):
    """The task list is not usable: the message names the task and key (``tasks[2].depends_on``)."""


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One unit of work: a prompt for an executor model, the tasks it waits for, and how to check its answer."""

    id: str
    title: str
    prompt: str
    depends_on: tuple[str, ...] = ()
    task_type: str | None = None  # one of podium.routing.task_analysis.TASK_TYPES; None = analyse the prompt
    acceptance: tuple[str, ...] = ()  # words or phrases the answer must contain
    output_file: str | None = None  # relative path the answer's code is saved to
    success_criteria: tuple[str, ...] = ()  # this task's own criteria, checked where a check exists (see criteria.py)
    critical: bool = False  # reviewed by a model of another provider (review.py) when the run reviews critical tasks

    @property
    def wants_code(self) -> bool:
        return self.task_type == "code"

    def to_dict(self) -> JSONObject:
        return {
            "id": self.id,
            "title": self.title,
            "prompt": self.prompt,
            "depends_on": list(self.depends_on),
            "task_type": self.task_type,
            "acceptance": list(self.acceptance),
            "output_file": self.output_file,
            "success_criteria": list(self.success_criteria),
            "critical": self.critical,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TaskSpec:
        return _task(data, 0, "task")


@dataclass(frozen=True, slots=True)
class TaskPlan:
    """The parsed task list, in the order the model wrote it."""

    tasks: tuple[TaskSpec, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.tasks)


def parse_plan(text: str) -> TaskPlan:
    """Parse the model's reply (bare JSON, or inside one code fence): ``{"tasks": [...]}`` or a list."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group("body")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise PlanError(
            f"the task list is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            'reply with {"tasks": [...]} only',
            field="tasks",
            value=text[:200],
        ) from None
    if isinstance(data, Mapping):
        if "tasks" not in data:
            raise PlanError(
                f"the task list has no 'tasks' key (found: {', '.join(map(str, data)) or 'nothing'})",
                field="tasks",
                value=list(data),
            )
        data = data["tasks"]
    return plan_from_items(data)


def plan_from_items(items: object) -> TaskPlan:
    """Check a list of task mappings (from the model or a project file) and build the plan."""
    if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
        raise PlanError(f"tasks must be a list of task objects, not {type(items).__name__}", field="tasks")
    if not items:
        raise PlanError("tasks is empty; give at least one task", field="tasks", value=[])
    if len(items) > MAX_TASKS:
        raise PlanError(
            f"tasks holds {len(items)} tasks; at most {MAX_TASKS} are allowed (merge small steps)",
            field="tasks",
            value=len(items),
        )
    tasks = tuple(_task(item, i, f"tasks[{i}]") for i, item in enumerate(items))
    _check_ids(tasks)
    cycle = find_cycle({t.id: t.depends_on for t in tasks})
    if cycle:
        raise PlanError(
            f"tasks depend on each other in a cycle: {' -> '.join(cycle)}; remove one of these depends_on entries",
            field="tasks.depends_on",
            value=cycle,
        )
    return TaskPlan(tasks)


def _task(item: object, index: int, where: str) -> TaskSpec:
    if not isinstance(item, Mapping):
        raise PlanError(f"{where} must be an object with id, title and prompt", field=where, value=item)
    unknown = [k for k in item if k not in TASK_KEYS]
    if unknown:
        raise PlanError(
            f"{where} has unknown key {unknown[0]!r}; valid keys: {', '.join(TASK_KEYS)}",
            field=f"{where}.{unknown[0]}",
            value=unknown[0],
            valid=list(TASK_KEYS),
        )
    task_id = _text(item, "id", where, default=f"task-{index + 1}")
    if not _ID.match(task_id):
        raise PlanError(
            f"{where}.id {task_id!r} is not valid; use letters, digits, '-', '_' or '.' (at most 64)",
            field=f"{where}.id",
            value=task_id,
        )
    return TaskSpec(
        id=task_id,
        title=_text(item, "title", where, default=task_id),
        prompt=_text(item, "prompt", where),
        depends_on=_strings(item, "depends_on", where),
        task_type=_task_type(item.get("task_type"), where),
        acceptance=_strings(item, "acceptance", where),
        output_file=_output_file(item.get("output_file"), where),
        success_criteria=_strings(item, "success_criteria", where),
        critical=_flag(item, "critical", where),
    )


def _text(item: Mapping[str, object], key: str, where: str, default: str | None = None) -> str:
    value = item.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{where}.{key} must be a non-empty string", field=f"{where}.{key}", value=value)
    return value.strip()


def _flag(item: Mapping[str, object], key: str, where: str) -> bool:
    value = item.get(key, False)
    if not isinstance(value, bool):
        raise PlanError(
            f"{where}.{key} must be true or false", field=f"{where}.{key}", value=value, valid=[True, False]
        )
    return value


def _strings(item: Mapping[str, object], key: str, where: str) -> tuple[str, ...]:
    value = item.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PlanError(f"{where}.{key} must be a list of strings", field=f"{where}.{key}", value=value)
    return tuple(v.strip() for v in value)


def _task_type(value: object, where: str) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower()
    if key not in TASK_TYPES:
        raise PlanError(
            f"{where}.task_type {value!r} is not valid; use one of {', '.join(TASK_TYPES)}",
            field=f"{where}.task_type",
            value=value,
            valid=list(TASK_TYPES),
        )
    return key


def _output_file(value: object, where: str) -> str | None:
    if value is None:
        return None
    path = PurePosixPath(str(value).replace("\\", "/"))
    if not str(value).strip() or path.is_absolute() or ".." in path.parts or str(path) in (".", ""):
        raise PlanError(
            f"{where}.output_file {value!r} is not valid; use a relative path inside the output directory",
            field=f"{where}.output_file",
            value=value,
        )
    return str(path)


def _check_ids(tasks: Sequence[TaskSpec]) -> None:
    seen: dict[str, int] = {}
    files: dict[str, str] = {}
    for i, t in enumerate(tasks):
        if t.id in seen:
            raise PlanError(
                f"tasks[{i}].id {t.id!r} repeats tasks[{seen[t.id]}].id", field=f"tasks[{i}].id", value=t.id
            )
        seen[t.id] = i
        if t.output_file is not None:
            if t.output_file in files:
                raise PlanError(
                    f"tasks[{i}].output_file {t.output_file!r} is already written by task {files[t.output_file]!r}",
                    field=f"tasks[{i}].output_file",
                    value=t.output_file,
                )
            files[t.output_file] = t.id
    for i, t in enumerate(tasks):
        for dep in t.depends_on:
            if dep not in seen:
                raise PlanError(
                    f"tasks[{i}].depends_on names unknown task {dep!r}; known ids: {', '.join(seen)}",
                    field=f"tasks[{i}].depends_on",
                    value=dep,
                    valid=list(seen),
                )
            if dep == t.id:
                raise PlanError(
                    f"tasks[{i}].depends_on lists the task itself ({dep!r})", field=f"tasks[{i}].depends_on", value=dep
                )
