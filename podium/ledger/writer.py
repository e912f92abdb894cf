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
from podium.ledger.inline_writer import InlineBatches, inline_capable

log = logging.getLogger("podium.ledger")
T = TypeVar("T")
_STOP = object()


class Tx:
    """One write transaction: its connection, a cache operations share, and work to do just before commit."""

    __slots__ = ("_before_commit", "_cursor", "cache", "conn", "totals")

    def __init__(self, conn: Connection, cursor: Any = None, totals: dict[Any, Any] | None = None) -> None:
        self.conn = conn
        self.cache: dict[Any, Any] = {}
        # Budget totals as this transaction sees them: read (locked) on first use, or carried over from the
        # connection's previous transaction when no other connection has committed since (inline_writer.py).
        self.totals: dict[Any, Any] = {} if totals is None else totals
        self._before_commit: dict[str, Callable[[Tx], None]] = {}
        self._cursor = cursor

    @property
    def cursor(self) -> Any:
        """A DBAPI cursor of the connection, inside its transaction (looked up once: the lookup is a chain of
        SQLAlchemy properties)."""
        if self._cursor is None:
            self._cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self._cursor

    def before_commit(self, name: str, fn: Callable[[Tx], None]) -> None:
        """Run ``fn(tx)`` once before this transaction commits (registering the same name again is a no-op)."""
        self._before_commit.setdefault(name, fn)

    def finish(self) -> None:
        for fn in self._before_commit.values():
            fn(self)


Op = Callable[[Tx], Any]


class LoopWaiter:
    """An asyncio future the writer resolves from its thread: one loop wake-up per batch for all of a batch's
    waiters, where a ``concurrent.futures.Future`` awaited through ``wrap_future`` costs one per operation.
    ``on_orphan(result)`` runs (on the loop) for an operation that committed after its awaiter was cancelled."""

    __slots__ = ("future", "loop", "on_orphan")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_orphan: Callable[[Any], None] | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.on_orphan = on_orphan

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()  # read across threads: once cancelled it stays cancelled


def deliver(outcomes: list[tuple[LoopWaiter, Any, BaseException | None]]) -> None:
    for waiter, result, exc in outcomes:
        fut = waiter.future
        if fut.cancelled():
            if exc is None and waiter.on_orphan is not None:
                waiter.on_orphan(result)
        elif exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)


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
        self._outstanding = 0  # operations queued for the thread and not yet finished (under _lock)
        self._inline = (
            InlineBatches(engine, self._to_thread, self._committed, self._thread_idle) if inline_capable(engine) else None
        )
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _committed(self) -> None:
        self.batches += 1

    def _thread_idle(self) -> bool:
        # Work already queued for the thread commits first (FIFO), so an inline batch waits behind it.
        return self._outstanding == 0

    def _to_thread(self, items: list[tuple[Op, LoopWaiter]]) -> None:
        with self._lock:
            if not self._closed:
                for item in items:
                    self._queue.put(item)
                self._outstanding += len(items)
                return
        closed = RuntimeError("the ledger is closed; open a new Ledger to record more calls")
        deliver([(waiter, None, closed) for _, waiter in items])

    def submit(self, op: Callable[[Tx], T]) -> Future[T]:
        """Queue ``op``; the future resolves after the transaction holding it commits."""
        fut: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the ledger is closed; open a new Ledger to record more calls")
            self._queue.put((op, fut))
            self._outstanding += 1
        return fut

    def enqueue(self, op: Callable[[Tx], T], *, on_orphan: Callable[[T], None] | None = None) -> asyncio.Future[T]:
        """Queue ``op`` from the event loop; the asyncio future resolves after its commit. Cancelled before ``op``
        runs, it never runs; cancelled after, ``on_orphan(result)`` gets what it committed."""
        waiter = LoopWaiter(asyncio.get_running_loop(), on_orphan)
        with self._lock:
            if self._closed:
                raise RuntimeError("the ledger is closed; open a new Ledger to record more calls")
            if self._inline is None or not self._thread_idle():  # queued work commits first (FIFO)
                self._queue.put((op, waiter))
                self._outstanding += 1
                return waiter.future
        self._inline.add((op, waiter))  # SQLite: run on the loop while the database is free (inline_writer.py)
        return waiter.future

    async def run(self, op: Callable[[Tx], T], *, on_orphan: Callable[[T], None] | None = None) -> T:
        """Run ``op`` (on the loop or the writer thread, see ``enqueue``) and wait for its commit."""
        return await self.enqueue(op, on_orphan=on_orphan)

    def call(self, op: Callable[[Tx], T]) -> T:
        """Run ``op`` and block until it commits (for start-up and synchronous callers)."""
        return self.submit(op).result()

    async def flush(self) -> None:
        """Wait until everything submitted so far has committed."""
        if self._inline is not None and self._inline.pending:
            await asyncio.sleep(0)  # let the inline batch queued this iteration run (or move to the thread) first
        await asyncio.wrap_future(self.submit(_noop))

    def close(self) -> None:
        """Commit what is queued, then stop the thread and close the connection."""
        if self._inline is not None:
            self._inline.close()  # queued work goes to the thread, which commits it before it stops
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
            try:
                self._run_batch(batch)
            finally:
                with self._lock:
                    self._outstanding -= len(batch)
            if stop:
                break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = write_connection(self._engine)
        return self._conn

    def _run_batch(self, batch: list[tuple[Op, Future[Any] | LoopWaiter]]) -> None:
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
        self._resolve([(fut, result, None) for (_, fut), result in zip(live, results)])

    def _run_single(self, op: Op, fut: Future[Any] | LoopWaiter) -> None:
        try:
            conn = self._connection()
            with conn.begin():
                tx = Tx(conn)
                result = op(tx)
                tx.finish()
        except Exception as exc:  # noqa: BLE001 - the caller awaiting the future gets whatever failed
            self._reset()
            self._resolve([(fut, None, exc)])
            return
        self.batches += 1
        self._resolve([(fut, result, None)])

    @staticmethod
    def _resolve(outcomes: list[tuple[Future[Any] | LoopWaiter, Any, BaseException | None]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[LoopWaiter, Any, BaseException | None]]] = {}
        for fut, result, exc in outcomes:
            if isinstance(fut, LoopWaiter):
                by_loop.setdefault(fut.loop, []).append((fut, result, exc))
            elif exc is not None:
                fut.set_exception(exc)
            else:
                fut.set_result(result)
        for loop, waiting in by_loop.items():
            try:
                loop.call_soon_threadsafe(deliver, waiting)
            except RuntimeError:  # that loop has closed: nobody is left to wait
                log.debug("ledger results dropped: event loop closed")

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
