"""Start-up recovery: replay the write-ahead journal, then charge the pending rows of writers that died.

Runs after the writer lock is taken. A journal only ever has one writer (``ledger.mode: process`` holds the lock
exclusively), so whoever holds any lock now knows that writer is gone and may replay its journal. Replaying runs
in one write transaction and skips rows already final, so two processes starting together write each row once.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine

from podium.ledger import operations as ops
from podium.ledger.database import sqlite_path
from podium.ledger.journal import JOURNAL_SUFFIX, discard_journal, read_journal
from podium.ledger.writer import BatchWriter


def journal_file(engine: Engine, journal_path: str | Path | None) -> Path | None:
    """Where the journal lives: ``journal_path``, else beside a SQLite file; None for Postgres or in-memory."""
    if journal_path is not None:
        return Path(journal_path).expanduser()
    db = sqlite_path(engine)
    return None if db is None else Path(f"{db.expanduser()}{JOURNAL_SUFFIX}")


def recover_on_start(
    writer: BatchWriter, *, mode: str, journal: Path | None, now: datetime, stale_pending_s: float
) -> int:
    """Finalize every reservation a dead process left open; return how many rows were written or finalized."""
    count = 0
    if journal is not None:
        entries = read_journal(journal)
        if entries:
            pairs = [(e.reservation, e.final) for e in entries]
            count += writer.call(partial(ops.replay, entries=pairs, now=now))
        discard_journal(journal)  # only after the replay committed: a crash before this replays again, harmlessly
    # In process mode this process is the only writer, so any pending row is an orphan.
    alive = (lambda owner: False) if mode == "process" else owner_alive
    stale_before = now - timedelta(seconds=stale_pending_s)
    count += writer.call(partial(ops.recover, is_alive=alive, stale_before=stale_before, now=now))
    return count


def owner_alive(owner: str) -> bool:
    """Is the process that wrote a pending row still running? Unknown (another host) counts as alive."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
