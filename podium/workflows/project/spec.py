"""A project spec: what to build, how to judge it done, its budget and its provider policy.

It comes from CLI options or from a project YAML file in the project orchestrator's shape::

    project: {title: ..., description: ..., success_criteria: ...}
    budget: {max_usd: 5.0, max_time_seconds: 3600}
    policy: {enforcement_mode: hard, allowed_providers: [openai, anthropic]}
    checks: {timeout_seconds: 120, schemas: {report: schemas/report.json}}   # optional: how criteria are checked
    tasks: [...]          # optional: a ready task list, so no decomposition call is made
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from podium.config.orchestration import canonical_provider
from podium.config.policy import Policy
from podium.config.validation import config_error_from, read_text_file, safe_load_yaml, yaml_key_lines
from podium.core.errors import ConfigError, ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import usd
from podium.workflows.project.criteria import resolve_schemas
from podium.workflows.project.tasks import PlanError, plan_from_items

if TYPE_CHECKING:
    from podium.workflows.session import UsdAmount

DEFAULT_MAX_USD = Decimal("8.0")  # the project orchestrator's Budget() defaults: $8, 90 minutes
DEFAULT_MAX_TIME_S = 5400.0
DEFAULT_CHECK_TIMEOUT_S = 120.0  # each check's child process (pytest, ruff) is stopped after this long
_TITLE_CHARS = 60


def _money(value: UsdAmount) -> Decimal:
    return usd(value)


Money = Annotated[Decimal, BeforeValidator(_money)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Section):
    title: str = ""
    description: str = Field(min_length=1)
    success_criteria: str = ""


class ProjectBudget(_Section):
    """A hard per-project limit on spend (enforced by the ledger) and on wall time (checked before each task)."""

    max_usd: Money = Field(default=DEFAULT_MAX_USD, gt=0)
    max_time_seconds: float | None = Field(default=DEFAULT_MAX_TIME_S, gt=0)


class ProjectPolicy(_Section):
    """Which providers may serve the project's calls. ``soft`` warns and proceeds when nothing is allowed.

    ``file`` names a policy file (``podium policy check`` format: regions, providers, models, prices); its policies
    are read into ``rules`` when the spec is loaded, so the checkpoint holds them. The rules are checked before
    any call is sent and enforced on every call.
    """

    enforcement_mode: Literal["hard", "soft"] = "hard"
    allowed_providers: tuple[str, ...] | None = None
    file: str | None = None
    rules: tuple[Policy, ...] = ()

    @field_validator("allowed_providers", mode="before")
    @classmethod
    def _canonical(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            return tuple(canonical_provider(str(v)) for v in value)
        return value


class ProjectChecks(_Section):
    """How success criteria are checked: each check's time limit, and the JSON Schemas criteria name.

    A schema is given inline or as a file path (relative to the project file); files are loaded when the spec is
    read, so the checkpoint holds the schemas themselves.
    """

    timeout_seconds: float = Field(default=DEFAULT_CHECK_TIMEOUT_S, gt=0, le=3600)
    schemas: dict[str, dict[str, Any] | bool] = Field(default_factory=dict)


class ProjectSpec(_Section):
    """Everything a run needs to know about the project (the ``tasks`` list is optional)."""

    project: ProjectInfo
    budget: ProjectBudget = Field(default_factory=ProjectBudget)
    policy: ProjectPolicy = Field(default_factory=ProjectPolicy)
    checks: ProjectChecks = Field(default_factory=ProjectChecks)
    tasks: tuple[dict[str, Any], ...] | None = None

    @property
    def title(self) -> str:
        """The given title, else the description's first line cut to a few words."""
        if self.project.title.strip():
            return self.project.title.strip()
        first = self.project.description.strip().splitlines()[0]
        return first if len(first) <= _TITLE_CHARS else first[: _TITLE_CHARS - 3].rstrip() + "..."

    @classmethod
    def from_mapping(cls, data: object, *, path: Path | None = None) -> ProjectSpec:
        """Validate ``data``; problems become one ConfigError naming the file, line and key."""
        if not isinstance(data, dict):
            where = str(path) if path else "project spec"
            raise ConfigError(
                f"{where}: the top level must be a mapping with project:, budget: and policy:, "
                f"not {type(data).__name__}",
                field="<top level>",
                value=type(data).__name__,
            )
        lines = yaml_key_lines(path) if path is not None else {}
        data = _with_schemas(data, path, lines)
        data = _with_policy_file(data, path)
        try:
            spec = cls.model_validate(data)
        except pydantic.ValidationError as exc:
            raise config_error_from(exc, cls, path=path, sources={}, lines=lines) from None
        if spec.tasks is not None:
            try:
                plan_from_items(list(spec.tasks))
            except PlanError as exc:
                key = exc.field or "tasks"
                line = lines.get(key.split(".")[0]) or lines.get("tasks")
                where = f"{path} line {line}" if path is not None and line else str(path or "project spec")
                raise ConfigError(f"{where}: {exc}", field=key, value=exc.value, valid=exc.valid) from None
        return spec

    def to_dict(self) -> JSONObject:
        return self.model_dump(mode="json", exclude_none=False)


