"""Budget events: a budget passed (hard refusal or soft warning) and the one-time alert at ``alert_threshold``."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from podium.core.clock import Clock
from podium.core.events import Event, EventSink, EventType
from podium.core.money import ZERO
from podium.ledger.budgets import Budget, UsageKey
from podium.ledger.operations import Totals

log = logging.getLogger("podium.ledger")


class BudgetAlerts:
    """Emits budget events on the ledger's event sink; a broken hook never changes a budget decision."""

    def __init__(self, emit: EventSink, clock: Clock) -> None:
        self.emit = emit
        self.clock = clock
        self._alerted: set[tuple[Budget, UsageKey]] = set()

    def exceeded(self, scope: str, limit: Decimal, totals: Totals, requested: Decimal, *, hard: bool) -> None:
        """A reservation would pass a budget: refused when ``hard``, admitted with a warning when soft."""
        mode = "hard" if hard else "soft"
        self.event(EventType.BUDGET_EXCEEDED, scope, limit, totals, requested, mode=mode, admitted=not hard)

    def due(self, budgets: Iterable[tuple[Budget, UsageKey]], totals: Mapping[UsageKey, Totals]) -> bool:
        """Would ``thresholds`` alert? Read-only, so the writer thread may ask before waking the event loop."""
        for budget, key in budgets:
            t = totals.get(key)
            fresh = t is not None and budget.limit_usd > 0 and (budget, key) not in self._alerted
            if fresh and t.spent >= budget.alert_threshold * budget.limit_usd:  # type: ignore[union-attr]
                return True
        return False

    def thresholds(self, budgets: Iterable[tuple[Budget, UsageKey]], totals: Mapping[UsageKey, Totals]) -> None:
        """Warn once per budget and key when settled spend reaches its alert threshold."""
        for budget, key in budgets:
            t = totals.get(key)
            if t is None or budget.limit_usd <= 0 or (budget, key) in self._alerted:
                continue
            if t.spent >= budget.alert_threshold * budget.limit_usd:
                self._alerted.add((budget, key))
                self.event(
                    EventType.BUDGET_WARNING,
                    key.label,
                    budget.limit_usd,
                    t,
                    ZERO,
                    mode=budget.mode,
                    ratio=float(t.spent / budget.limit_usd),
                    threshold=float(budget.alert_threshold),
                )

    def event(
        self, kind: EventType, scope: str, limit: Decimal, totals: Totals, requested: Decimal, **extra: Any
    ) -> None:
        data = {
            "phase": scope,
            "scope": scope,
            "limit_usd": str(limit),
            "spent_usd": str(totals.spent),
            "reserved_usd": str(totals.reserved),
            "requested_usd": str(requested),
            **extra,
        }
        try:
            self.emit(Event(kind, data, self.clock.now()))
        except Exception:  # a broken hook must not lose the ledger row or the budget decision
            log.exception("budget event hook failed")
