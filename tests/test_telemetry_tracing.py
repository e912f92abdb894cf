"""OpenTelemetry spans, read back through the SDK's in-memory exporter (and a real OTLP/HTTP receiver)."""

from __future__ import annotations

import sys
from decimal import Decimal

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from podium.config.telemetry import TelemetrySettings
from podium.core.errors import ConfigError, RateLimitError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import ChatRequest, Completion, Usage
from podium.telemetry import Telemetry, TracingConfig, TracingMiddleware, configure_tracing, routing_span, workflow_span
from podium.testing import serve

SPEC = ModelSpec(id="anthropic:claude-haiku-4-5", provider="anthropic", api_model="claude-haiku-4-5")
PROMPT = "my secret prompt about payroll"
FAKE_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def _ctx(attempt: int = 1) -> CallContext:
    req = ChatRequest.from_prompt(PROMPT, system="be brief", max_tokens=256, temperature=0.2)
    meta = CallMeta(strategy="cascade", project="demo", key="vk_123")
    return CallContext(request=req, model=SPEC, meta=meta, request_id="req-1", attempt=attempt)


async def _answer(ctx: CallContext) -> Completion:
    return Completion(
        "the answer",
        "claude-haiku-4-5-20251001",
        "anthropic",
        Usage(120, 30, cached_input_tokens=100),
        Decimal("0.000270"),
        latency_ms=12.5,
        finish_reason="stop",
        request_id="msg_1",
    )


async def test_attempt_span_carries_genai_attributes_and_no_content(spans: InMemorySpanExporter) -> None:
    provider = configure_tracing(TracingConfig(), exporter=spans)
    handler = compose([TracingMiddleware(provider.get_tracer("test"))], _answer)
    await handler(_ctx(attempt=2))
    (span,) = spans.get_finished_spans()
    a = dict(span.attributes or {})
    assert span.name == "chat claude-haiku-4-5" and span.kind is SpanKind.CLIENT
    assert a["gen_ai.operation.name"] == "chat"
    assert a["gen_ai.system"] == a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "claude-haiku-4-5"
    assert a["gen_ai.response.model"] == "claude-haiku-4-5-20251001"
    assert a["gen_ai.usage.input_tokens"] == 120 and a["gen_ai.usage.output_tokens"] == 30
    assert a["gen_ai.request.max_tokens"] == 256 and a["gen_ai.request.temperature"] == 0.2
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert a["podium.cost_usd"] == "0.000270"  # exact string, not a rounded float
    assert a["podium.attempt"] == 2 and a["podium.cache_hit"] is False
    assert a["podium.model"] == SPEC.id and a["podium.strategy"] == "cascade"
    text = repr(a)
    assert PROMPT not in text and "the answer" not in text and "be brief" not in text
    assert "vk_123" not in text and FAKE_KEY not in text
    assert span.resource.attributes["service.name"] == "podium"


async def test_capture_content_puts_prompt_and_answer_on_the_span(spans: InMemorySpanExporter) -> None:
    provider = configure_tracing(TracingConfig(capture_content=True), exporter=spans)
    await compose([TracingMiddleware(provider.get_tracer("t"), capture_content=True)], _answer)(_ctx())
    a = dict(spans.get_finished_spans()[0].attributes or {})
    assert PROMPT in a["gen_ai.input.messages"] and '"role": "system"' in a["gen_ai.input.messages"]
    assert "the answer" in a["gen_ai.output.messages"]


async def test_failed_attempt_span_has_error_type_but_not_the_message(spans: InMemorySpanExporter) -> None:
    provider = configure_tracing(TracingConfig(), exporter=spans)

    async def fail(ctx: CallContext) -> Completion:
        raise RateLimitError(f"429 from upstream: body mentions {PROMPT}", provider="anthropic", status=429)

    with pytest.raises(RateLimitError):
        await compose([TracingMiddleware(provider.get_tracer("t"))], fail)(_ctx())
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RateLimitError"
    assert span.events == () or all(PROMPT not in repr(e.attributes) for e in span.events)
    assert PROMPT not in repr(span.attributes) and PROMPT not in (span.status.description or "")


