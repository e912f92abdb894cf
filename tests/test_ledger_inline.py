"""SQLite writes the loop awaits run on the loop while the database is free, and go to the writer thread (which
waits for the lock) when another connection holds it: the loop never waits for a lock, and nothing is lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import make_ctx, priced_terminal, sqlite_url

from podium.core.errors import BudgetExceededError
from podium.core.pipeline import compose
from podium.core.types import Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware, Totals, UsageKey

GLOBAL = UsageKey("global", "*", "none")


async def test_an_awaited_write_runs_on_the_loop_when_the_database_is_free(tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url(tmp_path), budgets=[Budget("global", Decimal(1))])
    try:
        assert await ledger._writer.run(lambda tx: threading.get_ident()) == threading.get_ident()
        before = ledger.transactions
        await compose([LedgerMiddleware(ledger)], priced_terminal(Usage(5, 5)))(make_ctx("free-1"))
        assert ledger.transactions - before == 2  # the write-ahead and the settlement, each committed on the loop
        assert ledger.reader.row("free-1")["status"] == "ok"
    finally:
        ledger.close()


async def test_a_locked_database_sends_the_write_to_the_thread_and_the_loop_keeps_running(tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url(tmp_path), budgets=[Budget("global", Decimal(1))])
    other = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None, check_same_thread=False)
    try:
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(Usage(5, 5)))
        await handler(make_ctx("warm-1"))
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        call = asyncio.create_task(handler(make_ctx("locked-1")))
        ticks = 0
        while ticks < 50:  # the loop keeps turning while the reservation waits for the lock on the thread
            await asyncio.sleep(0)
            ticks += 1
        assert not call.done() and ledger.reader.row("locked-1") is None
        other.execute("COMMIT")
        await call
        rows = {r["request_id"]: r for r in ledger.reader.rows()}
        assert rows["locked-1"]["status"] == "ok" and rows["locked-1"]["cost_usd"] == rows["warm-1"]["cost_usd"]
        spent = rows["warm-1"]["cost_usd"] + rows["locked-1"]["cost_usd"]
        assert ledger.reader.totals(GLOBAL) == Totals(spent=spent, reserved=Decimal(0))
    finally:
        other.close()
        ledger.close()


async def test_budget_totals_carried_between_batches_are_reread_after_another_writer_commits(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    budgets = [Budget("global", Decimal(1))]
    first, second = Ledger(url, budgets=budgets), Ledger(url, budgets=budgets)
    other = sqlite3.connect(tmp_path / "ledger.db", isolation_level=None, check_same_thread=False)
    try:
        one = compose([LedgerMiddleware(first)], priced_terminal(Usage(5, 5)))
        two = compose([LedgerMiddleware(second)], priced_terminal(Usage(7, 7)))
        before = first.transactions
        for i in range(3):  # two writers take turns: each must count what the other committed in between
            await one(make_ctx(f"one-{i}"))
            await two(make_ctx(f"two-{i}"))
        assert first.transactions - before == 6  # every write of the first ledger committed on the loop
        spent = sum((r["cost_usd"] for r in first.reader.rows()), Decimal(0))
        assert first.reader.totals(GLOBAL) == Totals(spent=spent, reserved=Decimal(0))
        other.execute("UPDATE ledger_budget_usage SET spent_usd = '1'")  # someone else spends the whole budget
        with pytest.raises(BudgetExceededError):
            await one(make_ctx("one-refused"))
        assert first.reader.totals(GLOBAL) == Totals(spent=Decimal(1), reserved=Decimal(0))
    finally:
        other.close()
        second.close()
        first.close()
