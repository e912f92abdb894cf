"""The OpenTelemetry endpoint variables as the spec reads them: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is the full
traces URL, used as given; ``OTEL_EXPORTER_OTLP_ENDPOINT`` is a base URL that gets ``/v1/traces``. A machine-wide
gRPC protocol only matters when tracing ends up on."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import load_config
from podium.core.errors import ConfigError
from podium.telemetry.tracing import configure_tracing, workflow_span
from podium.testing import serve

runner = CliRunner()
GRPC = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}


def _paths_receiving_spans(env_for: dict[str, str], tmp: Path) -> list[str]:
    """Load the config from ``env_for`` (``{}`` placeholders filled with the receiver's URL), trace one span, and
    return the paths the loopback receiver was posted on."""
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    received: list[str] = []

    async def collect(request: Request) -> Response:
        received.append(request.url.path)
        return Response(b"", media_type="application/x-protobuf")

    routes = [Route(p, collect, methods=["POST"]) for p in ("/custom/spans", "/v1/traces", "/custom/spans/v1/traces")]
    with serve(Starlette(routes=routes)) as base_url:
        env = {k: v.format(base_url) for k, v in env_for.items()} | {"PODIUM_HOME": str(tmp / "h")}
        telemetry = load_config(env=env, cwd=tmp, home=tmp).config.telemetry
        assert telemetry.tracing_enabled
        provider = configure_tracing(telemetry)
        with workflow_span("exported", provider.get_tracer("t")):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    return received


def test_traces_endpoint_variable_is_used_as_given(tmp_path: Path) -> None:
    paths = _paths_receiving_spans({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "{}/custom/spans"}, tmp_path)
    assert paths == ["/custom/spans"]


def test_traces_endpoint_variable_wins_over_the_general_one(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "{}", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "{}/custom/spans"}
    assert _paths_receiving_spans(env, tmp_path) == ["/custom/spans"]


def test_general_endpoint_variable_gets_the_traces_path(tmp_path: Path) -> None:
    assert _paths_receiving_spans({"OTEL_EXPORTER_OTLP_ENDPOINT": "{}/custom/spans"}, tmp_path) == [
        "/custom/spans/v1/traces"
    ]


@pytest.mark.parametrize("off", [{"PODIUM__TELEMETRY__TRACING_ENABLED": "false"}, {"OPENTELEMETRY_ENABLED": "false"}])
def test_grpc_protocol_is_ignored_when_tracing_is_off(
    off: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {**GRPC, **off, "PODIUM_HOME": str(tmp_path / "h")}
    assert load_config(env=env, cwd=tmp_path, home=tmp_path).config.telemetry.tracing_enabled is False
    result = runner.invoke(app, ["config", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "grpc" not in result.stderr


def test_grpc_protocol_is_still_refused_when_tracing_is_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {**GRPC, "PODIUM_HOME": str(tmp_path / "h")}
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported"):
        load_config(env=env, cwd=tmp_path, home=tmp_path)
    result = runner.invoke(app, ["config", "check"], env=env)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "OTEL_EXPORTER_OTLP_PROTOCOL='grpc'" in result.stderr
