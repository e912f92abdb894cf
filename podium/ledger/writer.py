"""A dedicated writer thread: database work never runs on the event loop, and writes commit in batches.

Callers submit small functions of a ``Tx`` (the connection plus a per-transaction cache). The thread drains whatever
is queued (up to ``batch_max``) and runs it in ONE transaction, so a burst of concurrent calls costs one commit
(group commit) and each budget total is read and written once per batch, not once per call. If the batch fails,
each operation is retried alone so one bad row cannot sink the others.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from podium.ledger.database import write_connection

log = logging.getLogger("podium.ledger")
T = TypeVar("T")
_STOP = object()


class Tx:
    """One write transaction: its connection, a cache operations share, and work to do just before commit."""

    __slots__ = ("_before_commit", "cache", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.cache: dict[Any, Any] = {}
        self._before_commit: dict[str, Callable[[Tx], None]] = {}

    def before_commit(self, name: str, fn: Callable[[Tx], None]) -> None:
        """Run ``fn(tx)`` once before this transaction commits (registering the same name again is a no-op)."""
        self._before_commit.setdefault(name, fn)

    def finish(self) -> None:
        for fn in self._before_commit.values():
            fn(self)


Op = Callable[[Tx], Any]


class BatchWriter:
    """Owns the write connection; runs submitted operations in batched transactions on its own thread."""

    def __init__(self, engine: Engine, *, batch_max: int = 512, name: str = "podium-ledger-writer") -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: Connection | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.batches = 0  # committed transactions, for benchmarks and tests
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, op: Callable[[Tx], T]) -> Future[T]:
        """Queue ``op``; the future resolves after the transaction holding it commits."""
        fut: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the ledger is closed; open a new Ledger to record more calls")
            self._queue.put((op, fut))
        return fut

    async def run(self, op: Callable[[Tx], T]) -> T:
        """Run ``op`` in the writer thread and wait for its commit without blocking the loop."""
        return await asyncio.wrap_future(self.submit(op))

    def call(self, op: Callable[[Tx], T]) -> T:
        """Run ``op`` and block until it commits (for start-up and synchronous callers)."""
        return self.submit(op).result()

    async def flush(self) -> None:
        """Wait until everything submitted so far has committed."""
        await self.run(_noop)

    def close(self) -> None:
        """Commit what is queued, then stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            stop = False
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)
            self._run_batch(batch)
            if stop:
                break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = write_connection(self._engine)
        return self._conn

    def _run_batch(self, batch: list[tuple[Op, Future[Any]]]) -> None:
        live = [(op, fut) for op, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            conn = self._connection()
            with conn.begin():
                tx = Tx(conn)
                results = [op(tx) for op, _ in live]
                tx.finish()
        except Exception:  # noqa: BLE001 - the batch rolled back as a whole; run each op alone to find the bad one
            self._reset()
            for op, fut in live:
                self._run_single(op, fut)
            return
        self.batches += 1
        for (_, fut), result in zip(live, results):
            fut.set_result(result)

    def _run_single(self, op: Op, fut: Future[Any]) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                tx = Tx(conn)
                result = op(tx)
                tx.finish()
        except Exception as exc:  # noqa: BLE001 - the caller awaiting the future gets whatever failed
            self._reset()
            fut.set_exception(exc)
            return
        self.batches += 1
        fut.set_result(result)

    def _reset(self) -> None:
        # A failed transaction may have left the connection broken (Postgres aborts, dropped sockets): start afresh.
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception as exc:  # noqa: BLE001 - closing a dead connection can fail; we reconnect anyway
                log.debug("closing the ledger write connection failed: %s", exc)
            self._conn = None


def _noop(tx: Tx) -> None:
    return None
