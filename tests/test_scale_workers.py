"""`podium serve --workers N`: several worker processes on one port keep budgets exact and key rpm global."""

from __future__ import annotations

import concurrent.futures as cf
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_scale_replicas import worst_case
from test_scale_support import WIRE_MODEL, Gate, gateway_config, key_entry, post, redis_ok, start_replicas, unique  # noqa: F401

from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

pytestmark = [pytest.mark.redis, pytest.mark.timeout(240), pytest.mark.slow]


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_two_workers_share_one_budget_and_one_rpm(tmp_path: Path, redis_ok: None) -> None:  # noqa: F811
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=Usage(14, 8))
    gate = Gate(fake.app)
    budgeted, limited = unique("wbudget"), unique("wrpm")
    keys = [key_entry(budgeted, budget_usd=str(worst_case() * 10 + worst_case() / 2)), key_entry(limited, rpm=15)]
    with serve(gate) as upstream_url:
        config = gateway_config(upstream_url, ledger_url=f"sqlite:///{tmp_path / 'ledger.db'}", keys=keys)
        (gw,) = start_replicas(tmp_path, [config], workers=2)
        try:
            assert len(_children(gw.proc.pid)) >= 2  # uvicorn's supervisor and its two worker processes
            gate.close()
            with cf.ThreadPoolExecutor(40) as pool:
                futures = [pool.submit(post, gw.base_url, budgeted) for _ in range(40)]
                gate.wait_arrivals(10)
                for refused, done in enumerate(cf.as_completed(futures), 1):
                    assert done.result().status_code == 402, done.result().text
                    if refused == 30:
                        break
                assert gate.arrivals == 10
                gate.open()
                assert sorted(f.result().status_code for f in futures) == [200] * 10 + [402] * 30
            with cf.ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(lambda _: post(gw.base_url, limited).status_code, range(30)))
            assert 15 <= codes.count(200) <= 17 and codes.count(429) == 30 - codes.count(200)  # not 15 per worker
        finally:
            gate.open()
            gw.stop()


def test_workers_refuse_the_single_writer_ledger_mode(tmp_path: Path) -> None:
    path = tmp_path / "podium.yaml"
    path.write_text(yaml.safe_dump({"ledger": {"mode": "process"}}), encoding="utf-8")
    env = {"HOME": str(tmp_path), "PODIUM_HOME": str(tmp_path / ".podium"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "podium.cli.main", "serve", "--config", str(path), "--port", "0", "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "--workers 2 needs ledger.mode: shared" in proc.stderr + proc.stdout
