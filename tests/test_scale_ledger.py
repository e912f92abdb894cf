"""Leases, reservation bounds and the packaging facts the scale-out work depends on (injected clocks, real SQLite)."""

from __future__ import annotations

import asyncio
import sqlite3
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SPEC, SteppingClock, make_ctx, pg_url, priced_terminal, sqlite_url  # noqa: F401
from test_scale_support import redis_ok  # noqa: F401 - fixture

from podium.config import create_default_config
from podium.core.errors import BudgetExceededError
from podium.core.pipeline import CallMeta, compose
from podium.core.tokens import estimate_request_tokens, request_token_bound
from podium.core.types import ChatRequest, Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware, UsageKey

ROOT = Path(__file__).resolve().parent.parent


# -- defect 2: reservations are leases -------------------------------------------------------------------------------


async def test_a_replica_whose_lease_expired_has_its_reservations_settled_by_a_live_one(tmp_path: Path) -> None:
    clock = SteppingClock()
    url = sqlite_url(tmp_path)
    budgets = [Budget("team", Decimal(1), scope_id="eng")]
    # Another host: its pid cannot be checked, only its lease tells whether it is alive.
    other = Ledger(url, clock=clock, budgets=budgets, lease_s=30, reclaim_every_s=0, owner="elsewhere:4242:abc")
    live = Ledger(url, clock=clock, budgets=budgets, lease_s=30, reclaim_every_s=0)
    try:
        ctx = make_ctx("in-flight", meta=CallMeta(team="eng"))
        hold = await other.reserve(ctx)
        await other.flush()
        clock.advance(seconds=20)
        other.reclaim()  # still alive: renews its lease to t+50
        clock.advance(seconds=20)
        assert live.reclaim() == 0  # t+40: the lease holds
        clock.advance(seconds=11)
        assert live.reclaim() == 1  # t+51: expired, so the replica is gone; its hold becomes spend
        row = live.reader.row("in-flight")
        assert (row["status"], row["cost_usd"]) == ("recovered", hold.requested)
        key = UsageKey("team", "eng", "none")
        assert live.reader.totals(key).spent == hold.requested and live.reader.totals(key).reserved == 0
        # The dead replica's late settle changes nothing: the row is final, nothing is charged twice.
        other.settle(hold, ctx, await priced_terminal(Usage(1, 1))(ctx), 5.0)
        await other.flush()
        assert live.reader.totals(key).spent == hold.requested
        assert live.reclaim() == 0
    finally:
        other.close()
        live.close()


async def test_own_reservations_are_never_reclaimed_while_fresh(tmp_path: Path) -> None:
    clock = SteppingClock()
    ledger = Ledger(sqlite_url(tmp_path), clock=clock, lease_s=30, reclaim_every_s=0, stale_pending_s=600)
    try:
        await ledger.reserve(make_ctx("mine"))
        clock.advance(seconds=120)  # long past the lease: but this ledger is alive and owns the row
        assert ledger.reclaim() == 0
        clock.advance(seconds=600)  # past stale_pending_s: no call runs that long
        assert ledger.reclaim() == 1
    finally:
        ledger.close()


# -- defect 4: a hard budget reserves an upper bound ----------------------------------------------------------------


def _billable(request: ChatRequest) -> int:
    """The most prompt tokens a byte-level tokenizer can bill: one per UTF-8 byte, plus OpenAI's chat template."""
    return sum(len(m.text.encode()) + 4 for m in request.messages) + 3


@pytest.mark.parametrize(
    "prompt",
    ["数字" * 50, "0 1 2 3 4 5 6 7 8 9 " * 10, "🙂🙃" * 20, "x=[{'k':(1,2)}];" * 8, "a"],
)
def test_reservation_bound_covers_the_most_a_provider_can_bill(prompt: str) -> None:
    request = ChatRequest.from_prompt(prompt)
    assert request_token_bound(request) >= _billable(request) >= estimate_request_tokens(request) - 4


async def test_hard_budget_is_never_overshot_by_prompts_denser_than_4_chars_a_token(tmp_path: Path) -> None:
    prompt = "数字" * 50  # 100 characters, 300 UTF-8 bytes: the old estimate (chars / 4) reserved 31 tokens
    limit = Decimal("0.002")
    ledger = Ledger(sqlite_url(tmp_path), budgets=[Budget("team", limit, scope_id="eng")])
    try:
        billed = Usage(_billable(ChatRequest.from_prompt(prompt)), 10)
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(billed))
        for i in range(5):
            ctx = make_ctx(f"dense-{i}", meta=CallMeta(team="eng"), prompt=prompt, max_tokens=10)
            try:
                await handler(ctx)
            except BudgetExceededError:
                break
        await ledger.flush()
        spent = ledger.totals(UsageKey("team", "eng", "none")).spent
        assert spent == SPEC.cost(billed) and spent <= limit  # one call fits; the second would pass the limit
    finally:
        ledger.close()


