"""Every entry point serves /metrics and runs the configured exporters: `podium project run`, `podium testgen`,
`podium ask`, the library orchestrator and the gateway, each against the fake upstream on loopback.

/metrics is scraped over real HTTP *while* a run is in flight: the fake upstream is wrapped so that when the n-th
model request arrives it first GETs /metrics (the run is waiting on that very request, so the scrape is mid-run).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.config.telemetry import TelemetrySettings
from podium.core.types import Usage
from podium.server import create_app
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve
from podium.workflows.project import ProjectOrchestrator, build_spec

runner = CliRunner()
KEY = "sk-test-telemetry-0123456789"
PLAN = {
    "tasks": [
        {"id": "core", "title": "Core", "prompt": "Write it.", "task_type": "code", "output_file": "pkg/core.py",
         "acceptance": ["class"]},
        {"id": "docs", "title": "Docs", "prompt": "Document it.", "task_type": "writing", "depends_on": ["core"],
         "acceptance": ["README"]},
    ]
}  # fmt: skip
ANSWER = "README\n```python\nclass TokenBucket:\n    rate = 1\n```\n"
MODULE = '"""Adds."""\n\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b\n'
TESTS = "```python\nfrom calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n```\n"
OTLP_TRACES = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScrapingUpstream:
    """The fake upstream, except that the ``at``-th request first scrapes ``metrics_url`` (kept in ``scraped``)."""

    def __init__(self, fake: FakeUpstream, metrics_url: str, at: int) -> None:
        self.fake, self.metrics_url, self.at = fake, metrics_url, at
        self.scraped: list[str] = []
        self._seen = itertools.count(1)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and next(self._seen) == self.at:
            self.scraped.append(await asyncio.to_thread(self._scrape))
        await self.fake.app(scope, receive, send)

    def scrape(self) -> str:
        """The one mid-run scrape's body."""
        assert len(self.scraped) == 1, f"expected one scrape, got {len(self.scraped)}"
        assert not self.scraped[0].startswith("scrape failed"), self.scraped[0]
        return self.scraped[0]

    def _scrape(self) -> str:
        try:
            return httpx.get(self.metrics_url, timeout=10).text
        except httpx.HTTPError as exc:
            return f"scrape failed: {exc!r}"