def _with_schemas(data: dict[str, object], path: Path | None, lines: dict[str, int]) -> dict[str, object]:
    """``data`` with ``checks.schemas`` resolved: schema files (named there or in a criterion) loaded inline."""
    checks = data.get("checks")
    project = data.get("project")
    tasks = data.get("tasks")
    criteria: list[tuple[str, str | Sequence[str] | None]] = []
    if isinstance(project, dict) and isinstance(project.get("success_criteria"), str):
        criteria.append(("project.success_criteria", project["success_criteria"]))
    if isinstance(tasks, list):
        criteria += [
            (f"tasks[{i}].success_criteria", t.get("success_criteria"))
            for i, t in enumerate(tasks)
            if isinstance(t, dict) and isinstance(t.get("success_criteria"), (str, list))
        ]
    if not isinstance(checks, dict) and not any("schema" in str(text).lower() for _, text in criteria):
        return data
    checks = dict(checks) if isinstance(checks, dict) else {}
    base = path.parent if path is not None else Path.cwd()
    try:
        checks["schemas"] = resolve_schemas(checks.get("schemas"), criteria, base_dir=base)
    except ValidationError as exc:
        line = lines.get(exc.field or "") or lines.get((exc.field or "").split(".")[0])
        where = f"{path} line {line}" if path is not None and line else str(path or "project spec")
        raise ConfigError(f"{where}: {exc}", field=exc.field, value=exc.value, valid=exc.valid) from None
    return {**data, "checks": checks}


def _with_policy_file(data: dict[str, object], path: Path | None) -> dict[str, object]:
    """``data`` with ``policy.file`` (relative to the project file) read into ``policy.rules``."""
    from podium.policy import load_policy_file

    policy = data.get("policy")
    if not isinstance(policy, dict) or not isinstance(policy.get("file"), str) or policy.get("rules"):
        return data
    file = Path(policy["file"]).expanduser()
    if not file.is_absolute():
        file = (path.parent if path is not None else Path.cwd()) / file
    rules = [p.model_dump(mode="json") for p in load_policy_file(file).all_policies()]
    return {**data, "policy": {**policy, "file": str(file.resolve()), "rules": rules}}


def load_project_file(path: str | Path) -> ProjectSpec:
    """Read and validate a project YAML (or JSON) file."""
    file = Path(path).expanduser()
    text = read_text_file(file, what="project file", field="file")
    data = safe_load_yaml(text, file)
    return ProjectSpec.from_mapping(data if data is not None else {}, path=file)


def build_spec(
    *,
    file: str | Path | None = None,
    description: str | None = None,
    criteria: str | None = None,
    title: str | None = None,
    max_usd: UsdAmount | None = None,
    max_time_seconds: float | None = None,
    allowed_providers: list[str] | None = None,
) -> ProjectSpec:
    """A spec from a file and/or options; options given on the command line win over the file's values."""
    data: dict[str, Any] = load_project_file(file).to_dict() if file is not None else {}
    project = dict(data.get("project") or {})
    budget = dict(data.get("budget") or {})
    policy = dict(data.get("policy") or {})
    for key, value in (("description", description), ("success_criteria", criteria), ("title", title)):
        if value is not None:
            project[key] = value
    if "description" not in project:
        raise ValidationError(
            "no project description: pass --project TEXT or --file project.yaml with project.description",
            field="project.description",
        )
    if max_usd is not None:
        budget["max_usd"] = max_usd
    if max_time_seconds is not None:
        budget["max_time_seconds"] = max_time_seconds
    if allowed_providers:
        policy["allowed_providers"] = allowed_providers
    data.update(project=project, budget=budget, policy=policy)
    return ProjectSpec.from_mapping(data, path=Path(file) if file is not None else None)
