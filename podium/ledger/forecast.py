"""Forecast a batch's cost before running it (as the project orchestrator's CostPredictor / CostForecaster do).

The predictor keeps an exponential moving average of the cost of one call per (task type, model), learned from
the ledger, and falls back to the model's, the task type's, then everyone's average when a pair has no history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from podium.core.errors import ValidationError
from podium.core.money import ZERO, usd
from podium.ledger.rows import OK

LOW_BELOW = Decimal("0.7")  # estimate under 70% of the budget: low risk; up to 100%: medium; above: high


class RiskLevel(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, slots=True)
class ForecastTask:
    """A task to be run: its id, task type and (if already chosen) model."""

    id: str
    task_type: str | None = None
    model: str | None = None


class CostPredictor:
    """EMA of per-call cost by (task type, model), with coarser fallbacks."""

    def __init__(self, alpha: float | Decimal = 0.1) -> None:
        a = usd(alpha)
        if not 0 < a <= 1:
            raise ValidationError(f"alpha {alpha} is not valid; use a number in (0, 1]", field="alpha", value=alpha)
        self.alpha = a
        self._ema: dict[tuple[str | None, str | None], Decimal] = {}
        self._n: dict[tuple[str | None, str | None], int] = {}

    def observe(self, task_type: str | None, model: str | None, cost: Decimal) -> None:
        """Fold one call's cost into every average it belongs to."""
        for key in {(task_type, model), (None, model), (task_type, None), (None, None)}:
            prev = self._ema.get(key)
            self._ema[key] = cost if prev is None else self.alpha * cost + (1 - self.alpha) * prev
            self._n[key] = self._n.get(key, 0) + 1

    def learn(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Learn from ledger rows (oldest first); only answered, priced calls count. Returns how many were used."""
        used = 0
        for row in rows:
            if row.get("status") == OK and row.get("cost_usd") is not None:
                self.observe(row.get("task_type"), row.get("model"), row["cost_usd"])
                used += 1
        return used

    def predict(self, task_type: str | None, model: str | None) -> tuple[Decimal | None, str]:
        """(estimated cost of one call, the basis used: task+model, model, task, all or none)."""
        candidates: list[tuple[tuple[str | None, str | None], str]] = []
        if task_type is not None and model is not None:
            candidates.append(((task_type, model), "task+model"))
        if model is not None:
            candidates.append(((None, model), "model"))
        if task_type is not None:
            candidates.append(((task_type, None), "task"))
        candidates.append(((None, None), "all"))
        for key, basis in candidates:
            if key in self._ema:
                return self._ema[key], basis
        return None, "none"

    def samples(self, task_type: str | None = None, model: str | None = None) -> int:
        return self._n.get((task_type, model), 0)


@dataclass(frozen=True, slots=True)
class ForecastLine:
    task_id: str
    task_type: str | None
    model: str | None
    estimate_usd: Decimal | None
    basis: str


@dataclass(frozen=True, slots=True)
class ForecastReport:
    estimated_total_usd: Decimal
    per_task: tuple[ForecastLine, ...]
    budget_usd: Decimal | None
    risk_level: RiskLevel
    unknown_tasks: int

    @property
    def budget_ratio(self) -> float | None:
        if not self.budget_usd:
            return None
        return float(self.estimated_total_usd / self.budget_usd)

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimated_total_usd": str(self.estimated_total_usd),
            "budget_usd": None if self.budget_usd is None else str(self.budget_usd),
            "budget_ratio": self.budget_ratio,
            "risk_level": self.risk_level.value,
            "unknown_tasks": self.unknown_tasks,
            "per_task": [
                {
                    "task_id": t.task_id,
                    "task_type": t.task_type,
                    "model": t.model,
                    "estimate_usd": None if t.estimate_usd is None else str(t.estimate_usd),
                    "basis": t.basis,
                }
                for t in self.per_task
            ],
        }


def _budget_amount(budget: Any) -> Decimal | None:
    """A budget given as an amount or as an object with ``max_usd`` / ``limit_usd`` (the project orchestrator's Budget)."""
    if budget is None:
        return None
    for attr in ("max_usd", "limit_usd"):
        if hasattr(budget, attr):
            return usd(getattr(budget, attr))
    return usd(budget)


class CostForecaster:
    """Estimate a batch against a budget: total, per task, and a low/medium/high risk level."""

    @staticmethod
    def forecast(
        tasks: Sequence[ForecastTask],
        assignments: Mapping[str, str] | None,
        predictor: CostPredictor,
        budget: Any = None,
    ) -> ForecastReport:
        """``assignments`` maps task id -> model for tasks whose model is decided outside the task."""
        assignments = assignments or {}
        lines: list[ForecastLine] = []
        total = ZERO
        unknown = 0
        for task in tasks:
            model = assignments.get(task.id, task.model)
            estimate, basis = predictor.predict(task.task_type, model)
            if estimate is None:
                unknown += 1
            else:
                total += estimate
            lines.append(ForecastLine(task.id, task.task_type, model, estimate, basis))
        limit = _budget_amount(budget)
        return ForecastReport(total, tuple(lines), limit, _risk(total, limit, unknown), unknown)


def _risk(total: Decimal, limit: Decimal | None, unknown: int) -> RiskLevel:
    if limit is None:
        return RiskLevel.MEDIUM if unknown else RiskLevel.LOW
    if total > limit:
        return RiskLevel.HIGH
    if total >= LOW_BELOW * limit or unknown:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW
