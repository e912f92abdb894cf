"""Budget definitions and which of them a call belongs to.

A budget applies to a scope (project, key, team, user, org, global) over a period (none, day, month). A call's
spend is counted under one *usage key* per applicable budget: ``(scope, scope id, period id)``, for example
``("team", "eng", "month:2025-06")``. Budgets that share a key share one running total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from podium.config.ledger import BudgetSettings, LedgerSettings
from podium.core.money import usd
from podium.core.pipeline import CallMeta

# CallMeta attribute and ledger column for each scope that names an entity.
SCOPE_FIELDS: dict[str, tuple[str, str]] = {
    "project": ("project", "project"),
    "key": ("key", "key"),
    "team": ("team", "team"),
    "user": ("user", "user_id"),
    "org": ("org", "org"),
}
GLOBAL_ID = "*"


@dataclass(frozen=True, slots=True, order=True)
class UsageKey:
    """Where a reservation is counted: one running total per scope entity and period."""

    scope: str
    scope_id: str
    period: str  # "none", "day:YYYY-MM-DD" or "month:YYYY-MM"

    @property
    def label(self) -> str:
        who = self.scope if self.scope == "global" else f"{self.scope}:{self.scope_id}"
        return who if self.period == "none" else f"{who} ({self.period.replace(':', ' ')})"

    def window(self) -> tuple[datetime | None, datetime | None]:
        """The [start, end) of the period in UTC, or (None, None) for a budget without a period."""
        kind, _, value = self.period.partition(":")
        if kind == "day":
            start = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return start, start + timedelta(days=1)
        if kind == "month":
            start = datetime.strptime(value, "%Y-%m").replace(tzinfo=UTC)
            nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
            return start, nxt
        return None, None

    def to_json(self) -> list[str]:
        return [self.scope, self.scope_id, self.period]

    @classmethod
    def from_json(cls, data: Sequence[str]) -> UsageKey:
        return cls(str(data[0]), str(data[1]), str(data[2]))


def period_id(period: str, now: datetime) -> str:
    if period not in ("day", "month"):
        return "none"  # checked first: every call asks, once per budget
    now = now.astimezone(UTC)
    if period == "day":
        return f"day:{now.year:04d}-{now.month:02d}-{now.day:02d}"  # as %Y-%m-%d, without strftime's cost
    return f"month:{now.year:04d}-{now.month:02d}"


@dataclass(frozen=True, slots=True)
class Budget:
    """A spending limit; ``scope_id`` None applies it to each entity of the scope separately."""

    scope: str
    limit_usd: Decimal
    scope_id: str | None = None
    period: str = "none"
    mode: str = "hard"
    alert_threshold: Decimal = Decimal("0.8")

    @classmethod
    def from_settings(cls, s: BudgetSettings) -> Budget:
        return cls(s.scope, s.limit_usd, s.id, s.period, s.mode, s.alert_threshold)

    @property
    def hard(self) -> bool:
        return self.mode == "hard"

    def key_for(self, meta: CallMeta, now: datetime) -> UsageKey | None:
        """The usage key this call counts under, or None when the budget does not cover the call."""
        if self.scope == "call":
            return None
        if self.scope == "global":
            return UsageKey("global", GLOBAL_ID, period_id(self.period, now))
        attr, _ = SCOPE_FIELDS[self.scope]
        who = getattr(meta, attr, None)
        if who is None or (self.scope_id is not None and who != self.scope_id):
            return None
        return UsageKey(self.scope, str(who), period_id(self.period, now))


def budgets_from_settings(settings: LedgerSettings) -> tuple[Budget, ...]:
    """Every budget the settings define: ``ledger.budgets``, into which PodiumConfig has folded the aliases
    (``ledger.daily_budget_usd``, ``orchestration.cost_tracking``; see podium.config.aliases)."""
    return tuple(Budget.from_settings(b) for b in settings.budgets)


@dataclass(frozen=True, slots=True)
class CallCap:
    """A per-call limit: from ``--max-cost`` (CallMeta.max_cost_usd) or a ``scope: call`` budget."""

    limit_usd: Decimal
    mode: str = "hard"


def call_caps(budgets: Iterable[Budget], meta: CallMeta) -> list[CallCap]:
    caps = [CallCap(b.limit_usd, b.mode) for b in budgets if b.scope == "call"]
    if meta.max_cost_usd is not None:
        caps.append(CallCap(usd(meta.max_cost_usd), "hard"))
    return caps


def applicable(budgets: Iterable[Budget], meta: CallMeta, now: datetime) -> list[tuple[Budget, UsageKey]]:
    """(budget, usage key) for every period/entity budget covering this call, in key order (lock order)."""
    pairs = [(b, k) for b in budgets if (k := b.key_for(meta, now)) is not None]
    return sorted(pairs, key=lambda p: p[1])