def test_workflow_and_routing_spans_nest(spans: InMemorySpanExporter) -> None:
    tracer = configure_tracing(TracingConfig(), exporter=spans).get_tracer("t")
    decision = {"strategy": "cheapest", "model": "groq:llama-3.1-8b", "cost_usd": Decimal("0.0001"), "prompt": PROMPT}
    with workflow_span("testgen", tracer, file="base.py", functions=5), routing_span(decision, tracer):
        pass
    route, workflow = spans.get_finished_spans()
    assert workflow.name == "workflow testgen" and route.name == "route cheapest"
    assert route.parent is not None and route.parent.span_id == workflow.context.span_id
    assert workflow.attributes["podium.workflow.file"] == "base.py"
    assert workflow.attributes["podium.workflow.functions"] == 5
    assert route.attributes["podium.routing.model"] == "groq:llama-3.1-8b"
    assert route.attributes["podium.routing.cost_usd"] == "0.0001"
    assert "podium.routing.prompt" not in route.attributes


def test_workflow_span_marks_errors(spans: InMemorySpanExporter) -> None:
    tracer = configure_tracing(TracingConfig(), exporter=spans).get_tracer("t")
    with pytest.raises(KeyError), workflow_span("project", tracer):
        raise KeyError("x")
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and span.attributes["error.type"] == "KeyError"


def test_sampling_and_disabled_tracing_record_nothing(spans: InMemorySpanExporter) -> None:
    for cfg in (TracingConfig(sample_rate=0.0), TracingConfig(enabled=False)):
        tracer = configure_tracing(cfg, exporter=spans).get_tracer("t")
        with workflow_span("w", tracer):
            pass
    assert spans.get_finished_spans() == ()
    tracer = configure_tracing(TracingConfig(sample_rate=1.0), exporter=spans).get_tracer("t")
    with workflow_span("w", tracer):
        pass
    assert len(spans.get_finished_spans()) == 1


def test_bad_sample_rate_names_the_field() -> None:
    with pytest.raises(ValidationError, match="sample_rate 1.5"):
        configure_tracing(TracingConfig(sample_rate=1.5))


def test_settings_drive_the_provider_and_the_middleware_chain(spans: InMemorySpanExporter) -> None:
    settings = TelemetrySettings(tracing_enabled=True, service_name="gateway-a", capture_content=True)
    provider = configure_tracing(settings, exporter=spans)
    with workflow_span("w", provider.get_tracer("t")):
        pass
    assert spans.get_finished_spans()[0].resource.attributes["service.name"] == "gateway-a"
    tel = Telemetry(settings, tracer_provider=provider)
    kinds = [type(m).__name__ for m in tel.middlewares()]
    assert kinds == ["TracingMiddleware", "MetricsMiddleware"]
    assert tel.middlewares()[0].capture_content is True
    assert [type(m).__name__ for m in Telemetry().middlewares()] == ["MetricsMiddleware"]


def test_missing_otlp_extra_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ConfigError, match=r"podium\[otlp\]"):
        configure_tracing(TracingConfig(otlp_endpoint="http://127.0.0.1:4318"))


def test_otlp_endpoint_must_be_http() -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    with pytest.raises(ConfigError, match="otlp_endpoint 'localhost:4318' is not an http"):
        configure_tracing(TracingConfig(otlp_endpoint="localhost:4318"))


def test_spans_reach_a_real_otlp_http_receiver() -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[tuple[str, bytes]] = []

    async def collect(request: Request) -> Response:
        received.append((request.url.path, await request.body()))
        return Response(b"", media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])
    with serve(app) as base_url:
        provider = configure_tracing(TracingConfig(otlp_endpoint=base_url, service_name="podium-test"))
        with workflow_span("exported", provider.get_tracer("t")):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    assert received and received[0][0] == "/v1/traces"
    message = ExportTraceServiceRequest.FromString(received[0][1])
    names = [s.name for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans]
    assert names == ["workflow exported"]
