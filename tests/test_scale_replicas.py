"""Two gateway replicas (real `podium serve` processes) sharing one Postgres ledger and one Redis.

Budgets are exact across replicas, a key's rpm is global, and when one replica is killed with SIGKILL mid-load the
other settles its reservations (leases): answered calls at their real cost, calls in flight at their worst case.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import redis
import sqlalchemy as sa
from test_ledger_support import pg_url  # noqa: F401 - fixture
from test_scale_support import (
    ASK,
    REDIS_URL,
    WIRE_MODEL,
    Gate,
    gateway_config,
    key_entry,
    pg_engine,
    post,
    redis_ok,  # noqa: F401 - fixture
    start_replicas,
    unique,
    wait_until,
)

from podium.catalog import Catalog
from podium.core.tokens import request_token_bound
from podium.core.types import ChatRequest, Message, Usage
from podium.testing import FakeUpstream, serve

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(240), pytest.mark.slow]
SPEC = Catalog.bundled().get("openai:gpt-4o-mini")
USAGE = Usage(14, 8)


def real_cost() -> Decimal:
    cost = SPEC.cost(USAGE)
    assert cost is not None
    return cost


def worst_case() -> Decimal:
    request = ChatRequest(messages=tuple(Message(m["role"], m["content"]) for m in ASK))
    worst = SPEC.worst_case_cost(request_token_bound(request), None)
    assert worst is not None
    return worst


def test_two_replicas_budget_rpm_and_kill_minus_9(tmp_path: Path, pg_url: str, redis_ok: None) -> None:  # noqa: F811
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    gate = Gate(fake.app)
    race, limited, load = unique("race"), unique("rpm"), unique("load")
    keys = [
        key_entry(race, budget_usd=str(worst_case() * 10 + worst_case() / 2)),  # room for 10 calls' worst case
        key_entry(limited, rpm=20),
        key_entry(load, budget_usd="100"),
    ]
    with serve(gate) as upstream_url:
        config = gateway_config(upstream_url, ledger_url=pg_url, keys=keys, ledger={"lease_s": 1.5})
        a, b = start_replicas(tmp_path, [config, config])
        try:
            _budget_race(gate, a.base_url, b.base_url, race)
            _rpm_is_global(fake, a.base_url, b.base_url, limited)
            _kill_mid_load(gate, a, b, load, pg_url)
        finally:
            gate.open()
            a.stop()
            b.stop()


def _budget_race(gate: Gate, a: str, b: str, key: str) -> None:
    """100 concurrent calls, half on each replica, on a key whose budget holds 10 worst cases: 10 pass, 90 get 402."""
    gate.close()
    with cf.ThreadPoolExecutor(100) as pool:
        futures = [pool.submit(post, (a, b)[i % 2], key) for i in range(100)]
        gate.wait_arrivals(10)
        # The 90 refusals come back while the 10 admitted calls are still held upstream.
        for refused, done in enumerate(cf.as_completed(futures), 1):
            assert done.result().status_code == 402, done.result().text
            if refused == 90:
                break
        assert gate.arrivals == 10
        gate.open()
        statuses = sorted(f.result().status_code for f in futures)
    assert statuses == [200] * 10 + [402] * 90


def _rpm_is_global(fake: FakeUpstream, a: str, b: str, key: str) -> None:
    """rpm 20 over two replicas: 60 calls alternating between them admit 20 in all, and the bucket is in Redis."""
    before = fake.count(WIRE_MODEL)
    started = time.monotonic()
    with cf.ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda i: post((a, b)[i % 2], key).status_code, range(60)))
    # GCRA refills one request every 3 s (60 s / 20): a slow machine may see that many more, never 20 per replica.
    refilled = int((time.monotonic() - started) / 3.0)
    assert 20 <= codes.count(200) <= 20 + refilled and codes.count(200) + codes.count(429) == 60
    assert fake.count(WIRE_MODEL) - before == codes.count(200)
    assert redis.Redis.from_url(REDIS_URL).exists(f"podium:rl:key:{key}") == 1


def _kill_mid_load(gate: Gate, a, b, key: str, url: str) -> None:  # type: ignore[no-untyped-def]
    for i in range(6):  # answered calls on both replicas
        assert post((a.base_url, b.base_url)[i % 2], key).status_code == 200
    arrived = gate.arrivals
    gate.close()
    with cf.ThreadPoolExecutor(8) as pool:
        on_a = [pool.submit(post, a.base_url, key) for _ in range(4)]
        on_b = [pool.submit(post, b.base_url, key) for _ in range(4)]
        gate.wait_arrivals(arrived + 8)  # all 8 reserved and at the provider
        a.kill()
        gate.open()
        assert [f.result().status_code for f in on_b] == [200] * 4
        for f in on_a:
            with pytest.raises(httpx.TransportError):
                f.result()
    engine = pg_engine(url)
    try:
        calls = sa.table("ledger_calls", sa.column("key"), sa.column("status"), sa.column("cost_usd"),
                         sa.column("reserved_usd"))  # fmt: skip

        def rows() -> list[tuple[str, str, str]]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(
                    sa.select(calls.c.status, calls.c.cost_usd, calls.c.reserved_usd).where(calls.c.key == key)
                )]  # fmt: skip

        # The surviving replica's lease loop notices the dead one and settles its four reservations.
        final = wait_until(lambda: (r := rows()) and all(s != "pending" for s, _, _ in r) and r, 30, "reclaim")
        ok = [Decimal(c) for s, c, _ in final if s == "ok"]
        recovered = [(Decimal(c), Decimal(r)) for s, c, r in final if s == "recovered"]
        assert len(ok) == 10 and ok == [real_cost()] * 10  # answered calls at their real cost, on both replicas
        assert len(recovered) == 4 and all(c == r == worst_case() for c, r in recovered)
        usage = sa.table("ledger_budget_usage", sa.column("scope"), sa.column("scope_id"),
                         sa.column("spent_usd"), sa.column("reserved_usd"))  # fmt: skip
        with engine.connect() as conn:
            spent, reserved = conn.execute(
                sa.select(usage.c.spent_usd, usage.c.reserved_usd).where(usage.c.scope == "key", usage.c.scope_id == key)
            ).one()
        assert Decimal(spent) == 10 * real_cost() + 4 * worst_case()  # exact: nothing lost, nothing twice
        assert Decimal(reserved) == 0
    finally:
        engine.dispose()


def test_response_cache_in_redis_is_shared_by_replicas(tmp_path: Path, redis_ok: None) -> None:  # noqa: F811
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    key = unique("cache")
    prompt = [{"role": "user", "content": f"What is the capital of France? ({key})"}]
    with serve(fake.app) as upstream_url:
        config = gateway_config(upstream_url, ledger_url=None, keys=[key_entry(key)],
                                resilience={"cache": {"enabled": True, "url": REDIS_URL, "ttl_s": 120}})  # fmt: skip
        a, b = start_replicas(tmp_path, [config, config])
        try:
            first = post(a.base_url, key, messages=prompt)
            second = post(b.base_url, key, messages=prompt)
        finally:
            a.stop()
            b.stop()
    assert first.status_code == second.status_code == 200
    assert first.json()["choices"][0]["message"]["content"] == second.json()["choices"][0]["message"]["content"]
    assert fake.count(WIRE_MODEL) == 1  # the second replica answered from the first one's cache entry
