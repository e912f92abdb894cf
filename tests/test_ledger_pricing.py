"""Each attempt's row holds the exact Decimal cost: streamed, cached-input, reasoning, cache hits and errors."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SPEC, make_ctx, pg_url, priced_terminal, sqlite_url, worst_case  # noqa: F401

from podium.core.errors import ServerError
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import Completion, StreamChunk, Usage
from podium.ledger import Ledger, LedgerMiddleware


async def run_one(ledger: Ledger, terminal, ctx: CallContext) -> Completion:
    completion = await compose([LedgerMiddleware(ledger)], terminal)(ctx)
    await ledger.flush()
    return completion


@pytest.fixture
def ledger(tmp_path: Path):
    led = Ledger(sqlite_url(tmp_path))
    yield led
    led.close()


async def test_streamed_call_is_priced_from_its_streamed_usage(ledger: Ledger) -> None:
    usage = Usage(input_tokens=1200, output_tokens=345)
    got: list[StreamChunk] = []

    async def sink(chunk: StreamChunk) -> None:
        got.append(chunk)

    async def streaming_upstream(ctx: CallContext) -> Completion:
        for word in ("Once ", "upon ", "a time"):
            await ctx.send(StreamChunk(delta=word))
        await ctx.send(StreamChunk(finish_reason="stop", usage=usage))
        # Assembled from the stream and not priced by anyone upstream of the ledger.
        return Completion(text="Once upon a time", model=ctx.model.id, provider="acme", usage=usage)

    ctx = make_ctx("stream-1")
    ctx.emit = sink
    await run_one(ledger, streaming_upstream, ctx)
    row = ledger.reader.row("stream-1")
    assert row["stream"] is True and row["status"] == "ok"
    # 1200 * $3/1M + 345 * $15/1M
    assert row["cost_usd"] == Decimal("0.003600") + Decimal("0.005175") == Decimal("0.008775")
    assert (row["input_tokens"], row["output_tokens"]) == (1200, 345)
    assert len(got) == 4


async def test_cached_input_call_is_priced_at_the_cached_rate(ledger: Ledger) -> None:
    usage = Usage(input_tokens=10_000, cached_input_tokens=8_000, output_tokens=100)
    await run_one(ledger, priced_terminal(usage), make_ctx("cached-1"))
    row = ledger.reader.row("cached-1")
    # 2000 uncached * $3/1M + 8000 cached * $0.30/1M + 100 out * $15/1M
    assert row["cost_usd"] == Decimal("0.0099")
    assert row["cost_usd"] == SPEC.cost(usage)
    assert row["cached_input_tokens"] == 8_000


async def test_reasoning_tokens_are_billed_as_output(ledger: Ledger) -> None:
    usage = Usage(input_tokens=100, output_tokens=2_000, reasoning_tokens=1_500)
    await run_one(ledger, priced_terminal(usage), make_ctx("reason-1", max_tokens=4000))
    row = ledger.reader.row("reason-1")
    assert row["cost_usd"] == Decimal("0.0303")  # 100 * 3/1M + 2000 * 15/1M
    assert row["reasoning_tokens"] == 1_500


async def test_cache_hit_costs_nothing(ledger: Ledger) -> None:
    async def cached(ctx: CallContext) -> Completion:
        return Completion(
            text="hit", model=ctx.model.id, provider="acme", usage=Usage(10, 10), cached=True, cost_usd=Decimal("0.5")
        )

    await run_one(ledger, cached, make_ctx("hit-1"))
    row = ledger.reader.row("hit-1")
    assert (row["status"], row["cost_usd"]) == ("cache_hit", Decimal(0))


async def test_error_releases_the_hold_and_records_the_attempt(tmp_path: Path) -> None:
    from podium.ledger import Budget, UsageKey

    led = Ledger(sqlite_url(tmp_path), budgets=[Budget("key", Decimal(1), scope_id="k1")])
    try:

        async def failing(ctx: CallContext) -> Completion:
            raise ServerError("upstream 503", provider="acme", status=503)

        with pytest.raises(ServerError):
            await run_one(led, failing, make_ctx("err-1", meta=CallMeta(key="k1")))
        await led.flush()
        row = led.reader.row("err-1")
        assert (row["status"], row["error_type"], row["cost_usd"]) == ("error", "ServerError", Decimal(0))
        assert row["reserved_usd"] == worst_case(make_ctx("x"))
        assert led.totals(UsageKey("key", "k1", "none")).reserved == 0
    finally:
        led.close()


async def test_stream_cut_after_chunks_is_charged_an_estimate(ledger: Ledger) -> None:
    async def cut(ctx: CallContext) -> Completion:
        for _ in range(10):
            await ctx.send(StreamChunk(delta="tok"))
        raise ServerError("stream cut", provider="acme")

    async def sink(chunk: StreamChunk) -> None:
        return None

    ctx = make_ctx("cut-1")
    ctx.emit = sink
    with pytest.raises(ServerError):
        await run_one(ledger, cut, ctx)
    await ledger.flush()
    row = ledger.reader.row("cut-1")
    assert row["status"] == "error" and row["output_tokens"] == 10
    assert row["cost_usd"] == SPEC.cost(Usage(row["input_tokens"], 10)) > 0


async def test_cancelled_call_is_finalized(ledger: Ledger) -> None:
    started = asyncio.Event()

    async def hangs(ctx: CallContext) -> Completion:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = asyncio.create_task(compose([LedgerMiddleware(ledger)], hangs)(make_ctx("cancel-1")))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await ledger.flush()
    assert ledger.reader.row("cancel-1")["status"] == "cancelled"


async def test_text_is_stored_only_when_asked(tmp_path: Path) -> None:
    led = Ledger(sqlite_url(tmp_path))
    try:
        await run_one(led, priced_terminal(Usage(5, 5)), make_ctx("quiet"))
        await run_one(led, priced_terminal(Usage(5, 5)), make_ctx("loud", meta=CallMeta(log_text=True)))
        assert led.reader.row("quiet")["prompt"] is None and led.reader.row("quiet")["response"] is None
        loud = led.reader.row("loud")
        assert loud["prompt"] == "Write a haiku about ledgers." and loud["response"] == "ok"
    finally:
        led.close()


async def test_gate_outcome_is_stored_as_json(ledger: Ledger) -> None:
    await run_one(ledger, priced_terminal(Usage(5, 5)), make_ctx("gate-1"))
    ledger.record_gate("gate-1", 1, {"json_valid": True, "score": 0.92, "escalated": False})
    await ledger.flush()
    assert ledger.reader.row("gate-1")["gates"] == {"json_valid": True, "score": 0.92, "escalated": False}


@pytest.mark.postgres
async def test_exact_decimal_round_trip_on_postgres(pg_url: str) -> None:  # noqa: F811
    led = Ledger(pg_url)
    try:
        usage = Usage(input_tokens=7, output_tokens=3, cached_input_tokens=5)
        await run_one(led, priced_terminal(usage), make_ctx("pg-1"))
        row = led.reader.row("pg-1")
        assert row["cost_usd"] == SPEC.cost(usage) == Decimal("0.0000525")
        assert str(row["reserved_usd"]) == str(worst_case(make_ctx("x")))
    finally:
        led.close()


# Only the committed write-ahead awaits the database; process mode's journal appends without an await to cancel.
@pytest.mark.parametrize("mode", ["shared", "process"])
async def test_cancelled_while_reserving_leaves_nothing_held(tmp_path: Path, mode: str) -> None:
    from podium.ledger import Budget, Totals, UsageKey

    led = Ledger(sqlite_url(tmp_path), budgets=[Budget("global", Decimal(1))], mode=mode, journal=False)
    try:
        handler = compose([LedgerMiddleware(led)], priced_terminal(Usage(5, 5)))
        await handler(make_ctx("warm-up"))  # loads the budget's totals, so the next awaits are the write-aheads
        parked, first, stalled, second = (threading.Event() for _ in range(4))
        led._writer.submit(lambda tx: (parked.set(), first.wait(10)))
        await asyncio.to_thread(parked.wait, 10)
        led._writer.submit(lambda tx: (stalled.set(), second.wait(10)))
        tasks = [asyncio.create_task(handler(make_ctx(f"x{i}"))) for i in range(20)]
        await asyncio.sleep(0)  # each task submits its write-ahead behind `second`
        first.set()
        await asyncio.to_thread(stalled.wait, 10)  # that batch has started: the write-aheads are running
        for t in tasks:
            t.cancel()
        second.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        await led.flush()
        await led.flush()  # the releases are queued by the batch that wrote the rows
        rows = led.reader.rows()
        assert all(r["status"] in ("cancelled", "ok") for r in rows)
        spent = sum((r["cost_usd"] for r in rows), Decimal(0))
        assert led.reader.totals(UsageKey("global", "*", "none")) == Totals(spent=spent, reserved=Decimal(0))
        assert led.totals(UsageKey("global", "*", "none")) == Totals(spent=spent, reserved=Decimal(0))
        assert any(r["status"] == "cancelled" for r in rows)
    finally:
        led.close()


async def test_the_row_names_the_model_that_really_answered(ledger: Ledger) -> None:
    async def fallback_upstream(ctx: CallContext) -> Completion:  # a provider-side fallback answered
        return Completion(text="ok", model="other:model-b", provider="other", usage=Usage(5, 5))

    await run_one(ledger, priced_terminal(Usage(5, 5)), make_ctx("same-model"))
    await run_one(ledger, fallback_upstream, make_ctx("fallback"))
    same, fallback = ledger.reader.row("same-model"), ledger.reader.row("fallback")
    assert (same["model"], same["provider"], same["status"]) == (SPEC.id, SPEC.provider, "ok")
    assert (fallback["model"], fallback["provider"], fallback["status"]) == ("other:model-b", "other", "ok")
