"""Podium's own per-call Prometheus metrics (``podium_*``), registered on an injected registry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from podium.core.types import Completion
from podium.telemetry.labels import OTHER, LabelGuard
from podium.telemetry.money_metrics import DecimalTotals

# Breaker states as a number, so one gauge can be graphed and alerted on (seed: 0 closed, 1 half-open, 2 open).
BREAKER_STATES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
_MAX_CACHED_SERIES = 4096  # (model, provider, strategy) triples whose labelled series are kept at hand


def usd_float(amount: Decimal | None) -> float:
    """The metrics boundary: the only place where Decimal money becomes a float."""
    return 0.0 if amount is None else float(amount)


class PodiumMetrics:
    """Requests, tokens, cost, latency, TTFT, cache, retries, fallbacks, breakers, budgets and gateway overhead."""

    def __init__(
        self, registry: CollectorRegistry, *, guard: LabelGuard | None = None, multiprocess: bool = False
    ) -> None:
        """``multiprocess``: fleet metrics (see ``podium.telemetry.fleet``); the costs become summable floats."""
        self.registry = registry
        self.guard = guard or LabelGuard()
        r = registry
        self.requests = Counter(
            "podium_requests", "Upstream attempts by outcome", ["model", "provider", "strategy", "status"], registry=r
        )
        self.tokens = Counter("podium_tokens", "Tokens by direction", ["model", "direction"], registry=r)
        self.cost = DecimalTotals("podium_cost_usd", "Spend in USD", ["model"], registry=r, multiprocess=multiprocess)
        self.latency = Histogram(
            "podium_request_latency_seconds", "Upstream attempt latency", ["model"], buckets=LATENCY_BUCKETS, registry=r
        )
        self.ttft = Histogram(
            "podium_time_to_first_token_seconds",
            "Time to first streamed token",
            ["model"],
            buckets=TTFT_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter("podium_cache_hits", "Answers served from Podium's cache", ["model"], registry=r)
        self.retries = Counter("podium_retries", "Retries of an upstream attempt", ["model"], registry=r)
        self.fallbacks = Counter(
            "podium_fallbacks", "Fallbacks to another model", ["from_model", "to_model"], registry=r
        )
        # Gauge modes matter only to fleet metrics (one process ignores them). Each worker has its own breakers, so
        # a fleet shows the most open one among live workers ('livemax': an exited worker's breaker protects no one).
        self.breaker_state = Gauge(
            "podium_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open", ["provider", "model"],
            registry=r, multiprocess_mode="livemax",
        )  # fmt: skip
        # Budgets live in the shared ledger, so the latest report from any worker is the fleet's ('mostrecent', not
        # 'min', which would stay low after a budget period resets).
        self.budget_remaining = Gauge(
            "podium_budget_remaining_usd", "Budget left in USD", ["scope"], registry=r, multiprocess_mode="mostrecent"
        )
        self.budget_alerts = Counter(
            "podium_budget_alerts", "Budget warnings and refusals", ["scope", "level"], registry=r
        )
        self.gateway_overhead = Histogram(
            "podium_gateway_overhead_seconds", "Gateway time not spent upstream", buckets=OVERHEAD_BUCKETS, registry=r
        )
        self._attempt_series: dict[tuple[str, str, str | None], _AttemptSeries] = {}

    def _model(self, model: str | None) -> str:
        return self.guard("model", model)

    def _series(self, model: str, provider: str, strategy: str | None) -> _AttemptSeries:
        """The labelled series of one (model, provider, strategy): guarded and looked up once, not per call. A
        triple with a folded label is not kept, so the guard counts every folded value as before."""
        key = (model, provider, strategy)
        series = self._attempt_series.get(key)
        if series is None:
            labels = (self._model(model), self.guard("provider", provider),
                      self.guard("strategy", strategy or "direct"))  # fmt: skip
            series = _AttemptSeries(self, *labels)
            if OTHER not in labels and len(self._attempt_series) < _MAX_CACHED_SERIES:
                self._attempt_series[key] = series
        return series

    def record_completion(
        self,
        completion: Completion,
        *,
        model: str,
        provider: str,
        strategy: str | None,
        latency_ms: float | None = None,
    ) -> None:
        """One finished attempt. A cached answer counts as a request but spent no tokens, money or upstream time."""
        series = self._series(model, provider, strategy)
        if completion.cached:
            series.requests("cached").inc()
            return
        series.requests("ok").inc()
        u = completion.usage
        for direction, count in (
            ("input", u.input_tokens),
            ("output", u.output_tokens),
            ("cached_input", u.cached_input_tokens),
            ("reasoning", u.reasoning_tokens),
        ):
            if count:
                series.tokens(direction).inc(count)
        if completion.cost_usd is not None:
            self.cost.add(completion.cost_usd, series.model)
        latency_ms = completion.latency_ms if latency_ms is None else latency_ms
        series.latency().observe(max(0.0, latency_ms) / 1000.0)

    def record_error(self, error: BaseException, *, model: str, provider: str, strategy: str | None) -> None:
        """A failed attempt; the status is the error's class name (a small, fixed set)."""
        labels = (self._model(model), self.guard("provider", provider), self.guard("strategy", strategy or "direct"))
        self.requests.labels(*labels, self.guard("status", type(error).__name__)).inc()

    def observe_ttft(self, model: str, seconds: float) -> None:
        self.ttft.labels(self._model(model)).observe(max(0.0, seconds))

    def record_cache_hit(self, model: str | None) -> None:
        self.cache_hits.labels(self._model(model)).inc()

    def record_retry(self, model: str | None) -> None:
        self.retries.labels(self._model(model)).inc()

    def record_fallback(self, from_model: str | None, to_model: str | None) -> None:
        self.fallbacks.labels(self._model(from_model), self._model(to_model)).inc()

    def set_breaker_state(self, provider: str | None, model: str | None, state: str) -> None:
        """``state`` is one of closed, half_open, open."""
        self.breaker_state.labels(self.guard("provider", provider), self._model(model)).set(BREAKER_STATES[state])

    def set_budget_remaining(self, scope: str, remaining_usd: Decimal) -> None:
        self.budget_remaining.labels(self.guard("scope", scope)).set(usd_float(remaining_usd))

    def record_budget_alert(self, scope: str, level: str) -> None:
        """``level`` is warning or exceeded."""
        self.budget_alerts.labels(self.guard("scope", scope), level).inc()

    def observe_gateway_overhead(self, seconds: float) -> None:
        self.gateway_overhead.observe(max(0.0, seconds))


class _AttemptSeries:
    """One (model, provider, strategy)'s guarded labels and the labelled series made for it so far (each made on
    first use, so /metrics lists the same series as before)."""

    __slots__ = ("_children", "labels", "metrics", "model")

    def __init__(self, metrics: PodiumMetrics, model: str, provider: str, strategy: str) -> None:
        self.metrics = metrics
        self.model = model
        self.labels = (model, provider, strategy)
        self._children: dict[str, Any] = {}

    def requests(self, status: str) -> Any:
        return self._child(status, self.metrics.requests, *self.labels, status)

    def tokens(self, direction: str) -> Any:
        return self._child(f"tokens:{direction}", self.metrics.tokens, self.model, direction)

    def latency(self) -> Any:
        return self._child("latency", self.metrics.latency, self.model)

    def _child(self, name: str, metric: Any, *labels: str) -> Any:
        child = self._children.get(name)
        if child is None:
            child = self._children[name] = metric.labels(*labels)
        return child
