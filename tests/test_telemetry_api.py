"""The telemetry package's public names are pinned, and importing it has no side effects."""

from __future__ import annotations

from prometheus_client import REGISTRY

from podium import telemetry

EXPECTED = {
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
}


def test_public_api_is_pinned() -> None:
    assert set(telemetry.__all__) == EXPECTED
    assert all(getattr(telemetry, name) is not None for name in telemetry.__all__)


def test_import_registers_nothing_globally() -> None:
    names = set(REGISTRY._names_to_collectors)
    assert not any(n.startswith(("orchestration_", "podium_")) for n in names)
