"""The project's money: a hard project-scope budget in the ledger, its running spend, and the forecast before a run.

The limit is enforced by the ledger's reservation (worst case held before each call is sent, in one transaction),
so concurrent tasks cannot overshoot it; the runner also reads the project's spend to stop before a task it
could not pay for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from podium.config.ledger import BudgetSettings
from podium.core.errors import PodiumError
from podium.core.money import ZERO
from podium.core.types import ChatRequest
from podium.ledger import CostForecaster, CostPredictor, ForecastReport, ForecastTask, LedgerReader, Totals, UsageKey
from podium.workflows.project.state import TaskState

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.engine import Podium

HISTORY_ROWS = 5000  # ledger rows (newest) the forecast learns per-call costs from


def with_project_budget(config: PodiumConfig, project_id: str, max_usd: Decimal) -> PodiumConfig:
    """``config`` with a hard budget of ``max_usd`` for calls tagged ``CallMeta(project=project_id)``."""
    budget = BudgetSettings(scope="project", id=project_id, limit_usd=max_usd, mode="hard")
    others = tuple(b for b in config.ledger.budgets if not (b.scope == "project" and b.id == project_id))
    ledger = config.ledger.model_copy(update={"budgets": (*others, budget)})
    return config.model_copy(update={"ledger": ledger})


class ProjectSpend:
    """Reads the ledger's running totals for one project (spent and currently reserved)."""

    def __init__(self, config: PodiumConfig, home: Path, project_id: str) -> None:
        self.key = UsageKey("project", project_id, "none")
        self._reader = LedgerReader(config.ledger.database_url(home)) if config.ledger.enabled else None

    def totals(self) -> Totals:
        return self._reader.totals(self.key) if self._reader is not None else Totals()

    def history(self) -> list[dict[str, object]]:
        """Recent ledger rows, oldest first, for the cost predictor."""
        if self._reader is None:
            return []
        return list(reversed(self._reader.rows(newest_first=True, limit=HISTORY_ROWS)))

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


async def forecast_tasks(
    client: Podium,
    tasks: Sequence[TaskState],
    requests: Iterable[ChatRequest],
    *,
    strategy: str,
    candidates: Sequence[str] | None,
    remaining_usd: Decimal,
    history: Iterable[Mapping[str, object]] = (),
) -> ForecastReport:
    """Estimate the tasks still to run against what is left of the budget.

    Each task's first routed model is taken from the strategy's explanation (no model is called); the router's
    price estimate for it seeds the (task type, model) average and the ledger's history refines it.
    """
    predictor = CostPredictor()
    planned: list[ForecastTask] = []
    for task, request in zip(tasks, requests, strict=True):
        model, estimate = await _first_step(client, request, strategy, candidates)
        if model is not None and estimate is not None:
            predictor.observe(task.spec.task_type, model, estimate)
        planned.append(ForecastTask(task.id, task.spec.task_type, model))
    predictor.learn(history)
    return CostForecaster.forecast(planned, None, predictor, max(remaining_usd, ZERO))


async def _first_step(
    client: Podium, request: ChatRequest, strategy: str, candidates: Sequence[str] | None
) -> tuple[str | None, Decimal | None]:
    try:
        decision = await client.explain(request, strategy=strategy, candidates=candidates)
    except PodiumError:  # the forecast is advice: an unroutable task shows as unknown, and fails when it runs
        return None, None
    if not decision.chosen:
        return None, None
    first = decision.chosen[0]
    cost = next((c.estimated_cost for c in decision.candidates if c.id == first), None)
    return first, cost
