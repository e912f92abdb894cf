"""`podium serve --workers 2`: every scrape of /metrics reports the whole fleet, whichever worker answers it."""

from __future__ import annotations

import concurrent.futures as cf
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from test_scale_support import WIRE_MODEL, Replica, gateway_config, key_entry, post, unique

from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

pytestmark = pytest.mark.timeout(120)  # ~6 s: two worker processes and a fake upstream


def _scrape(base_url: str) -> dict[str, float]:
    """Each sample name's sum over its label sets, from one scrape on a new connection."""
    text = httpx.get(base_url + "/metrics", timeout=10.0).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            totals[s.name] = totals.get(s.name, 0.0) + s.value
    return totals


def _requests_per_worker(fleet_dir: Path) -> list[float]:
    """podium_requests_total as each worker's own file holds it (what a scrape showed before fleet metrics)."""
    shares = []
    for db in sorted(fleet_dir.glob("counter_*.db")):
        families = MultiProcessCollector.merge([str(db)])
        shares.append(sum(s.value for f in families for s in f.samples if s.name == "podium_requests_total"))
    return shares


def test_every_scrape_reports_the_fleet_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=Usage(14, 8))
    key = unique("fleet")
    owned_tmp = tmp_path / "tmp"
    owned_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(owned_tmp))  # where `podium serve` makes (and removes) its metrics directory
    with serve(fake.app) as upstream_url:
        config = gateway_config(
            upstream_url, ledger_url=None, keys=[key_entry(key)], resilience={"limiter_backend": "memory"}
        )
        gw = Replica(tmp_path, config, workers=2).wait_ready()
        try:
            (fleet_dir,) = owned_tmp.glob("podium-metrics-*")
            costs: list[Decimal] = []
            with cf.ThreadPoolExecutor(8) as pool:
                # Until both workers have answered some (the kernel picks the worker of each connection).
                while len(costs) < 200 and sum(1 for n in _requests_per_worker(fleet_dir) if n > 0) < 2:
                    for response in pool.map(lambda _: post(gw.base_url, key), range(16)):
                        assert response.status_code == 200, response.text
                        costs.append(Decimal(response.headers["x-podium-cost-usd"]))
            shares = _requests_per_worker(fleet_dir)
            assert len(shares) == 2 and all(0 < n < len(costs) for n in shares), shares
            for _ in range(8):
                scraped = _scrape(gw.base_url)
                assert scraped["podium_requests_total"] == len(costs)
                assert scraped["podium_request_latency_seconds_count"] == len(costs)
                assert scraped["podium_tokens_total"] == 22 * len(costs)
                # Each worker adds float costs; the fleet sums them: equal within float rounding of the exact sum.
                assert scraped["podium_cost_usd_total"] == pytest.approx(float(sum(costs)), rel=1e-12)
        finally:
            gw.stop()
    assert gw.proc.returncode == 0, gw.log.read_text()[-3000:]
    assert list(owned_tmp.iterdir()) == []  # the directory it made is gone
