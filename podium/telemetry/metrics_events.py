"""Events -> metrics: retries, fallbacks, cache hits, breaker transitions and budget alerts.

These happen outside a single attempt (around it, or instead of it), so the layers that cause them emit events
and this sink turns them into ``PodiumMetrics`` updates. Expected ``Event.data`` keys: ``model`` (retry, cache hit,
breaker), ``provider`` (breaker), ``from``/``to`` (fallback), ``scope`` and ``remaining_usd`` or
``limit_usd``/``spent_usd`` (budget). Missing keys become the label ``unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from podium.core.events import Event, EventType
from podium.core.money import usd
from podium.telemetry.call_metrics import PodiumMetrics
from podium.telemetry.metrics_middleware import record_safely

_BREAKER_STATE = {
    EventType.BREAKER_OPEN: "open",
    EventType.BREAKER_HALF_OPEN: "half_open",
    EventType.BREAKER_CLOSED: "closed",
}


class MetricsEventSink:
    """An ``EventSink`` feeding ``PodiumMetrics``; add it to the event bus with ``bus.add_sink(sink)``."""

    def __init__(self, metrics: PodiumMetrics) -> None:
        self.metrics = metrics
        self._handlers: dict[EventType, Callable[[EventType, dict[str, Any]], None]] = {
            EventType.RETRY: lambda _t, d: metrics.record_retry(_model(d)),
            EventType.FALLBACK: lambda _t, d: metrics.record_fallback(d.get("from"), d.get("to")),
            EventType.CACHE_HIT: lambda _t, d: metrics.record_cache_hit(_model(d)),
            EventType.BUDGET_WARNING: self._budget,
            EventType.BUDGET_EXCEEDED: self._budget,
            **{t: self._breaker for t in _BREAKER_STATE},
        }

    def __call__(self, event: Event) -> None:
        handler = self._handlers.get(event.type)
        if handler is not None:
            record_safely(event.type.value, lambda: handler(event.type, dict(event.data)))

    def _breaker(self, etype: EventType, data: dict[str, Any]) -> None:
        self.metrics.set_breaker_state(data.get("provider"), _model(data), _BREAKER_STATE[etype])

    def _budget(self, etype: EventType, data: dict[str, Any]) -> None:
        scope = str(data.get("scope") or "unknown")
        level = "exceeded" if etype is EventType.BUDGET_EXCEEDED else "warning"
        self.metrics.record_budget_alert(scope, level)
        remaining = _remaining(data)
        if remaining is not None:
            self.metrics.set_budget_remaining(scope, remaining)


def _model(data: dict[str, Any]) -> str | None:
    return data.get("model") or data.get("model_id")


def _remaining(data: dict[str, Any]) -> Decimal | None:
    if data.get("remaining_usd") is not None:
        return usd(data["remaining_usd"])
    if data.get("limit_usd") is not None and data.get("spent_usd") is not None:
        return usd(data["limit_usd"]) - usd(data["spent_usd"])
    return None
