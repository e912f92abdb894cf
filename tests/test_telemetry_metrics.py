"""Prometheus metrics: seed 000's exact names, exact Decimal money, label bounds, the middleware and events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from podium.core.errors import ServerError, ValidationError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import ChatRequest, Completion, StreamChunk, Usage
from podium.telemetry import LabelGuard, MetricsEventSink, MetricsMiddleware, PodiumMetrics, Telemetry, WorkflowMetrics
from podium.testing.clock import FakeClock

SEED_000_NAMES = {
    "orchestration_workflows_total",
    "orchestration_tasks_total",
    "orchestration_delegations_total",
    "orchestration_delegations_success_total",
    "orchestration_validations_total",
    "orchestration_validations_passed_total",
    "orchestration_workflow_duration_ms_bucket",
    "orchestration_workflow_duration_ms_count",
    "orchestration_workflow_duration_ms_sum",
    "orchestration_orchestrator_tokens_total",
    "orchestration_executor_tokens_total",
    "orchestration_orchestrator_cost_usd_total",
    "orchestration_executor_cost_usd_total",
    "orchestration_total_cost_usd_total",
    "orchestration_cost_savings_percent",
}
SPEC = ModelSpec(
    id="openai:gpt-4o-mini",
    provider="openai",
    api_model="gpt-4o-mini",
    input_per_million=Decimal("0.15"),
    output_per_million=Decimal("0.60"),
)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return _samples(registry).get((name, tuple(sorted(labels.items()))))


def _seed_workflow(w: WorkflowMetrics) -> None:
    w.record_orchestrator(300, Decimal("0.009"))
    w.record_delegation("gemini:gemini-pro", success=True, tokens=1500, cost_usd=Decimal(0))
    w.record_delegation("groq:llama-3.3-70b", success=False, tokens=20)
    w.record_validation(True)
    w.record_validation(False)
    w.record_workflow(3421, "moderate", baseline_cost_usd=Decimal("0.51"))


def test_seed_000_names_are_exposed_exactly_in_both_formats() -> None:
    registry = CollectorRegistry()
    _seed_workflow(WorkflowMetrics(registry))
    names = {name for name, _ in _samples(registry)}
    assert SEED_000_NAMES <= names
    # The cost sums are counters (a scrape mid-run sees them grow): one series each, the _total one.
    assert not {"orchestration_orchestrator_cost_usd", "orchestration_total_cost_usd"} & names
    om = generate_openmetrics(registry).decode()
    assert "# TYPE orchestration_total_cost_usd counter" in om
    assert "\norchestration_total_cost_usd_total 0.009\n" in om
    assert "# TYPE orchestration_cost_savings_percent gauge" in om
    assert "# TYPE orchestration_workflows counter" in om


def test_workflow_values_and_savings_match_the_seed_example() -> None:
    registry = CollectorRegistry()
    w = WorkflowMetrics(registry)
    _seed_workflow(w)
    assert _value(registry, "orchestration_workflows_total") == 1
    assert _value(registry, "orchestration_tasks_total", complexity="moderate") == 1
    assert _value(registry, "orchestration_delegations_total", executor_model="gemini:gemini-pro") == 1
    assert _value(registry, "orchestration_delegations_success_total", executor_model="gemini:gemini-pro") == 1
    # A failed delegation still has a success series, at 0, so the success-rate query has data.
    assert _value(registry, "orchestration_delegations_success_total", executor_model="groq:llama-3.3-70b") == 0
    assert _value(registry, "orchestration_validations_total") == 2
    assert _value(registry, "orchestration_validations_passed_total") == 1
    assert _value(registry, "orchestration_orchestrator_tokens_total") == 300
    assert _value(registry, "orchestration_executor_tokens_total") == 1520
    assert _value(registry, "orchestration_workflow_duration_ms_sum") == 3421
    assert _value(registry, "orchestration_workflow_duration_ms_bucket", le="5000.0") == 1
    assert w.savings_percent == (Decimal("0.51") - Decimal("0.009")) / Decimal("0.51") * 100
    assert _value(registry, "orchestration_cost_savings_percent") == pytest.approx(98.235, abs=1e-3)


def test_costs_stay_exact_decimals_until_collected() -> None:
    registry = CollectorRegistry()
    w = WorkflowMetrics(registry)
    for _ in range(10):
        w.record_orchestrator(1, Decimal("0.1"))
    assert w.total_cost.value() == Decimal("1.0")  # ten float 0.1 additions would give 0.9999999999999999
    assert _value(registry, "orchestration_total_cost_usd_total") == 1.0
    assert w.savings_percent is None  # no baseline yet


def test_metrics_never_touch_the_global_registry() -> None:
    before = set(REGISTRY._names_to_collectors)
    Telemetry()
    Telemetry()  # a second instance on its own registry does not clash
    assert set(REGISTRY._names_to_collectors) == before


def test_label_guard_folds_values_beyond_the_bound() -> None:
    registry = CollectorRegistry()
    m = PodiumMetrics(registry, guard=LabelGuard(max_values=3))
    for i in range(6):
        m.record_cache_hit(f"model-{i}")
    m.record_cache_hit("model-0")  # a known value keeps its own series
    values = {
        dict(labels)["model"]: v
        for (name, labels), v in _samples(registry).items()
        if name == "podium_cache_hits_total"
    }
    assert values == {"model-0": 2, "model-1": 1, "model-2": 1, "other": 3}
    assert m.guard.folded == 3


def test_label_guard_rejects_a_zero_bound() -> None:
    with pytest.raises(ValidationError, match="max_values 0"):
        LabelGuard(0)


def _ctx(clock: FakeClock, **kw: object) -> CallContext:
    req = ChatRequest.from_prompt("secret prompt", max_tokens=50)
    return CallContext(request=req, model=SPEC, meta=CallMeta(strategy="cheapest"), request_id="r1", clock=clock, **kw)


async def test_middleware_records_tokens_cost_latency_and_status() -> None:
    registry, clock = CollectorRegistry(), FakeClock()
    metrics = PodiumMetrics(registry)

    async def terminal(ctx: CallContext) -> Completion:
        return Completion(
            "hi", SPEC.id, "openai", Usage(1000, 500, cached_input_tokens=200), Decimal("0.00045"), latency_ms=250.0
        )

    handler = compose([MetricsMiddleware(metrics)], terminal)
    result = await handler(_ctx(clock))
    assert result.text == "hi"
    labels = {"model": SPEC.id, "provider": "openai", "strategy": "cheapest", "status": "ok"}
    assert _value(registry, "podium_requests_total", **labels) == 1
    assert _value(registry, "podium_tokens_total", model=SPEC.id, direction="input") == 1000
    assert _value(registry, "podium_tokens_total", model=SPEC.id, direction="output") == 500
    assert _value(registry, "podium_tokens_total", model=SPEC.id, direction="cached_input") == 200
    assert _value(registry, "podium_cost_usd_total", model=SPEC.id) == 0.00045
    assert _value(registry, "podium_request_latency_seconds_sum", model=SPEC.id) == 0.25


async def test_middleware_counts_cached_answers_without_spend() -> None:
    registry = CollectorRegistry()

    async def terminal(ctx: CallContext) -> Completion:
        return Completion("hi", SPEC.id, "openai", Usage(10, 5), Decimal("0.1"), cached=True)

    await compose([MetricsMiddleware(PodiumMetrics(registry))], terminal)(_ctx(FakeClock()))
    status = {"model": SPEC.id, "provider": "openai", "strategy": "cheapest", "status": "cached"}
    assert _value(registry, "podium_requests_total", **status) == 1
    assert _value(registry, "podium_cost_usd_total", model=SPEC.id) is None


async def test_middleware_records_errors_and_reraises() -> None:
    registry = CollectorRegistry()

    async def terminal(ctx: CallContext) -> Completion:
        raise ServerError("upstream 503", provider="openai", status=503)

    with pytest.raises(ServerError):
        await compose([MetricsMiddleware(PodiumMetrics(registry))], terminal)(_ctx(FakeClock()))
    status = {"model": SPEC.id, "provider": "openai", "strategy": "cheapest", "status": "ServerError"}
    assert _value(registry, "podium_requests_total", **status) == 1


async def test_middleware_measures_time_to_first_token_on_the_injected_clock() -> None:
    registry, clock = CollectorRegistry(), FakeClock()
    received: list[str] = []

    async def emit(chunk: StreamChunk) -> None:
        received.append(chunk.delta)

    async def terminal(ctx: CallContext) -> Completion:
        clock.advance(0.3)
        await ctx.send(StreamChunk(delta=""))  # a role-only first chunk is not a token
        clock.advance(0.2)
        await ctx.send(StreamChunk(delta="Hel"))
        clock.advance(1.0)
        await ctx.send(StreamChunk(delta="lo", finish_reason="stop"))
        return Completion("Hello", SPEC.id, "openai", Usage(5, 2), Decimal(0), latency_ms=1500.0)

    ctx = _ctx(clock, emit=emit)
    await compose([MetricsMiddleware(PodiumMetrics(registry))], terminal)(ctx)
    assert received == ["", "Hel", "lo"]
    assert ctx.emit is emit  # restored for an outer retry
    assert _value(registry, "podium_time_to_first_token_seconds_sum", model=SPEC.id) == pytest.approx(0.5)
    assert _value(registry, "podium_time_to_first_token_seconds_count", model=SPEC.id) == 1


def test_events_feed_retry_fallback_cache_breaker_and_budget_metrics() -> None:
    registry = CollectorRegistry()
    sink = MetricsEventSink(PodiumMetrics(registry))
    sink(Event(EventType.RETRY, {"model": SPEC.id, "attempt": 2}))
    sink(Event(EventType.FALLBACK, {"from": SPEC.id, "to": "groq:llama", "error": "ServerError"}))
    sink(Event(EventType.CACHE_HIT, {"model": SPEC.id}))
    sink(Event(EventType.BREAKER_OPEN, {"provider": "openai", "model": SPEC.id}))
    sink(Event(EventType.BUDGET_WARNING, {"scope": "project:demo", "limit_usd": "10", "spent_usd": Decimal("8.5")}))
    sink(Event(EventType.BUDGET_EXCEEDED, {"scope": "team:eng", "remaining_usd": Decimal(0)}))
    sink(Event(EventType.TASK_STARTED, {"task_id": "t1"}))  # not a metrics event: ignored
    assert _value(registry, "podium_retries_total", model=SPEC.id) == 1
    assert _value(registry, "podium_fallbacks_total", from_model=SPEC.id, to_model="groq:llama") == 1
    assert _value(registry, "podium_cache_hits_total", model=SPEC.id) == 1
    assert _value(registry, "podium_breaker_state", provider="openai", model=SPEC.id) == 2
    assert _value(registry, "podium_budget_remaining_usd", scope="project:demo") == 1.5
    assert _value(registry, "podium_budget_alerts_total", scope="team:eng", level="exceeded") == 1
    sink(Event(EventType.BREAKER_HALF_OPEN, {"provider": "openai", "model": SPEC.id}))
    assert _value(registry, "podium_breaker_state", provider="openai", model=SPEC.id) == 1


def test_a_bad_event_payload_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    registry = CollectorRegistry()
    sink = MetricsEventSink(PodiumMetrics(registry))
    sink(Event(EventType.BUDGET_WARNING, {"scope": "x", "remaining_usd": "not money"}))
    assert "could not record budget_warning metrics" in caplog.text