def _totals(text: str, prefix: str) -> dict[str, float]:
    """Sample name -> value summed over labels, for non-zero samples named ``prefix*`` (not ``*_created``)."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith(prefix) and not s.name.endswith("_created") and s.value > 0:
                out[s.name] = out.get(s.name, 0.0) + s.value
    return out


def _json_totals(path: Path, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in json.loads(path.read_text())["metrics"]:
        for s in family["samples"]:
            if s["name"].startswith(prefix) and s["value"] > 0:
                out[s["name"]] = out.get(s["name"], 0.0) + s["value"]
    return out


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=5)
    except httpx.ConnectError:
        return True
    return False


def _project_settings(base: str, telemetry: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "orchestration": {"orchestrator": {"model": "openai:gpt-4o-mini"}, "fallback_strategy": {"models": []}},
        "providers": {"openai": {"base_url": f"{base}/v1"}},
        "routing": {"chains": {"solo": ["openai:gpt-4o"]}, "chain": "solo"},
        "resilience": {"retry": {"max_attempts": 1}},
        **({"telemetry": telemetry} if telemetry is not None else {}),
    }


def _metrics(port: int, tmp: Path) -> dict[str, Any]:
    return {
        "metrics_enabled": True,
        "metrics_port": port,
        "exporters": [f"json:{tmp / 'exported' / 'm.json'}", f"prometheus:{tmp / 'exported' / 'm.prom'}"],
    }


@pytest.fixture()
def fake() -> FakeUpstream:
    return FakeUpstream(api_key=KEY)


@pytest.fixture()
def port() -> int:
    return _free_port()


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    keys = dict.fromkeys(("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY"), KEY)
    unset = dict.fromkeys(
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OPENTELEMETRY_ENABLED"), ""
    )
    return {**keys, **unset, "PODIUM_HOME": str(tmp / "h"), **extra}  # empty = not set: nothing inherited


def _write(tmp: Path, settings: dict[str, Any]) -> None:
    (tmp / "podium.yaml").write_text(json.dumps(settings))  # JSON is YAML


# -- podium project run ---------------------------------------------------------------------------------------------


def test_project_run_serves_orchestration_metrics_mid_run_and_writes_the_exporters(
    fake: FakeUpstream, port: int, workdir: Path
) -> None:
    url = f"http://127.0.0.1:{port}/metrics"
    upstream = ScrapingUpstream(fake, url, at=3)  # planner, task core, then task docs: scraped while docs runs
    fake.script("gpt-4o-mini", json.dumps(PLAN), usage=Usage(100, 100))
    fake.script("gpt-4o", ANSWER, usage=Usage(100, 100))
    with serve(upstream) as base:
        _write(workdir, _project_settings(base, _metrics(port, workdir)))
        args = ["project", "run", "--project", "Token bucket", "--budget", "2", "-o", str(workdir / "out"), "--json"]
        result = runner.invoke(app, args, env=_env(workdir))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "completed"

    during = upstream.scrape()
    mid = _totals(during, "orchestration_")
    assert mid["orchestration_orchestrator_tokens_total"] == 200
    assert mid["orchestration_delegations_total"] == 1  # core is done; docs is the request being answered
    assert "orchestration_workflows_total" not in mid  # the run has not finished yet
    assert _totals(during, "podium_requests_total")["podium_requests_total"] == 2

    prom = _totals((workdir / "exported" / "m.prom").read_text(), "orchestration_")
    exported = _json_totals(workdir / "exported" / "m.json", "orchestration_")
    for final in (prom, exported):
        assert final["orchestration_workflows_total"] == 1
        assert final["orchestration_delegations_total"] == 2
        assert final["orchestration_total_cost_usd_total"] > 0
    assert _refused(url)  # the command's metrics server stops with it


def test_otel_exporter_otlp_endpoint_turns_tracing_on_for_project_run(fake: FakeUpstream, workdir: Path) -> None:
    pytest.importorskip(OTLP_TRACES)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[bytes] = []

    async def collect(request: Request) -> Response:
        received.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    receiver = Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])
    fake.script("gpt-4o-mini", json.dumps(PLAN))
    fake.script("gpt-4o", ANSWER)
    with serve(fake.app) as base, serve(receiver) as otlp:
        _write(workdir, _project_settings(base))  # no telemetry section: the variable alone turns tracing on
        args = ["project", "run", "--project", "Token bucket", "-o", str(workdir / "out"), "--json"]
        result = runner.invoke(app, args, env=_env(workdir, OTEL_EXPORTER_OTLP_ENDPOINT=otlp))
    assert result.exit_code == 0, result.output
    spans = [
        (rs, s)
        for body in received
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans
        for ss in rs.scope_spans
        for s in ss.spans
    ]
    names = sorted(s.name for _, s in spans)
    assert names.count("workflow project") == 1
    assert names.count("chat gpt-4o") == 2 and names.count("chat gpt-4o-mini") == 1
    services = {a.value.string_value for rs, _ in spans for a in rs.resource.attributes if a.key == "service.name"}
    assert services == {"podium"}


# -- podium testgen -------------------------------------------------------------------------------------------------


def test_testgen_serves_orchestration_metrics_mid_run_and_exports_on_close(
    fake: FakeUpstream, port: int, workdir: Path
) -> None:
    url = f"http://127.0.0.1:{port}/metrics"
    upstream = ScrapingUpstream(fake, url, at=2)  # the plan, then (scraped) the executor's call
    bundled = Catalog.bundled()
    fake.script(bundled.get("anthropic:claude-sonnet-4-5").api_model, "1. test add", usage=Usage(210, 95))
    fake.script(bundled.get("gemini:gemini-2.5-flash").api_model, TESTS, usage=Usage(1500, 420))
    (workdir / "calc.py").write_text(MODULE)
    with serve(upstream) as base:
        executor = (
            "{model: gemini-2.5-flash, provider: google-ai-studio, api_key_env: GOOGLE_API_KEY, use_cases: [simple]}"
        )
        (workdir / "podium.yaml").write_text(
            f"providers: {{anthropic: {{base_url: '{base}'}}, gemini: {{base_url: '{base}'}}}}\n"
            f"orchestration: {{fallback_strategy: {{models: []}}, executors: [{executor}]}}\n"
            f"resilience: {{retry: {{max_attempts: 1}}}}\ntelemetry: {json.dumps(_metrics(port, workdir))}\n"
        )
        result = runner.invoke(app, ["testgen", "calc.py", "--json"], env=_env(workdir))
    assert result.exit_code == 0, result.output

    during = upstream.scrape()
    assert _totals(during, "orchestration_")["orchestration_orchestrator_tokens_total"] == 305
    final = _json_totals(workdir / "exported" / "m.json", "orchestration_")
    assert final["orchestration_workflows_total"] == 1 and final["orchestration_executor_tokens_total"] == 1920
    assert _totals((workdir / "exported" / "m.prom").read_text(), "orchestration_")["orchestration_tasks_total"] == 1
    assert _refused(url)


# -- podium ask, the library, the gateway ---------------------------------------------------------------------------


def test_ask_serves_metrics_and_writes_the_exporters(fake: FakeUpstream, port: int, workdir: Path) -> None:
    url = f"http://127.0.0.1:{port}/metrics"
    upstream = ScrapingUpstream(fake, url, at=1)
    fake.script("gpt-4o-mini", "Paris.", usage=Usage(12, 3))
    with serve(upstream) as base:
        _write(workdir, _project_settings(base, _metrics(port, workdir)))
        result = runner.invoke(app, ["ask", "Capital of France?", "-m", "openai:gpt-4o-mini"], env=_env(workdir))
    assert result.exit_code == 0, result.output
    assert "# TYPE podium_requests_total counter" in upstream.scrape()  # served while the call was in flight
    final = _json_totals(workdir / "exported" / "m.json", "podium_")
    assert final["podium_requests_total"] == 1 and final["podium_tokens_total"] == 15
    assert _refused(url)


def test_a_busy_metrics_port_is_a_one_line_warning_and_the_run_still_works(
    fake: FakeUpstream, workdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("gpt-4o-mini", "Paris.")
    with serve(fake.app) as base, socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        _write(workdir, _project_settings(base, {**_metrics(taken, workdir)}))
        with caplog.at_level(logging.WARNING, logger="podium.telemetry"):
            result = runner.invoke(app, ["ask", "Capital?", "-m", "openai:gpt-4o-mini"], env=_env(workdir))
    assert result.exit_code == 0, result.output
    [warning] = [r.getMessage() for r in caplog.records if r.name.startswith("podium.telemetry")]
    assert f"127.0.0.1:{taken}" in warning and "telemetry.metrics_port" in warning and "\n" not in warning
    assert _json_totals(workdir / "exported" / "m.json", "podium_")["podium_requests_total"] == 1


async def test_library_orchestrator_serves_metrics_after_the_run_until_closed(
    fake: FakeUpstream, port: int, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{port}/metrics"
    fake.script("gpt-4o-mini", json.dumps(PLAN))
    fake.script("gpt-4o", ANSWER)
    async with serve(fake.app) as base:
        config = PodiumConfig.from_mapping(_project_settings(base, _metrics(port, tmp_path)))
        orch = ProjectOrchestrator(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "h")
        try:
            state = await orch.run(build_spec(description="Token bucket", max_usd="1"), output_dir=tmp_path / "out")
            assert state.status == "completed"
            after = _totals((await asyncio.to_thread(httpx.get, url)).text, "orchestration_")
            assert after["orchestration_workflows_total"] == 1 and after["orchestration_validations_passed_total"] == 2
            exported = _json_totals(tmp_path / "exported" / "m.json", "orchestration_")
            assert exported["orchestration_workflows_total"] == 1
        finally:
            orch.close()
    assert await asyncio.to_thread(_refused, url)


def test_gateway_serves_metrics_on_its_own_port_only_and_exports_at_shutdown(
    fake: FakeUpstream, port: int, tmp_path: Path
) -> None:
    fake.script("gpt-4o-mini", "Paris.", usage=Usage(12, 3))
    with serve(fake.app) as base:
        config = PodiumConfig.from_mapping(_project_settings(base, _metrics(port, tmp_path)))
        gateway = create_app(None, ServerSettings(), config=config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "h")
        with serve(gateway, lifespan="on") as gw:
            answer = httpx.post(
                f"{gw}/v1/chat/completions",
                json={"model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "Capital?"}]},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            served = _totals(httpx.get(f"{gw}/metrics").text, "podium_requests_total")
            assert served["podium_requests_total"] == 1
            assert _refused(f"http://127.0.0.1:{port}/metrics")  # no second metrics port beside the gateway's
    assert _json_totals(tmp_path / "exported" / "m.json", "podium_")["podium_requests_total"] == 1


def test_an_unwritable_exporter_is_a_warning_and_the_others_still_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-dir").write_text("")
    settings = TelemetrySettings(
        exporters=[f"json:{tmp_path / 'not-a-dir' / 'm.json'}", f"prometheus:{tmp_path / 'm.prom'}"]
    )
    with Telemetry(settings) as tel, caplog.at_level(logging.WARNING, logger="podium.telemetry"):
        tel.workflows.record_workflow(10.0)
        tel.end_run()
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("telemetry.exporters: could not write metrics to") and "not-a-dir" in warning
    assert _totals((tmp_path / "m.prom").read_text(), "orchestration_")["orchestration_workflows_total"] == 1


def test_the_gateway_flushes_the_spans_of_the_telemetry_it_built_when_it_stops(fake: FakeUpstream) -> None:
    """create_app builds its own Telemetry when none is given; stopping the app shuts it down, so the batch span
    processor delivers what it holds (before, its thread outlived the app and the spans waited for process exit)."""
    pytest.importorskip(OTLP_TRACES)
    from starlette.testclient import TestClient

    received: list[bytes] = []

    async def collect(request: Request) -> Response:
        received.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    receiver = Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])])
    fake.script("gpt-4o-mini", "hello", usage=Usage(3, 1))
    with serve(fake.app) as base, serve(receiver) as otlp:
        config = PodiumConfig.from_mapping({
            "providers": {"openai": {"base_url": base + "/v1"}},
            "orchestration": {"enabled": False},
            "telemetry": {"tracing_enabled": True, "otlp_endpoint": otlp},
        })
        gateway_app = create_app(None, ServerSettings(), config=config, env={"OPENAI_API_KEY": KEY})
        with TestClient(gateway_app) as client:
            answer = client.post("/v1/chat/completions",
                                 json={"model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
            assert answer.status_code == 200
            assert received == []  # still batched while the app runs
        assert received, "stopping the app did not flush its spans"
