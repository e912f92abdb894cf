"""Telemetry: Prometheus metrics (the orchestration_* names dashboards already use), OpenTelemetry traces, metric
exporters and the event bus.

Names are imported on first use, so that importing one submodule (the engine imports ``tracing``) does not load
the OpenTelemetry SDK and the metrics server of every other one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
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

_HOMES: dict[str, str] = {
    "Event": "podium.core.events",
    "EventType": "podium.core.events",
    "BREAKER_STATES": "podium.telemetry.call_metrics",
    "PodiumMetrics": "podium.telemetry.call_metrics",
    "EventBus": "podium.telemetry.events",
    "Subscription": "podium.telemetry.events",
    "ConsoleExporter": "podium.telemetry.exporters",
    "JSONExporter": "podium.telemetry.exporters",
    "MetricsSnapshot": "podium.telemetry.exporters",
    "PrometheusExporter": "podium.telemetry.exporters",
    "PrometheusTextfileExporter": "podium.telemetry.exporters",
    "build_exporters": "podium.telemetry.exporters",
    "LabelGuard": "podium.telemetry.labels",
    "MetricsEventSink": "podium.telemetry.metrics_events",
    "MetricsMiddleware": "podium.telemetry.metrics_middleware",
    "Telemetry": "podium.telemetry.runtime",
    "DEFAULT_METRICS_PORT": "podium.telemetry.serving",
    "MetricsServer": "podium.telemetry.serving",
    "metrics_asgi_app": "podium.telemetry.serving",
    "start_metrics_server": "podium.telemetry.serving",
    "TracingConfig": "podium.telemetry.tracing",
    "configure_tracing": "podium.telemetry.tracing",
    "routing_span": "podium.telemetry.tracing",
    "workflow_span": "podium.telemetry.tracing",
    "TracingMiddleware": "podium.telemetry.tracing_middleware",
    "WorkflowMetrics": "podium.telemetry.workflow_metrics",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals(), __all__)
