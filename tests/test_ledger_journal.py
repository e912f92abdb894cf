"""Process mode's write-ahead journal: crash recovery from journal lines alone, batching, checkpoints, settings."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SPEC, make_ctx, pg_url, priced_terminal, sqlite_url, worst_case  # noqa: F401

from podium.config.ledger import LedgerSettings
from podium.core.pipeline import CallMeta, compose
from podium.core.types import Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware, Totals, UsageKey, build_ledger_middleware
from podium.ledger.journal import JOURNAL_SUFFIX, read_journal

TEAM = UsageKey("team", "eng", "none")
WARM = Usage(100, 20)
PAID = Usage(500, 80)

# The child makes one call that settles, then takes SQLite's write lock on a second connection so the ledger's
# writer thread can commit nothing more, makes a second call, and SIGKILLs itself: at `sent` from inside the
# upstream (the call went out, no answer yet), at `settled` after the ledger settled the answer. Either way only
# the journal knows about the second call: the child prints how many rows the database holds for it.
CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sqlite3, sys
    from decimal import Decimal
    sys.path.insert(0, {tests!r})
    from podium.core.pipeline import CallMeta, compose
    from podium.core.types import Usage
    from podium.ledger import Budget, Ledger, LedgerMiddleware
    from test_ledger_support import make_ctx, priced_terminal

    def die(db):
        rows = db.execute("SELECT count(*) FROM ledger_calls WHERE request_id = 'paid-2'").fetchone()[0]
        print("rows", rows, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        ledger = Ledger({url!r}, budgets=[Budget("team", Decimal("1"), scope_id="eng")], mode="process")
        meta = CallMeta(team="eng")
        warm = compose([LedgerMiddleware(ledger)], priced_terminal(Usage(100, 20)))
        await warm(make_ctx("warm-1", meta=meta))
        await ledger.flush()
        db = sqlite3.connect({path!r}, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # from here on the writer thread waits for this lock
        answer = priced_terminal(Usage(500, 80))

        async def upstream(ctx):
            if {stage!r} == "sent":
                die(db)
            return await answer(ctx)

        handler = compose([LedgerMiddleware(ledger)], upstream)
        await handler(make_ctx("paid-2", meta=meta))
        die(db)

    asyncio.run(main())
    """
)


def run_child(tmp_path: Path, stage: str) -> tuple[str, Path]:
    db = tmp_path / "ledger.db"
    url = sqlite_url(tmp_path)
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent), url=url, path=str(db), stage=stage))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr  # killed by SIGKILL
    assert proc.stdout.strip() == "rows 0"  # the database never got the second call's row
    return url, Path(f"{db}{JOURNAL_SUFFIX}")


@pytest.mark.parametrize("restart_mode", ["process", "shared"])
def test_kill_after_journal_append_before_the_row_is_recovered(tmp_path: Path, restart_mode: str) -> None:
    url, journal = run_child(tmp_path, "sent")
    entries = read_journal(journal)
    assert [(e.reservation["request_id"], e.final) for e in entries] == [("paid-2", None)]

    ledger = Ledger(url, budgets=[Budget("team", Decimal(1), scope_id="eng")], mode=restart_mode)
    try:
        assert ledger.recovered == 1
        reserved = worst_case(make_ctx("x", meta=CallMeta(team="eng")))
        row = ledger.reader.row("paid-2")
        assert (row["status"], row["cost_usd"], row["reserved_usd"]) == ("recovered", reserved, reserved)
        assert (row["team"], row["model"], row["budget_keys"]) == ("eng", SPEC.id, [["team", "eng", "none"]])
        assert ledger.reader.count() == 2  # the warm-up call and the recovered one, each once
        expected = Totals(spent=SPEC.cost(WARM) + reserved, reserved=Decimal(0))
        assert ledger.totals(TEAM) == expected
        assert ledger.reader.totals(TEAM) == expected
        assert journal.stat().st_size == 0  # replayed into the database, then emptied
    finally:
        ledger.close()
    again = Ledger(url, mode=restart_mode)
    try:
        assert again.recovered == 0 and again.reader.count() == 2  # nothing written twice
    finally:
        again.close()


def test_a_journaled_answer_is_recorded_at_its_exact_cost(tmp_path: Path) -> None:
    url, journal = run_child(tmp_path, "settled")
    [entry] = read_journal(journal)
    assert entry.final is not None and entry.final["cost_usd"] == SPEC.cost(PAID)

    ledger = Ledger(url, budgets=[Budget("team", Decimal(1), scope_id="eng")], mode="process")
    try:
        assert ledger.recovered == 1
        row = ledger.reader.row("paid-2")
        # The answer came back before the crash, so the row carries what it really cost, not the worst case.
        assert (row["status"], row["cost_usd"], row["input_tokens"], row["output_tokens"]) == (
            "ok",
            SPEC.cost(PAID),
            500,
            80,
        )
        assert ledger.totals(TEAM) == Totals(spent=SPEC.cost(WARM) + SPEC.cost(PAID), reserved=Decimal(0))
    finally:
        ledger.close()


def park_writer(ledger: Ledger) -> threading.Event:
    """Keep the writer thread busy until the returned event is set, so later writes queue into one batch."""
    parked, release = threading.Event(), threading.Event()
    ledger._writer.submit(lambda tx: (parked.set(), release.wait(10)))
    assert parked.wait(10)
    return release


