"""Linked traces through the real gateway on loopback: an incoming W3C ``traceparent`` is the parent of the request
span, and every routed attempt (each strategy sub-call, each retry) is a span under it, with GenAI attributes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from test_server_gateway import _uvicorn

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.types import Usage
from podium.server import create_app
from podium.telemetry import Telemetry, TracingConfig, configure_tracing
from podium.testing import FakeUpstream

KEY = "sk-upstream-trace-tests-0123456789"
MINI, HAIKU = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN}-01"


def wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


@contextlib.asynccontextmanager
async def gateway(upstream: FakeUpstream, home, spans: InMemorySpanExporter) -> AsyncIterator[str]:
    cfg = PodiumConfig.from_mapping({
        "providers": {"openai": {"base_url": upstream.base_url + "/v1"}, "anthropic": {"base_url": upstream.base_url}},
        "orchestration": {"enabled": False},
        "resilience": {"retry": {"max_attempts": 2, "base_delay": 0, "jitter": 0}},
        "routing": {"chain": "two", "chains": {"two": [MINI, HAIKU]}, "gates": ["hedging"]},
    })
    telemetry = Telemetry(cfg.telemetry, tracer_provider=configure_tracing(TracingConfig(), exporter=spans))
    app = create_app(None, ServerSettings(), config=cfg, telemetry=telemetry,
                     env={"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}, home=home)
    async with _uvicorn(app) as base_url:
        yield base_url


def _request_span(spans: list[ReadableSpan]) -> ReadableSpan:
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER]
    return server


def _descends(span: ReadableSpan, ancestor: ReadableSpan, by_id: dict[int, ReadableSpan]) -> bool:
    parent = span.parent
    while parent is not None:
        if parent.span_id == ancestor.context.span_id:
            return True
        up = by_id.get(parent.span_id)
        parent = up.parent if up is not None else None
    return False


async def test_a_cascade_with_a_retry_is_one_trace_under_the_callers_traceparent(upstream, tmp_path) -> None:
    spans = InMemorySpanExporter()
    upstream.fail(wire(MINI), 503, times=1)  # retried once
    upstream.script(wire(MINI), "I'm not sure, I don't know.", usage=Usage(20, 8))  # fails the hedging gate
    upstream.script(wire(HAIKU), "Paris is the capital of France.", usage=Usage(22, 9))
    async with gateway(upstream, tmp_path, spans) as base_url:
        client = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="none", max_retries=0)
        raw = await client.chat.completions.with_raw_response.create(
            model="podium/cascade", messages=[{"role": "user", "content": "What is the capital of France?"}],
            extra_headers={"traceparent": TRACEPARENT},
        )
    finished = list(spans.get_finished_spans())
    assert {format(s.context.trace_id, "032x") for s in finished} == {TRACE_ID}  # one trace: the caller's
    request = _request_span(finished)
    assert request.parent is not None and format(request.parent.span_id, "016x") == PARENT_SPAN
    by_id = {s.context.span_id: s for s in finished}
    attempts = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert [(dict(s.attributes or {})["podium.model"], s.attributes["podium.attempt"]) for s in attempts] == [
        (MINI, 1), (MINI, 2), (HAIKU, 1)
    ]
    assert all(_descends(s, request, by_id) for s in attempts)
    (route,) = [s for s in finished if s.name == "route cascade"]
    assert route.parent.span_id == request.context.span_id
    assert all(s.parent.span_id == route.context.span_id for s in attempts)
    a = dict(request.attributes or {})
    cost = Decimal(raw.headers["x-podium-cost-usd"])
    assert a["gen_ai.request.model"] == "podium/cascade" and a["gen_ai.response.model"] == HAIKU
    assert a["gen_ai.system"] == "anthropic"
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (42, 17)
    assert Decimal(a["podium.cost_usd"]) == cost > 0
    assert a["http.response.status_code"] == 200


async def test_every_gateway_endpoint_honours_traceparent(upstream, tmp_path) -> None:
    spans = InMemorySpanExporter()
    upstream.script(wire(HAIKU), "Hello there.", usage=Usage(7, 3))
    async with gateway(upstream, tmp_path, spans) as base_url:
        headers = {"traceparent": TRACEPARENT}
        oa = openai.AsyncOpenAI(base_url=base_url + "/v1", api_key="none", max_retries=0)
        an = anthropic.AsyncAnthropic(base_url=base_url, api_key="none", max_retries=0)
        await an.messages.create(model=HAIKU, max_tokens=50, messages=[{"role": "user", "content": "Hi"}],
                                 extra_headers=headers)
        await oa.responses.create(model=HAIKU, input="Hi", extra_headers=headers)
        await oa.completions.create(model=HAIKU, prompt="Hi", extra_headers=headers)
        stream = await oa.chat.completions.create(model=HAIKU, messages=[{"role": "user", "content": "Hi"}],
                                                  stream=True, extra_headers=headers)
        async for _ in stream:
            pass
    finished = list(spans.get_finished_spans())
    servers = [s for s in finished if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["POST /v1/messages", "POST /v1/responses", "POST /v1/completions",
                                         "POST /v1/chat/completions"]
    for server in servers:
        assert format(server.context.trace_id, "032x") == TRACE_ID
        assert format(server.parent.span_id, "016x") == PARENT_SPAN
        a = dict(server.attributes or {})
        assert a["gen_ai.response.model"] == HAIKU and a["gen_ai.usage.input_tokens"] == 7
        assert Decimal(a["podium.cost_usd"]) == Catalog.bundled().get(HAIKU).cost(Usage(7, 3))
        (attempt,) = [s for s in finished if s.kind is SpanKind.CLIENT and s.parent.span_id == server.context.span_id]
        assert attempt.attributes["gen_ai.request.model"] == wire(HAIKU)
