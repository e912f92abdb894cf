"""Serving /metrics over real loopback HTTP: the standalone server (port 9464 by default) and the ASGI app."""

from __future__ import annotations

import socket
from decimal import Decimal

import httpx
import pytest
from prometheus_client import CollectorRegistry

from podium.config.telemetry import TelemetrySettings
from podium.core.errors import ConfigError
from podium.telemetry import DEFAULT_METRICS_PORT, Telemetry, WorkflowMetrics, start_metrics_server
from podium.testing import serve


def test_default_port_is_the_seeds() -> None:
    assert DEFAULT_METRICS_PORT == 9464 == TelemetrySettings().metrics_port


def test_metrics_server_serves_the_injected_registry() -> None:
    registry = CollectorRegistry()
    WorkflowMetrics(registry).record_workflow(1200.0, "simple")
    with start_metrics_server(registry, "127.0.0.1", 0) as server:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/metrics"
        body = httpx.get(server.url).text
    assert "orchestration_workflows_total 1.0" in body
    assert 'orchestration_tasks_total{complexity="simple"} 1.0' in body
    assert "python_gc_objects_collected_total" not in body  # not the global default registry


def test_a_busy_port_is_a_readable_config_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}.*metrics_port"):
            start_metrics_server(CollectorRegistry(), "127.0.0.1", port)


def test_telemetry_starts_a_server_only_when_enabled() -> None:
    assert Telemetry(TelemetrySettings()).start_server() is None
    tel = Telemetry(TelemetrySettings(metrics_enabled=True, metrics_port=0))
    server = tel.start_server()
    try:
        assert server is not None and tel.start_server() is server
        assert "podium_gateway_overhead_seconds_count" in httpx.get(server.url).text
    finally:
        tel.shutdown()
    assert tel.server is None


async def test_asgi_app_serves_text_and_openmetrics() -> None:
    tel = Telemetry()
    tel.workflows.record_orchestrator(10, Decimal("0.25"))
    async with serve(tel.asgi_app()) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        text = await client.get("/metrics")
        om = await client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "orchestration_orchestrator_cost_usd_total 0.25" in text.text
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    assert om.text.rstrip().endswith("# EOF")
