"""SQLite writes the event loop awaits, run on the loop itself while the database is free.

Handing each write to the writer thread and waking the loop with its result costs two thread switches per
operation, several times what a SQLite commit in WAL mode costs (benchmarks/gateway.py: most of the ledger's CPU
per request). So operations queued from the loop in one loop iteration are run right after it, together, in one
``BEGIN IMMEDIATE`` transaction on a connection that never waits for the lock (``busy_timeout=0``). When another
process or the writer thread holds the lock, the thread has work queued (which must commit first), or anything in
the batch fails, nothing is committed here and the batch goes to the writer thread instead, which waits for the
lock as usual and retries failing operations alone.

Budget totals a committed batch wrote are carried into the next batch on this connection when no other connection
(the writer thread's, another process's) has committed since: ``PRAGMA data_version``, read under the write lock,
says so. Then a budget total is read from the database only when someone else may have changed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine

from podium.ledger.database import is_sqlite, write_connection

log = logging.getLogger("podium.ledger")
_MAX_CARRIED = 4096  # budget totals carried between batches (one per usage key in use)


def inline_capable(engine: Engine) -> bool:
    """A SQLite file (an in-memory database is private to each connection, so it must stay on one)."""
    return is_sqlite(engine) and engine.url.database not in (None, "", ":memory:")


class InlineBatches:
    """Runs queued (op, waiter) pairs on the loop thread; ``fallback`` takes a batch that could not run here."""

    def __init__(
        self,
        engine: Engine,
        fallback: Callable[[list[Any]], None],
        on_commit: Callable[[], None],
        thread_idle: Callable[[], bool],
    ) -> None:
        self._engine = engine
        self._fallback = fallback
        self._on_commit = on_commit
        self._thread_idle = thread_idle
        self._conn: Connection | None = None
        self._cursor: Any = None
        self._totals: dict[Any, Any] = {}  # as the last committed batch left them, at data version _version
        self._version: int | None = None
        self._pending: list[Any] = []
        self._closed = False

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def add(self, item: Any) -> None:
        """Queue ``(op, waiter)``; the first item of a loop iteration schedules the batch after it."""
        self._pending.append(item)
        if len(self._pending) == 1:
            item[1].loop.call_soon(self._flush)

    def _flush(self) -> None:
        from podium.ledger.writer import deliver  # writer.py imports this module: a cycle at import time

        batch, self._pending = self._pending, []
        live = [(op, waiter) for op, waiter in batch if not waiter.future.cancelled()]
        if not live:
            return
        if self._closed or not self._thread_idle():
            self._fallback(live)
            return
        try:
            results = self._run(live)
        except Exception as exc:  # noqa: BLE001 - busy (another writer holds the lock) or a failing op
            log.debug("ledger batch handed to the writer thread: %s", exc)
            self._reset()
            self._fallback(live)
            return
        self._on_commit()
        deliver([(waiter, result, None) for (_, waiter), result in zip(live, results)])

    def _run(self, live: list[Any]) -> list[Any]:
        from podium.ledger.writer import Tx

        conn, cursor = self._connection()
        # The transaction is run on the driver connection: SQLAlchemy's begin/commit bookkeeping cost more than
        # the statements. The hot-path operations run on the cursor (fastsql.py); one that goes through
        # SQLAlchemy (a first use of a budget key) fails to begin inside this transaction and is rerun by the
        # thread like any failing batch.
        cursor.execute("BEGIN IMMEDIATE")
        try:
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version or len(self._totals) > _MAX_CARRIED:
                self._totals = {}  # another connection committed: every total is read afresh
            self._version = None  # until this batch commits, the carried totals may hold its uncommitted writes
            tx = Tx(conn, cursor, self._totals)
            results = [op(tx) for op, _ in live]
            tx.finish()
        except BaseException:
            self._totals = {}
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        self._version = version
        return results

    def _connection(self) -> tuple[Connection, Any]:
        """The SQLAlchemy connection and a cursor of its driver connection (looked up once: the lookup is a chain
        of SQLAlchemy properties)."""
        if self._conn is None:
            conn = write_connection(self._engine)
            # Never wait on the loop: the writer thread waits instead. Set on the driver connection, outside any
            # transaction; the connection is discarded, not pooled, when closed (see _reset).
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            self._conn, self._cursor = conn, conn.connection.driver_connection.cursor()
        return self._conn, self._cursor

    def _reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # its busy_timeout=0 must not reach other users of the pool
                self._conn.close()
            except Exception as exc:  # noqa: BLE001 - a broken connection is replaced either way
                log.debug("closing the inline ledger connection failed: %s", exc)
            self._conn = self._cursor = None
        self._totals, self._version = {}, None

    def close(self) -> None:
        """Hand anything still queued to the writer thread and close the connection."""
        self._closed = True
        if self._pending:
            batch, self._pending = self._pending, []
            self._fallback(batch)
        self._reset()
