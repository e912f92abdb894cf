"""Proof with a real Prometheus: it scrapes Podium while calls go through the fake upstream, and every PromQL
expression on the Grafana dashboard returns data.

Traffic keeps flowing while Prometheus scrapes (1 s interval), so rate() and histogram_quantile() panels get
finite values, not just series. Skipped only when the ``prometheus`` binary is missing (Debian: ``prometheus``).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

import httpx
import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import ServerError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import ChatRequest, StreamChunk
from podium.engine.terminal import make_terminal
from podium.providers.openai_http import OpenAIProvider
from podium.telemetry import Telemetry, start_metrics_server
from podium.telemetry.dashboard import DASHBOARD_FILE, dashboard_exprs
from podium.testing import FakeUpstream, serve

PROMETHEUS = shutil.which("prometheus")
ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 90.0
POLL_S = 0.25
KEY = "test-key-e2e"


def _spec(name: str) -> ModelSpec:
    return ModelSpec(
        id=f"openai:{name}",
        provider="openai",
        api_model=name,
        input_per_million=Decimal("0.15"),
        output_per_million=Decimal("0.60"),
    )


GOOD, BROKEN = _spec("gpt-4o-mini"), _spec("gpt-broken")


class Traffic:
    """Background calls through the real middleware chain, plus workflow metrics and resilience events."""

    def __init__(self, tel: Telemetry, fake: FakeUpstream, upstream_url: str) -> None:
        self.tel, self.fake, self.url = tel, fake, upstream_url
        self.rounds = 0
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._first_round = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._first_round.wait(30):
            raise AssertionError(f"traffic did not complete one round: {self.errors!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        http = httpx.AsyncClient()
        settings = ProviderSettings(name="openai", base_url=self.url, api_key_env="OPENAI_API_KEY")
        provider = OpenAIProvider(settings, http_client=http, env={"OPENAI_API_KEY": KEY})
        handler = compose(self.tel.middlewares(), make_terminal(lambda spec: provider))
        try:
            while not self._stop.is_set():
                try:
                    loop.run_until_complete(self._round(handler))
                except Exception as exc:  # noqa: BLE001 - surfaced through self.errors in the assertion
                    self.errors.append(exc)
                self.rounds += 1
                self._first_round.set()
                self._stop.wait(0.2)  # pacing: Prometheus needs increases between its 1 s scrapes
        finally:
            loop.run_until_complete(http.aclose())
            loop.close()

    async def _round(self, handler: Callable[[CallContext], Any]) -> None:
        n = self.rounds
        req = ChatRequest.from_prompt(f"question {n}", max_tokens=64)
        await handler(CallContext(req, GOOD, CallMeta(strategy="cheapest"), request_id=f"r{n}"))
        chunks: list[StreamChunk] = []

        async def collect(chunk: StreamChunk) -> None:
            chunks.append(chunk)

        await handler(CallContext(req, GOOD, CallMeta(strategy="cascade"), request_id=f"s{n}", emit=collect))
        self.fake.fail(BROKEN.api_model, 503, times=1)
        with pytest.raises(ServerError):
            await handler(CallContext(req, BROKEN, CallMeta(strategy="cheapest"), request_id=f"e{n}"))
        self._events_and_workflow(n)

    def _events_and_workflow(self, n: int) -> None:
        bus, w = self.tel.bus, self.tel.workflows
        bus.emit(Event(EventType.RETRY, {"model": GOOD.id}))
        bus.emit(Event(EventType.FALLBACK, {"from": BROKEN.id, "to": GOOD.id}))
        bus.emit(Event(EventType.CACHE_HIT, {"model": GOOD.id}))
        state = EventType.BREAKER_OPEN if n % 2 else EventType.BREAKER_CLOSED
        bus.emit(Event(state, {"provider": "openai", "model": BROKEN.id}))
        bus.emit(Event(EventType.BUDGET_WARNING, {"scope": "project:e2e", "remaining_usd": Decimal(100) - n}))
        self.tel.calls.observe_gateway_overhead(0.001 + (n % 5) * 0.001)
        w.record_orchestrator(300, Decimal("0.009"))
        w.record_delegation(("gemini:gemini-pro", "groq:llama-3.3-70b")[n % 2], success=n % 5 != 0, tokens=1500)
        w.record_validation(passed=n % 4 != 0)
        w.record_workflow(
            800.0 + 400 * (n % 7), ("simple", "moderate", "complex")[n % 3], baseline_cost_usd=Decimal("0.51")
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _prometheus(tmp_path: Path, target_port: int) -> Iterator[tuple[str, Path]]:
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: podium\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n"
    )
    log = tmp_path / "prometheus.log"
    port = _free_port()
    cmd = [
        str(PROMETHEUS),
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            yield f"http://127.0.0.1:{port}", log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _until(check: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if check():
            return
        threading.Event().wait(POLL_S)
    raise AssertionError(f"timed out waiting for {what}; prometheus log:\n{log.read_text()[-3000:]}")


def _get(client: httpx.Client, path: str, **params: str) -> dict[str, Any] | None:
    try:
        r = client.get(path, params=params)
    except httpx.TransportError:
        return None  # still starting
    return r.json() if r.status_code == 200 else None


def _finite_values(body: dict[str, Any] | None) -> list[float]:
    if not body or body.get("status") != "success":
        return []
    values = [float(item["value"][1]) for item in body["data"]["result"]]
    return [v for v in values if math.isfinite(v)]


@pytest.mark.prometheus
@pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed (Debian package: prometheus)")
def test_every_dashboard_query_returns_data_from_a_real_prometheus(tmp_path: Path) -> None:
    exprs = dashboard_exprs(json.loads((ROOT / DASHBOARD_FILE).read_text()))
    assert len(exprs) >= 20
    tel = Telemetry()
    fake = FakeUpstream(api_key=KEY)
    with (
        serve(fake.app) as upstream_url,
        start_metrics_server(tel.registry, "127.0.0.1", 0) as metrics,
        Traffic(tel, fake, upstream_url) as traffic,
        _prometheus(tmp_path, metrics.port) as (prom_url, log),
        httpx.Client(base_url=prom_url, timeout=5) as client,
    ):

        def target_up() -> bool:
            body = _get(client, "/api/v1/targets")
            active = (body or {}).get("data", {}).get("activeTargets", [])
            return any(t.get("health") == "up" for t in active)

        _until(target_up, "the Podium target to be up", log)
        pending = list(exprs)

        def all_have_data() -> bool:
            pending[:] = [e for e in pending if not _finite_values(_get(client, "/api/v1/query", query=e))]
            return not pending

        try:
            _until(all_have_data, "every dashboard query to return data", log)
        except AssertionError as exc:
            raise AssertionError(f"queries without data: {pending}\n{exc}") from None
    assert traffic.errors == []
    assert traffic.rounds >= 2
    assert fake.count(GOOD.api_model) >= 2 * traffic.rounds - 2  # calls really went over HTTP
