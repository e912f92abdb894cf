"""OpenTelemetry tracing: provider setup (OTLP/HTTP, sampling) and spans for workflows and routing decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from podium.config.telemetry import TelemetrySettings
from podium.core.errors import ConfigError, ValidationError

if TYPE_CHECKING:  # the SDK is imported when a provider is built: a run without tracing never loads it
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.util.types import AttributeValue
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from podium.core.types import Completion, Usage

TRACER_NAME = "podium"
OTLP_TRACES_PATH = "/v1/traces"
# Decision fields that may hold the user's prompt: kept off routing spans.
_CONTENT_KEYS = frozenset({"prompt", "text", "messages", "input", "output", "content"})


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """The original telemetry tool's tracing options; ``TelemetrySettings`` carries the same ones for podium.yaml."""

    enabled: bool = True
    otlp_endpoint: str | None = None  # a base URL: /v1/traces is added
    service_name: str = "podium"
    sample_rate: float = 1.0
    capture_content: bool = False
    otlp_traces_endpoint: str | None = None  # the full traces URL, used as given; wins over otlp_endpoint

    @classmethod
    def from_settings(cls, settings: TelemetrySettings) -> TracingConfig:
        return cls(
            enabled=settings.tracing_enabled,
            otlp_endpoint=settings.otlp_endpoint,
            service_name=settings.service_name,
            sample_rate=settings.sample_rate,
            capture_content=settings.capture_content,
            otlp_traces_endpoint=settings.otlp_traces_endpoint,
        )


