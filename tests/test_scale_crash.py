"""Default ledger mode (shared, SQLite): a gateway killed with SIGKILL right after answering has charged the call its
real cost, not its worst case — the settle is written ahead of the answer leaving the gateway."""

from __future__ import annotations

import concurrent.futures as cf
import sqlite3
from pathlib import Path

import httpx
import pytest
from test_scale_support import WIRE_MODEL, Gate, gateway_config, post, start_replicas

from podium.catalog import Catalog
from podium.core.types import Usage
from podium.ledger import Ledger
from podium.testing import FakeUpstream, serve

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]
USAGE = Usage(14, 8)


def test_answered_call_is_priced_exactly_after_kill_minus_9(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    gate = Gate(fake.app)
    db = tmp_path / "ledger.db"
    with serve(gate) as upstream_url:
        config = gateway_config(upstream_url, ledger_url=f"sqlite:///{db}", keys=[],
                                resilience={"limiter_backend": "memory"})  # fmt: skip
        (gw,) = start_replicas(tmp_path, [config])
        try:
            gate.close()
            with cf.ThreadPoolExecutor(1) as pool:
                answer = pool.submit(post, gw.base_url, "none")
                gate.wait_arrivals(1)  # the reservation is committed and the call is at the provider
                lock = sqlite3.connect(db, isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")  # hold the write lock: the gateway cannot commit the settle yet
                gate.open()
                try:
                    # An answer that leaves before its cost is durable would arrive now; kill the gateway then.
                    response = answer.result(timeout=1.5)
                    gw.kill()
                    lock.rollback()
                except cf.TimeoutError:
                    lock.rollback()  # the answer waits for its settle: let it commit, then the answer leaves
                    response = answer.result(timeout=60)
                    gw.kill()
                lock.close()
        finally:
            gate.open()
            gw.stop()
    assert response.status_code == 200
    request_id = response.headers["x-podium-request-id"]
    ledger = Ledger(f"sqlite:///{db}")
    try:
        row = ledger.reader.row(request_id)
        assert row is not None
        real = Catalog.bundled().get("openai:gpt-4o-mini").cost(USAGE)
        assert (row["status"], row["cost_usd"]) == ("ok", real)  # not the worst case, ~1,000x more
        assert row["reserved_usd"] > 100 * real
    finally:
        ledger.close()


def test_client_gone_during_settle_still_settles(tmp_path: Path) -> None:
    """Awaiting the settle must not let a client disconnect cancel the write (the call was paid for)."""
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    gate = Gate(fake.app)
    db = tmp_path / "ledger.db"
    with serve(gate) as upstream_url:
        config = gateway_config(upstream_url, ledger_url=f"sqlite:///{db}", keys=[],
                                resilience={"limiter_backend": "memory"})  # fmt: skip
        (gw,) = start_replicas(tmp_path, [config])
        try:
            gate.close()
            with cf.ThreadPoolExecutor(1) as pool:
                answer = pool.submit(post, gw.base_url, "none", timeout=3.0)
                gate.wait_arrivals(1)
                lock = sqlite3.connect(db, isolation_level=None)
                lock.execute("BEGIN IMMEDIATE")
                gate.open()
                with pytest.raises(httpx.ReadTimeout):  # the client gives up while the settle waits for the lock
                    answer.result(timeout=60)
                lock.rollback()
                lock.close()
            gw.stop()  # a clean stop flushes the ledger
        finally:
            gate.open()
            gw.stop()
    ledger = Ledger(f"sqlite:///{db}")
    try:
        real = Catalog.bundled().get("openai:gpt-4o-mini").cost(USAGE)
        assert [(r["status"], r["cost_usd"]) for r in ledger.reader.rows()] == [("ok", real)]
    finally:
        ledger.close()
