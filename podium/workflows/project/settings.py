"""How a project's tasks are run: the runner's settings, and the hook that receives the run's forecast."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from podium.ledger import ForecastReport
from podium.workflows.project.tools import CheckTools

WORKFLOW = "project"
ForecastHook = Callable[[ForecastReport], None]


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How tasks are run. ``candidates`` None lets the strategy choose among every reachable model."""

    strategy: str = "cascade"
    max_concurrency: int = 3
    task_max_tokens: int | None = 4096
    validation_retries: int = 1  # extra attempts, with the problems quoted, after a failed validation
    orchestrator_model: str | None = None
    candidates: tuple[str, ...] | None = None
    check_tools: CheckTools = field(
        default_factory=CheckTools
    )  # the programs the criteria checks run (pytest's python, ruff)
    review: str = "critical"  # off | critical | all: which passing answers a model of another provider reviews
    review_strategy: str = "cheapest"  # how the reviewer is chosen among the other providers' models
    review_candidates: tuple[str, ...] = ()  # models a reviewer may be; the orchestrator fills in reachable ones
    team: str | None = None  # CallMeta.team of every call: an agent pool's shared budget (pool.py)