def configure_tracing(
    config: TracingConfig | TelemetrySettings,
    *,
    exporter: SpanExporter | None = None,
    set_global: bool = False,
) -> TracerProvider:
    """Build a TracerProvider: sampled at ``sample_rate``, exporting to OTLP/HTTP when ``otlp_endpoint`` is set.

    ``exporter`` adds one more exporter (tests pass the SDK's InMemorySpanExporter). The provider becomes the
    process-wide one only with ``set_global=True``.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

    cfg = TracingConfig.from_settings(config) if isinstance(config, TelemetrySettings) else config
    if not 0.0 <= cfg.sample_rate <= 1.0:
        raise ValidationError(
            f"sample_rate {cfg.sample_rate} is out of range; use a number from 0 to 1",
            field="sample_rate",
            value=cfg.sample_rate,
        )
    sampler = ParentBased(TraceIdRatioBased(cfg.sample_rate)) if cfg.enabled else ALWAYS_OFF
    provider = TracerProvider(resource=Resource.create({"service.name": cfg.service_name}), sampler=sampler)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if cfg.enabled and cfg.otlp_traces_endpoint:
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(cfg.otlp_traces_endpoint, verbatim=True)))
    elif cfg.enabled and cfg.otlp_endpoint:
        provider.add_span_processor(BatchSpanProcessor(otlp_exporter(cfg.otlp_endpoint)))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def otlp_exporter(endpoint: str, *, verbatim: bool = False) -> SpanExporter:
    """An OTLP/HTTP span exporter for ``endpoint``: a base URL such as http://localhost:4318 (``/v1/traces`` is added
    unless already there), or with ``verbatim`` the full traces URL used as given (as the OpenTelemetry spec says
    for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as exc:
        raise ConfigError(
            f"tracing to {endpoint!r} (telemetry.otlp_endpoint or OTEL_EXPORTER_OTLP_ENDPOINT) needs the OTLP "
            "exporter: install it with `pip install 'podium[otlp]'`",
            field="otlp_endpoint",
            value=endpoint,
        ) from exc
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(
            f"otlp_endpoint {endpoint!r} is not an http(s) URL; use e.g. http://localhost:4318",
            field="otlp_endpoint",
            value=endpoint,
        )
    if verbatim:
        return OTLPSpanExporter(endpoint=endpoint)
    url = endpoint.rstrip("/")
    if not url.endswith(OTLP_TRACES_PATH):
        url += OTLP_TRACES_PATH
    return OTLPSpanExporter(endpoint=url)


def _tracer(tracer: Tracer | None) -> Tracer:
    return tracer if tracer is not None else trace.get_tracer(TRACER_NAME)


@contextmanager
def _span(tracer: Tracer | None, name: str, attributes: dict[str, AttributeValue]) -> Iterator[Span]:
    # Exception messages can quote upstream bodies (and so prompts): record only the error's type.
    with _tracer(tracer).start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            mark_error(span, exc)
            raise


def mark_error(span: Span, exc: BaseException) -> None:
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def workflow_span(name: str, tracer: Tracer | None = None, **attributes: object) -> AbstractContextManager[Span]:
    """A span around one workflow run (``with workflow_span("testgen", file=path): ...``)."""
    attrs = {
        "podium.workflow.name": name,
        **{f"podium.workflow.{k}": attribute_value(v) for k, v in attributes.items()},
    }
    return _span(tracer, f"workflow {name}", attrs)


def routing_span(decision: object, tracer: Tracer | None = None) -> AbstractContextManager[Span]:
    """A span for one routing decision: its scalar fields become ``podium.routing.*`` attributes.

    The engine opens it around a strategy's run (so every sub-call's attempt spans are its children) and adds the
    decision's fields with ``routing_attributes`` once the run is over."""
    strategy = _fields_of(decision).get("strategy")
    return _span(tracer, f"route {strategy}" if strategy else "route", routing_attributes(decision))


def routing_attributes(decision: object) -> dict[str, AttributeValue]:
    """A routing decision's scalar fields as ``podium.routing.*`` attributes (never the prompt or answer)."""
    return {
        f"podium.routing.{k}": attribute_value(v)
        for k, v in _fields_of(decision).items()
        if k not in _CONTENT_KEYS and v is not None and _is_simple(v)
    }


class TraceRequests:
    """ASGI middleware: one SERVER span per gateway request, the child of an incoming W3C ``traceparent``.

    Every span the call makes (a strategy's routing span, each attempt's ``chat <model>`` span) is under it, so a
    routed call is one trace. ``/metrics`` and ``/healthz`` are not traced.
    """

    UNTRACED = frozenset({"/metrics", "/healthz"})

    def __init__(self, app: ASGIApp, tracer: Tracer | None) -> None:
        self.app = app
        self.tracer = tracer
        self._propagator = TraceContextTextMapPropagator()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.tracer is None or scope["type"] != "http" or scope["path"] in self.UNTRACED:
            await self.app(scope, receive, send)
            return
        carrier = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        parent = self._propagator.extract(carrier)
        method, path = scope["method"], scope["path"]
        attrs = {"http.request.method": method, "url.path": path, "gen_ai.operation.name": "chat"}
        with self.tracer.start_as_current_span(
            f"{method} {path}", context=parent, kind=SpanKind.SERVER, attributes=attrs,
            record_exception=False, set_status_on_exception=False,
        ) as span:

            async def traced_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR, str(status)))
                await send(message)

            try:
                await self.app(scope, receive, traced_send)
            except BaseException as exc:
                mark_error(span, exc)
                raise


def record_request_model(model: str) -> None:
    """The model the client asked for (a catalog id or a ``podium/*`` virtual model) on the current request span."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("gen_ai.request.model", model)


def record_answer(completion: Completion, usage: Usage, cost_usd: Decimal | None) -> None:
    """The answer on the current request span: the answering model, every attempt's tokens and the total cost."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attributes({
        "gen_ai.system": completion.provider,
        "gen_ai.provider.name": completion.provider,
        "gen_ai.response.model": completion.model,
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
    })
    if cost_usd is not None:
        span.set_attribute("podium.cost_usd", str(cost_usd))  # exact; a float attribute would round
    if completion.request_id:
        span.set_attribute("podium.request_id", completion.request_id)


def _fields_of(decision: object) -> dict[str, object]:
    if isinstance(decision, Mapping):
        return {str(k): v for k, v in decision.items()}
    if dataclasses.is_dataclass(decision) and not isinstance(decision, type):
        return {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}
    if hasattr(decision, "__dict__"):
        return dict(vars(decision))
    return {"decision": decision}


def _is_simple(value: object) -> bool:
    if isinstance(value, (str, bool, int, float, Decimal)):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, (str, bool, int, float, Decimal)) for v in value)


def attribute_value(value: object) -> AttributeValue:
    """An OTel attribute value: money as an exact string, sequences as tuples of strings, others as text."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return str(value)
