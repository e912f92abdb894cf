"""SQLite writes the loop awaits run on the loop while the database is free, and go to the writer thread (which
waits for the lock) when another connection holds it: the loop never waits for a lock, and nothing is lost."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

from test_ledger_support import make_ctx, priced_terminal, sqlite_url

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
