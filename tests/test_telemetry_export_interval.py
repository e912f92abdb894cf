"""``telemetry.export_interval_s``: a serving gateway (real HTTP on loopback, the fake upstream behind it) writes
its exporter file while it runs, updates it as calls come in, and stops writing it once it has shut down."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.config.telemetry import TelemetrySettings
from podium.server import create_app
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve

KEY = "sk-upstream-secret-0123456789"
MINI = "openai:gpt-4o-mini"
INTERVAL = 0.05
DEADLINE_S = 20.0


def _wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_serving_gateway_writes_its_textfile_on_the_interval_and_stops_at_shutdown(tmp_path: Path) -> None:
    prom = tmp_path / "podium.prom"
    fake = FakeUpstream(api_key=KEY)
    fake.script("gpt-4o-mini", "Paris.")
    with serve(fake.app) as upstream:
        config = PodiumConfig.from_mapping({
            "orchestration": {"enabled": False},
            "providers": {"openai": {"base_url": f"{upstream}/v1"}},
            "telemetry": {"exporters": [f"prometheus:{prom}"], "export_interval_s": INTERVAL},
        })
        telemetry = Telemetry(config.telemetry)
        app = create_app(None, ServerSettings(), config=config, telemetry=telemetry, env={"OPENAI_API_KEY": KEY},
                         home=tmp_path)
        with serve(app, lifespan="on") as base:
            _wait_for("the first periodic export", prom.exists)  # no call yet: only the interval writes it
            assert telemetry.exporting and f'model="{MINI}"' not in _text(prom)
            response = httpx.post(f"{base}/v1/chat/completions", timeout=30,
                                  json={"model": MINI, "messages": [{"role": "user", "content": "Capital of France?"}]})
            assert response.status_code == 200, response.text
            _wait_for("an export with the call", lambda: f'model="{MINI}"' in _text(prom))
            assert "podium_requests_total" in _text(prom)
    assert not telemetry.exporting  # stopped with the gateway (which wrote the file once more as it closed)
    prom.unlink()
    time.sleep(INTERVAL * 10)  # ten intervals: a periodic export still running would have rewritten it
    assert not prom.exists()


def test_export_interval_defaults_to_only_at_close_and_must_be_positive() -> None:
    assert TelemetrySettings().export_interval_s is None
    assert TelemetrySettings(export_interval_s=15).export_interval_s == 15
    with pytest.raises(ValidationError, match="export_interval_s"):
        TelemetrySettings(export_interval_s=0)
