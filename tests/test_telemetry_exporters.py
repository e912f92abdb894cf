"""Seed 003 exporters (console, JSON, Prometheus textfile) and the telemetry settings that pick them."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from podium.config.telemetry import ExporterSettings, TelemetrySettings
from podium.telemetry import (
    ConsoleExporter,
    JSONExporter,
    MetricsSnapshot,
    PrometheusExporter,
    PrometheusTextfileExporter,
    Telemetry,
)


def _telemetry(settings: TelemetrySettings | None = None) -> Telemetry:
    tel = Telemetry(settings)
    tel.workflows.record_orchestrator(300, Decimal("0.009"))
    tel.workflows.record_delegation("gemini:gemini-pro", success=True, tokens=1500)
    tel.workflows.record_workflow(3421.0, "moderate", baseline_cost_usd=Decimal("0.51"))
    return tel


def test_console_exporter_prints_a_table_of_samples() -> None:
    out = io.StringIO()
    ConsoleExporter(Console(file=out, width=200)).export(_telemetry().registry)
    text = out.getvalue()
    assert "Podium metrics" in text
    assert "orchestration_workflows_total" in text and "orchestration_total_cost_usd" in text
    assert "executor_model=gemini:gemini-pro" in text
    assert "_created" not in text


def test_json_exporter_writes_families_and_samples(tmp_path: Path) -> None:
    path = tmp_path / "out" / "metrics.json"
    JSONExporter(path).export(_telemetry().registry)
    data = json.loads(path.read_text())
    by_name = {m["name"]: m for m in data["metrics"]}
    assert by_name["orchestration_total_cost_usd"]["type"] == "counter"
    assert by_name["orchestration_total_cost_usd"]["samples"] == [
        {"name": "orchestration_total_cost_usd_total", "labels": {}, "value": 0.009}
    ]
    tasks = by_name["orchestration_tasks"]["samples"]
    assert tasks == [{"name": "orchestration_tasks_total", "labels": {"complexity": "moderate"}, "value": 1.0}]
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # the temp file was renamed, not left behind


def test_textfile_exporter_writes_parseable_prometheus_text(tmp_path: Path) -> None:
    path = tmp_path / "podium.prom"
    PrometheusTextfileExporter(path).export(_telemetry().registry)
    samples = {s.name: s.value for fam in text_string_to_metric_families(path.read_text()) for s in fam.samples}
    assert samples["orchestration_workflows_total"] == 1
    assert samples["orchestration_cost_savings_percent"] == pytest.approx(98.235, abs=1e-3)
    assert PrometheusExporter is PrometheusTextfileExporter  # seed 003's name


def test_a_snapshot_is_frozen_and_exportable(tmp_path: Path) -> None:
    tel = _telemetry()
    snap = MetricsSnapshot.of(tel.registry)
    tel.workflows.record_workflow(10.0)
    assert snap.value("orchestration_workflows_total") == 1
    assert MetricsSnapshot.of(tel.registry).value("orchestration_workflows_total") == 2
    assert snap.value("orchestration_tasks_total", complexity="moderate") == 1
    assert snap.value("no_such_metric") is None
    JSONExporter(tmp_path / "s.json").export(snap)
    assert "orchestration_workflows" in (tmp_path / "s.json").read_text()


def test_settings_build_the_configured_exporters(tmp_path: Path) -> None:
    settings = TelemetrySettings(
        exporters=["console", f"json:{tmp_path / 'm.json'}", f"prometheus:{tmp_path / 'm.prom'}"]
    )
    assert [e.kind for e in settings.exporters] == ["console", "json", "prometheus"]
    tel = _telemetry(settings)
    assert [type(e).__name__ for e in tel.exporters] == [
        "ConsoleExporter",
        "JSONExporter",
        "PrometheusTextfileExporter",
    ]
    tel.exporters = tel.exporters[1:]  # keep the test's output quiet
    tel.export()
    assert (tmp_path / "m.json").exists() and (tmp_path / "m.prom").exists()


def test_settings_defaults_and_validation() -> None:
    s = TelemetrySettings()
    assert (s.metrics_enabled, s.metrics_host, s.metrics_port) == (False, "127.0.0.1", 9464)
    assert (s.tracing_enabled, s.otlp_endpoint, s.sample_rate, s.capture_content) == (False, None, 1.0, False)
    with pytest.raises(pydantic.ValidationError, match="give it a path"):
        ExporterSettings(kind="json")
    with pytest.raises(pydantic.ValidationError, match="console"):
        TelemetrySettings(exporters=["graphite:/tmp/x"])
    with pytest.raises(pydantic.ValidationError, match="sample_rate"):
        TelemetrySettings(sample_rate=2)
    with pytest.raises(pydantic.ValidationError, match="metrics_port"):
        TelemetrySettings(metrics_port=70000)
