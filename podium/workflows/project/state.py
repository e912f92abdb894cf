"""A project's state as checkpointed: the project row and one row per task."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.workflows.project.checks import FAILED as CHECK_FAILED
from podium.workflows.project.checks import PASSED, SKIPPED, CheckOutcome
from podium.workflows.project.spec import ProjectSpec
from podium.workflows.project.tasks import TaskSpec

# Project statuses. `paused` = stopped by the budget, the time limit or an interruption; resumable.
PLANNING, RUNNING, COMPLETED, FAILED, PAUSED = "planning", "running", "completed", "failed", "paused"
# Every task done, but each success criterion that has a check was skipped (its tool is missing): nothing verified it.
COMPLETED_UNVERIFIED = "completed_unverified"
# Task statuses. A `running` task found on resume was interrupted and runs again.
PENDING, STARTED, DONE, TASK_FAILED, BLOCKED = "pending", "running", "done", "failed", "blocked"


@dataclass(slots=True)
class TaskState:
    spec: TaskSpec
    status: str = PENDING
    model: str | None = None
    cost_usd: Decimal = ZERO  # every attempt's cost, across runs
    tokens: int = 0
    runs: int = 0  # how many times the task was sent to a model (validation retries included)
    output_path: str | None = None
    files: tuple[str, ...] = ()
    score: float | None = None
    problems: tuple[str, ...] = ()
    error: str | None = None
    complexity: str | None = None
    checks: tuple[CheckOutcome, ...] = ()  # the last attempt's check outcomes (criteria.py, verify.py)

    @property
    def id(self) -> str:
        return self.spec.id

    def to_dict(self) -> JSONObject:
        return {
            **self.spec.to_dict(),
            "status": self.status,
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "tokens": self.tokens,
            "runs": self.runs,
            "output_path": self.output_path,
            "files": list(self.files),
            "score": self.score,
            "problems": list(self.problems),
            "error": self.error,
            "complexity": self.complexity,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass(frozen=True, slots=True)
class TaskResult:
    """What a finished task produced: the ``result`` of a TASK_COMPLETED event (``result.score``, as the project orchestrator's hooks see it)."""

    task_id: str
    model: str | None
    score: float
    cost_usd: Decimal
    tokens: int
    passed: bool
    output_path: str | None
    problems: tuple[str, ...] = ()
    checks: tuple[CheckOutcome, ...] = ()


@dataclass(slots=True)
class ProjectState:
    id: str
    spec: ProjectSpec
    output_dir: Path
    strategy: str
    status: str = PLANNING
    created_at: datetime | None = None
    updated_at: datetime | None = None
    tasks: dict[str, TaskState] = field(default_factory=dict)
    plan_cost_usd: Decimal = ZERO
    plan_tokens: int = 0
    plan_model: str | None = None
    stop_reason: str | None = None
    elapsed_s: float = 0.0
    max_usd: Decimal | None = None  # the limit in force (resume may raise the spec's)
    forecast: JSONObject | None = None

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def spent_usd(self) -> Decimal:
        return self.plan_cost_usd + sum((t.cost_usd for t in self.tasks.values()), ZERO)

    @property
    def budget_usd(self) -> Decimal:
        return self.max_usd if self.max_usd is not None else self.spec.budget.max_usd

    def count(self, status: str) -> int:
        return sum(1 for t in self.tasks.values() if t.status == status)

    def to_dict(self) -> JSONObject:
        """The ``--json`` shape of ``podium project run/resume/show``."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "output_dir": str(self.output_dir),
            "strategy": self.strategy,
            "created_at": None if self.created_at is None else self.created_at.isoformat(),
            "updated_at": None if self.updated_at is None else self.updated_at.isoformat(),
            "budget": {
                "max_usd": str(self.budget_usd),
                "spent_usd": str(self.spent_usd),
                "max_time_seconds": self.spec.budget.max_time_seconds,
                "elapsed_seconds": round(self.elapsed_s, 3),
            },
            "plan": {"model": self.plan_model, "cost_usd": str(self.plan_cost_usd), "tokens": self.plan_tokens},
            "forecast": self.forecast,
            "tasks": [t.to_dict() for t in self.tasks.values()],
            "spec": self.spec.to_dict(),
        }


def unverified_reason(state: ProjectState) -> str | None:
    """Why a finished project is not verified: its criteria's checks were all skipped, none passed or failed."""
    criteria = [c for t in state.tasks.values() for c in t.checks if c.criterion is not None]
    if any(c.status in (PASSED, CHECK_FAILED) for c in criteria):
        return None
    skipped = [c for c in criteria if c.status == SKIPPED]
    if not skipped:
        return None
    first = skipped[0]
    return f"no success criterion was checked: {first.criterion!r} {first.reason}"