# -- defect 5: sniffio is a dependency -------------------------------------------------------------------------------


def test_sniffio_is_in_the_base_install() -> None:
    # httpcore imports sniffio on every request when it is present and retries the import when it is not.
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.split(">")[0].split("=")[0].strip() == "sniffio" for d in deps)
    import sniffio  # noqa: F401


# -- defect 7: process mode is described by what it does -------------------------------------------------------------


def test_init_template_describes_process_mode_without_claiming_it_is_faster(tmp_path: Path) -> None:
    text = create_default_config(tmp_path / "podium.yaml").read_text()
    block = text[text.index("#   mode: shared") : text.index("#   log_text")]
    prose = " ".join(line.rsplit("# ", 1)[-1].strip() for line in block.splitlines())  # the comments, unwrapped
    assert "(faster)" not in prose and "lower latency" not in prose  # measured: neither holds on SQLite
    assert "no call waits for a database commit" in prose and "no --workers" in prose
    assert "slow to commit or at times locked by another program" in prose  # what it is for
    assert "Not faster on a local SQLite file" in prose


async def test_process_mode_answers_while_the_database_is_locked(tmp_path: Path) -> None:
    """What process mode buys: neither the reservation nor the settle waits for a database commit."""
    db = tmp_path / "ledger.db"
    ledger = Ledger(f"sqlite:///{db}", mode="process", busy_timeout_ms=60_000,
                    budgets=[Budget("team", Decimal(1), scope_id="eng")])  # fmt: skip
    try:
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(Usage(10, 5)))
        await handler(make_ctx("warm", meta=CallMeta(team="eng")))  # loads the budget totals once
        await ledger.flush()
        lock = sqlite3.connect(db, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            done = await asyncio.wait_for(handler(make_ctx("locked", meta=CallMeta(team="eng"))), timeout=30)
        finally:
            lock.rollback()
            lock.close()
        assert done.cost_usd == SPEC.cost(Usage(10, 5))
        await ledger.flush()
        assert ledger.reader.row("locked")["status"] == "ok"
    finally:
        ledger.close()


# -- the cursor fast path keeps SQLAlchemy's conversions -----------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_rows_written_on_the_cursor_path_read_back_exactly(tmp_path: Path, backend: str, request) -> None:  # type: ignore[no-untyped-def]
    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    clock = SteppingClock()
    ledger = Ledger(url, clock=clock, budgets=[Budget("team", Decimal("0.5"), scope_id="eng")], reclaim_every_s=0)
    try:
        ctx = make_ctx("exact-1", meta=CallMeta(team="eng"))
        hold = await ledger.reserve(ctx)
        await ledger.flush()
        row = ledger.reader.row("exact-1")
        assert (row["status"], row["reserved_usd"], row["started_at"]) == ("pending", hold.requested, clock.now())
        assert (row["stream"], row["input_tokens"], row["cost_usd"]) == (False, 0, None)
        completion = await priced_terminal(Usage(1234, 56))(ctx)
        await asyncio.wrap_future(ledger.settle(hold, ctx, completion, 12.5))
        row = ledger.reader.row("exact-1")
        assert (row["status"], row["cost_usd"], row["input_tokens"], row["finished_at"]) == (
            "ok", SPEC.cost(Usage(1234, 56)), 1234, clock.now())
        totals = ledger.reader.totals(UsageKey("team", "eng", "none"))
        assert (totals.spent, totals.reserved) == (SPEC.cost(Usage(1234, 56)), Decimal(0))
    finally:
        ledger.close()


# -- the shared response cache ---------------------------------------------------------------------------------------


async def test_redis_response_store_expires_on_the_injected_clock(redis_ok: None) -> None:  # noqa: F811
    from test_scale_support import REDIS_URL, unique

    from podium.resilience.cache_store import RedisResponseStore, response_store

    assert isinstance(response_store(REDIS_URL, Path("/nonexistent")), RedisResponseStore)
    store = RedisResponseStore(REDIS_URL, prefix=f"podium:test:{unique('cache')}:")
    try:
        await store.put("k", "t:a", {"text": "Paris.", "cost": Decimal("0.5")}, now=1000.0, ttl_s=60)
        hit = await store.get("k", now=1059.0)
        assert hit == {"text": "Paris.", "cost": "0.5", "_created_at": 1000.0}
        assert await store.get("k", now=1060.0) is None  # expired at now + ttl, whatever Redis's own clock says
        assert await store.count() == 1
    finally:
        await store.client.delete(store.prefix + "k")
        await store.aclose()