async def test_reservation_settle_and_gates_in_one_batch(tmp_path: Path) -> None:
    ledger = Ledger(sqlite_url(tmp_path), budgets=[Budget("team", Decimal(1), scope_id="eng")], mode="process")
    try:
        meta = CallMeta(team="eng")
        await compose([LedgerMiddleware(ledger)], priced_terminal(WARM))(make_ctx("warm-1", meta=meta))
        await ledger.flush()
        release = park_writer(ledger)
        before = ledger.transactions
        # The call completes and its gate verdict is recorded (as the engine does once a routed run is over) while
        # the writer is parked: its insert, settle and gate outcome land in one batch.
        await compose([LedgerMiddleware(ledger)], priced_terminal(PAID))(make_ctx("batch-1", meta=meta))
        ledger.record_gate("batch-1", 1, {"passed": True})
        assert ledger.reader.row("batch-1") is None
        release.set()
        await ledger.flush()
        # The parked op's transaction, then ONE holding the row insert, its settlement, its gates and the flush marker.
        assert ledger.transactions - before == 2
        row = ledger.reader.row("batch-1")
        assert (row["status"], row["cost_usd"], row["gates"]) == ("ok", SPEC.cost(PAID), {"passed": True})
        assert ledger.reader.totals(TEAM) == Totals(spent=SPEC.cost(WARM) + SPEC.cost(PAID), reserved=Decimal(0))
    finally:
        ledger.close()


async def test_checkpoint_keeps_only_reservations_in_flight(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    ledger = Ledger(url, budgets=[Budget("global", Decimal(100))], mode="process", journal_max_bytes=4096)
    journal = ledger.journal
    assert journal is not None
    try:
        long_call = await ledger.reserve(make_ctx("long-1"))  # stays in flight through many checkpoints
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(WARM))
        for i in range(60):
            await handler(make_ctx(f"short-{i}"))
        await asyncio.sleep(0)
        await ledger.flush()
        assert journal.checkpoints >= 2
        lines = [json.loads(line) for line in journal.path.read_bytes().splitlines()]
        assert [(kind, fields["request_id"]) for kind, fields in lines] == [("R", "long-1")]
        assert journal.size() == journal.path.stat().st_size < 4096

        ledger.settle(long_call, make_ctx("long-1"), await priced_terminal(WARM)(make_ctx("long-1")), 2.0)
        await ledger.flush()
        assert journal.path.stat().st_size == 0 and journal.pending == 0
        await ledger.reserve(make_ctx("open-1"))  # never settled: the close keeps its line for the next start
    finally:
        ledger.close()
    assert [e.reservation["request_id"] for e in read_journal(journal.path)] == ["open-1"]
    reopened = Ledger(url, mode="process")
    try:
        assert reopened.recovered == 1
        assert reopened.reader.row("open-1")["status"] == "recovered"
        assert reopened.reader.count() == 62
        assert reopened.journal is not None and reopened.journal.path.stat().st_size == 0
    finally:
        reopened.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_torn_line_is_skipped_and_the_rest_replayed(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url(tmp_path) if backend == "sqlite" else request.getfixturevalue("pg_url")
    good = {
        "request_id": "ok-1",
        "attempt": 1,
        "started_at": "2025-06-10T12:00:00+00:00",
        "model": SPEC.id,
        "provider": SPEC.provider,
        "stream": False,
        "reserved_usd": "0.0015",
        "budget_keys": "[]",
        "owner": "elsewhere:1:x",
    }
    journal = tmp_path / f"ledger.db{JOURNAL_SUFFIX}"
    journal.write_text(json.dumps(["R", good]) + '\n["R",{"request_id":"torn-1","att')  # a power cut mid-line
    ledger = Ledger(url, mode="process", journal_path=journal)
    try:
        assert ledger.recovered == 1
        row = ledger.reader.row("ok-1")
        assert (row["status"], row["cost_usd"], row["owner"]) == ("recovered", Decimal("0.0015"), "elsewhere:1:x")
        assert ledger.reader.count() == 1
    finally:
        ledger.close()


def test_journal_settings_reach_the_ledger(tmp_path: Path) -> None:
    def open_with(**fields: object) -> Ledger:
        settings = LedgerSettings(url=sqlite_url(tmp_path), mode="process", **fields)  # type: ignore[arg-type]
        _, ledger = build_ledger_middleware(settings, home=tmp_path)
        assert ledger is not None
        return ledger

    checks = [
        ({}, f"{tmp_path / 'ledger.db'}{JOURNAL_SUFFIX}", False),
        ({"sqlite_synchronous": "full"}, f"{tmp_path / 'ledger.db'}{JOURNAL_SUFFIX}", True),  # power-cut safe
        ({"journal_fsync": True, "journal_path": str(tmp_path / "j.log")}, str(tmp_path / "j.log"), True),
    ]
    for fields, path, fsync in checks:
        ledger = open_with(**fields)
        try:
            assert ledger.journal is not None
            assert (str(ledger.journal.path), ledger.journal.fsync) == (path, fsync)
        finally:
            ledger.close()
    ledger = open_with(journal=False)
    try:
        assert ledger.journal is None  # back to waiting for the committed row
    finally:
        ledger.close()


def test_a_ledger_that_fails_to_open_releases_its_writer_lock(tmp_path: Path) -> None:
    # A journal the replay cannot write (an unknown column) makes opening fail; the process-mode lock taken
    # before the replay must be released, or no ledger could open this database again in this process.
    url = sqlite_url(tmp_path)
    journal = tmp_path / f"ledger.db{JOURNAL_SUFFIX}"
    bad = {"request_id": "r1", "attempt": 1, "reserved_usd": "0", "no_such_column": 1, "budget_keys": "[]"}
    journal.write_text(json.dumps(["R", bad]) + "\n")
    threads = threading.active_count()
    with pytest.raises(Exception, match="no_such_column"):
        Ledger(url, mode="process")
    assert threading.active_count() == threads  # the writer thread was stopped too
    journal.unlink()
    with Ledger(url, mode="process") as ledger:
        assert ledger.reader.count() == 0
