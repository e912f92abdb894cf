"""Telemetry: Prometheus metrics (the orchestration_* names dashboards already use), OpenTelemetry traces, metric
exporters and the event bus."""

from podium.core.events import Event, EventType
from podium.telemetry.call_metrics import BREAKER_STATES, PodiumMetrics
from podium.telemetry.events import EventBus, Subscription
from podium.telemetry.exporters import (
    ConsoleExporter,
    JSONExporter,
    MetricsSnapshot,
    PrometheusExporter,
    PrometheusTextfileExporter,
    build_exporters,
)
from podium.telemetry.labels import LabelGuard
from podium.telemetry.metrics_events import MetricsEventSink
from podium.telemetry.metrics_middleware import MetricsMiddleware
from podium.telemetry.runtime import Telemetry
from podium.telemetry.serving import DEFAULT_METRICS_PORT, MetricsServer, metrics_asgi_app, start_metrics_server
from podium.telemetry.tracing import TracingConfig, configure_tracing, routing_span, workflow_span
from podium.telemetry.tracing_middleware import TracingMiddleware
from podium.telemetry.workflow_metrics import WorkflowMetrics

__all__ = [
    "BREAKER_STATES",
    "DEFAULT_METRICS_PORT",
    "ConsoleExporter",
    "Event",
    "EventBus",
    "EventType",
    "JSONExporter",
    "LabelGuard",
    "MetricsEventSink",
    "MetricsMiddleware",
    "MetricsServer",
    "MetricsSnapshot",
    "PodiumMetrics",
    "PrometheusExporter",
    "PrometheusTextfileExporter",
    "Subscription",
    "Telemetry",
    "TracingConfig",
    "TracingMiddleware",
    "WorkflowMetrics",
    "build_exporters",
    "configure_tracing",
    "metrics_asgi_app",
    "routing_span",
    "start_metrics_server",
    "workflow_span",
]
