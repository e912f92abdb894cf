"""The environment switches OpenTelemetry users expect, mapped onto the ``telemetry:`` settings:
OTEL_EXPORTER_OTLP_ENDPOINT (and the traces-only variant), OTEL_SERVICE_NAME and seed 000's OPENTELEMETRY_ENABLED.

That the endpoint really sends spans is shown end to end in test_telemetry_entrypoints.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import load_config
from podium.core.errors import ConfigError

runner = CliRunner()
OTLP_TRACES = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no podium.yaml) and none of the variables under test inherited."""
    monkeypatch.chdir(tmp_path)
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OPENTELEMETRY_ENABLED"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": "sk-test-0123456789", "PODIUM_HOME": str(tmp / "h"), **extra}


def _telemetry_from(env: dict[str, str], tmp: Path) -> Any:
    return load_config(env=env, cwd=tmp, home=tmp).config.telemetry


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENTELEMETRY_ENABLED": "true"}, (True, True, None)),
        ({"OPENTELEMETRY_ENABLED": "False"}, (False, False, None)),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, (False, True, "http://c:4318")),
        (  # the traces-only endpoint is kept apart (a full URL) and wins over the general one, as in the OTel SDKs
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318"},
            (False, True, "http://c:4318"),
        ),
        (  # an explicit off beats an endpoint, and a PODIUM__ variable beats both
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OPENTELEMETRY_ENABLED": "false",
             "PODIUM__TELEMETRY__METRICS_ENABLED": "true"},
            (True, False, "http://c:4318"),
        ),
    ],
)  # fmt: skip
def test_opentelemetry_variables_map_onto_the_telemetry_settings(
    env: dict[str, str], expected: tuple[Any, ...], tmp_path: Path
) -> None:
    t = _telemetry_from(env, tmp_path)
    assert (t.metrics_enabled, t.tracing_enabled, t.otlp_endpoint) == expected


def test_env_switches_override_the_file_and_show_their_source(tmp_path: Path) -> None:
    (tmp_path / "podium.yaml").write_text("telemetry:\n  metrics_enabled: false\n  metrics_port: 9999\n")
    loaded = load_config(env={"OPENTELEMETRY_ENABLED": "1", "OTEL_SERVICE_NAME": "svc"}, cwd=tmp_path, home=tmp_path)
    t = loaded.config.telemetry
    assert (t.metrics_enabled, t.metrics_port, t.service_name) == (True, 9999, "svc")
    assert loaded.sources["telemetry.metrics_enabled"] == "env:OPENTELEMETRY_ENABLED"
    assert loaded.sources["telemetry.metrics_port"] == "file"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OPENTELEMETRY_ENABLED": "maybe"}, "OPENTELEMETRY_ENABLED='maybe' is not valid; use true or false"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported",
        ),
    ],
)
def test_bad_switch_values_are_one_line_errors(env: dict[str, str], message: str, workdir: Path) -> None:
    with pytest.raises(ConfigError, match=message):
        _telemetry_from(env, workdir)
    result = runner.invoke(app, ["ask", "hi", "-m", "openai:gpt-4o-mini"], env=_env(workdir, **env))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_otlp_endpoint_without_the_extra_is_one_line_naming_it(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, OTLP_TRACES, None)  # as if `podium[otlp]` were not installed
    env = _env(workdir, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    result = runner.invoke(app, ["ask", "hi", "-m", "openai:gpt-4o-mini"], env=env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "pip install 'podium[otlp]'" in result.stderr
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in result.stderr
