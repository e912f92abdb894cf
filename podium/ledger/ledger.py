"""The cost ledger: reserve the worst case before a call, write it ahead, settle to the real cost after.

Two modes (``ledger.mode``):

* ``shared`` — each reservation is checked and written in a database transaction (SQLite BEGIN IMMEDIATE,
  Postgres SELECT ... FOR UPDATE), so budgets hold across any number of processes sharing the database.
* ``process`` — budget totals live in memory and decide admissions without touching the database; only one
  process may open the database for writing (enforced by a lock), so the in-memory totals are authoritative.
  The write-ahead is a line appended to a journal file (journal.py) rather than a committed row, so a
  reservation costs tens of microseconds; the writer thread writes the rows in batches behind it. Without a
  journal (Postgres with no ``journal_path``, in-memory SQLite, ``journal=False``) it waits for the commit.

In shared mode (and process mode without a journal) the pending row is committed before the call goes upstream.
Settling updates that same row; recovery on start (recovery.py) finalizes whatever a dead process left open.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from concurrent.futures import Future
from contextlib import ExitStack
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Self

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import BudgetExceededError, UnknownPriceError
from podium.core.events import EventSink, discard
from podium.core.money import ZERO
from podium.core.pipeline import CallContext
from podium.core.tokens import estimate_request_tokens, request_token_bound
from podium.core.types import Completion
from podium.ledger import operations as ops
from podium.ledger.alerts import BudgetAlerts
from podium.ledger.budgets import Budget, UsageKey, applicable, call_caps
from podium.ledger.database import create_ledger_engine, run_migrations
from podium.ledger.feedback import Feedback, Verdict, check_note, parse_verdict, store_feedback
from podium.ledger.holds import Hold, report_failure, running_loop, succeeded
from podium.ledger.journal import DEFAULT_MAX_BYTES, Journal
from podium.ledger.leases import LeaseKeeper
from podium.ledger.locks import acquire_mode_lock
from podium.ledger.queries import LedgerReader
from podium.ledger.recovery import journal_file, recover_on_start
from podium.ledger.rows import (
    CANCELLED,
    REFUSED,
    answered_values,
    error_values,
    failed_values,
    pending_row,
)
from podium.ledger.writer import BatchWriter, Op

log = logging.getLogger("podium.ledger")
MODES: tuple[str, ...] = ("shared", "process")


class Ledger:
    """Records every upstream attempt and enforces budgets. Open one per process; ``close()`` when done."""

    def __init__(
        self,
        url: str,
        *,
        budgets: Sequence[Budget] = (),
        mode: str = "shared",
        clock: Clock = SYSTEM_CLOCK,
        emit: EventSink = discard,
        log_text: bool = False,
        batch_max: int = 512,
        busy_timeout_ms: int = 10_000,
        synchronous: str = "normal",
        stale_pending_s: float = 3600.0,
        journal: bool = True,
        journal_path: str | Path | None = None,
        journal_fsync: bool | None = None,
        journal_max_bytes: int = DEFAULT_MAX_BYTES,
        lease_s: float = 30.0,
        reclaim_every_s: float | None = None,
        owner: str | None = None,
    ) -> None:
        """``journal*`` apply to process mode: write ahead to a journal file (default beside a SQLite database;
        Postgres needs ``journal_path``); ``journal_fsync`` None follows ``synchronous`` ("full" fsyncs).

        Shared mode holds reservations under a lease of ``lease_s`` seconds, renewed every ``reclaim_every_s``
        (default a third of it; 0 = only when ``reclaim()`` is called) by a background thread that also settles
        the reservations of replicas whose lease ran out. ``owner`` names this ledger in rows and leases."""
        if mode not in MODES:
            raise ValueError(f"ledger mode {mode!r} is not valid; use one of {', '.join(MODES)}")
        self.mode, self.budgets, self.clock, self.emit, self.log_text = mode, tuple(budgets), clock, emit, log_text
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        self.lease_s = lease_s
        self._totals: dict[UsageKey, ops.Totals] = {}
        self.alerts = BudgetAlerts(emit, clock)
        # A failure part-way (lock busy, journal replay failing) must not leave the lock held or the writer running.
        with ExitStack() as undo:
            self.engine = create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
            undo.callback(self.engine.dispose)
            run_migrations(self.engine, clock.now())
            self._lock = acquire_mode_lock(self.engine, mode)
            undo.callback(self._lock.release)
            self._writer = BatchWriter(self.engine, batch_max=batch_max)
            undo.callback(self._writer.close)
            self.reader = LedgerReader(engine=self.engine)
            path = journal_file(self.engine, journal_path)
            self.recovered = recover_on_start(
                self._writer, mode=mode, journal=path, now=clock.now(), stale_pending_s=stale_pending_s
            )
            self.journal: Journal | None = None
            if mode == "process" and journal and path is not None:
                fsync = synchronous == "full" if journal_fsync is None else journal_fsync
                self.journal = Journal(path, fsync=fsync, max_bytes=journal_max_bytes)
            # Without a journal, the real cost of an answer is written ahead by awaiting its settle (middleware).
            self.settle_ahead = self.journal is None
            self._leases = LeaseKeeper(self._writer, owner=self.owner, clock=clock, lease_s=lease_s,
                                       stale_pending_s=stale_pending_s, shared=mode == "shared")  # fmt: skip
            if mode == "shared":
                self._leases.start(lease_s / 3 if reclaim_every_s is None else reclaim_every_s)
            undo.pop_all()  # opened: close() releases all of it from now on

    def reclaim(self) -> int:
        """Renew this ledger's lease and settle the reservations of dead replicas (pid gone on this host, lease
        expired, or older than ``stale_pending_s``) at their reserved worst case; return how many. Blocking."""
        return self._leases.reclaim()

    # -- reserve -------------------------------------------------------------------------------------------------

    async def reserve(self, ctx: CallContext) -> Hold:
        """Hold the call's worst-case cost on every budget it belongs to and write the pending row.

        Raises BudgetExceededError (a hard budget would be passed) or UnknownPriceError (no price under a hard
        budget); in both cases nothing is held and nothing may be sent upstream.
        """
        now = self.clock.now()
        prompt_tokens = estimate_request_tokens(ctx.request)  # the estimate prices a stream cut mid-way (fail)
        # Hold an upper bound the provider cannot bill past; settling charges the exact cost.
        worst = ctx.model.worst_case_cost(
            request_token_bound(ctx.request), ctx.request.max_tokens, samples=ctx.request.n or 1
        )
        caps = call_caps(self.budgets, ctx.meta)
        pairs = tuple(applicable(self.budgets, ctx.meta, now))
        if worst is None and (any(c.mode == "hard" for c in caps) or any(b.hard for b, _ in pairs)):
            raise UnknownPriceError(ctx.model.id)
        requested = ZERO if worst is None else worst
        for cap in caps:
            if requested > cap.limit_usd:
                self._over(ctx, "call", cap.limit_usd, ops.Totals(), requested, hard=cap.mode == "hard", now=now)
        hold = Hold(ctx.request_id, ctx.attempt, requested, prompt_tokens, pairs)
        row = pending_row(
            ctx,
            reserved=requested,
            keys=hold.keys,
            owner=self.owner,
            now=now,
            log_text=self.log_text or ctx.meta.log_text,
        )
        if self.mode == "process":
            admission = await self._reserve_in_memory(hold, row)
        else:
            admission = await self._write_ahead(hold, partial(ops.reserve, budgets=pairs, requested=requested, row=row))
        if admission.refusal is not None:
            r = admission.refusal
            self._over(ctx, r.key.label, r.budget.limit_usd, r.totals, requested, hard=True, now=now)
        for soft in admission.soft_overs:
            self.alerts.exceeded(soft.key.label, soft.budget.limit_usd, soft.totals, requested, hard=False)
        return hold

    async def _reserve_in_memory(self, hold: Hold, row: dict[str, Any]) -> ops.Admission:
        pairs, requested, keys = hold.budgets, hold.requested, hold.keys
        missing = [k for k in keys if k not in self._totals]
        if missing:
            loaded = await self._writer.run(lambda tx: {k: ops.load_totals(tx, k) for k in missing})
            for k, t in loaded.items():
                self._totals.setdefault(k, t)  # another task may have loaded and used it meanwhile
        admission = self.admit_in_memory(pairs, requested)
        if admission.refusal is not None:
            return admission
        op = partial(ops.reserve, budgets=pairs, requested=requested, row=row, enforce=False)
        try:
            if self.journal is None:
                await self._write_ahead(hold, op)
            else:
                self._journal_ahead(self.journal, hold, row, op)
        except BaseException:
            self._shift(keys, reserved=-requested)
            raise
        return admission

    def _journal_ahead(self, journal: Journal, hold: Hold, row: dict[str, Any], op: Op) -> None:
        """Process mode's write-ahead: a journal line now (no await since the decision), the row in the next batch."""
        journal.reserve(row)
        try:
            hold.written = self._writer.submit(op)
        except BaseException:
            journal.done(hold.request_id, hold.attempt)  # nothing is sent: a checkpoint may drop the line
            raise
        report_failure(hold.written, "write a reservation row")

    async def _write_ahead(self, hold: Hold, op: Op) -> ops.Admission:
        """Commit the pending row. If the caller is cancelled meanwhile, a row that still got written is released."""
        return await self._writer.run(op, on_orphan=partial(self._release_unsent, hold))

    def _release_unsent(self, hold: Hold, admission: ops.Admission) -> None:
        if admission.refusal is not None:
            return
        values = error_values(
            asyncio.CancelledError(), status=CANCELLED, cost=ZERO, usage=None, latency_ms=0.0, now=self.clock.now()
        )
        op = partial(ops.settle, request_id=hold.request_id, attempt=hold.attempt, values=values, cost=ZERO)
        report_failure(self._writer.submit(op), "release a cancelled reservation")

    def admit_in_memory(self, pairs: Sequence[tuple[Budget, UsageKey]], requested: Decimal) -> ops.Admission:
        """The in-process decision: check and hold in one step with no await in between (so atomic in asyncio)."""
        keys = sorted({k for _, k in pairs})
        admission = ops.check(pairs, {k: self._totals[k] for k in keys}, requested)
        if admission.refusal is None:
            self._shift(keys, reserved=requested)
        return admission

    def _shift(self, keys: Sequence[UsageKey], *, reserved: Decimal = ZERO, spent: Decimal = ZERO) -> None:
        for k in keys:
            t = self._totals[k]
            self._totals[k] = ops.Totals(t.spent + spent, max(ZERO, t.reserved + reserved))

    def _over(
        self,
        ctx: CallContext,
        scope: str,
        limit: Decimal,
        totals: ops.Totals,
        requested: Decimal,
        *,
        hard: bool,
        now: datetime,
    ) -> None:
        self.alerts.exceeded(scope, limit, totals, requested, hard=hard)
        if not hard:
            return
        log_text = self.log_text or ctx.meta.log_text
        row = pending_row(ctx, reserved=ZERO, keys=(), owner=self.owner, now=now, log_text=log_text)
        err = BudgetExceededError(
            scope=scope, limit=limit, spent=totals.spent, reserved=totals.reserved, requested=requested,
            model=ctx.model.id,
        )
        row.update(
            status=REFUSED, finished_at=now, cost_usd=ZERO, error_type=type(err).__name__, error_message=str(err)
        )
        report_failure(self._writer.submit(partial(ops.insert_row, row=row)), "record a refused call")
        raise err

    # -- settle --------------------------------------------------------------------------------------------------

    def settle(self, hold: Hold, ctx: CallContext, completion: Completion, latency_ms: float) -> Future[Any]:
        """Finalize the pending row with the answer and move the hold to spend (a cache hit costs nothing)."""
        return self._finish(hold, *answered_values(ctx, completion, latency_ms, self.clock.now(), self.log_text))

    async def settle_durably(self, hold: Hold, ctx: CallContext, completion: Completion, latency_ms: float) -> None:
        """``settle``, returning once the real cost has committed: the write-ahead of an answer's price where there
        is no journal. A cancelled caller does not cancel the write; a failed write is logged (the answer is paid
        for and still goes out)."""
        values, cost = answered_values(ctx, completion, latency_ms, self.clock.now(), self.log_text)
        written = self._writer.enqueue(self._settle_op(hold, values, cost))
        if self.mode == "process":
            self._settled_in_memory(hold, cost)
        try:
            totals = await asyncio.shield(written)
        except Exception as exc:  # noqa: BLE001 - reported as the background writes are
            log.error("ledger could not finalize a ledger row: %s", exc)
            return
        if self.journal is not None and (hold.written is None or succeeded(hold.written)):
            self.journal.done(hold.request_id, hold.attempt)
        if self.mode == "shared" and hold.budgets and self.alerts.due(hold.budgets, totals):
            self.alerts.thresholds(hold.budgets, totals)

    def fail(self, hold: Hold, ctx: CallContext, exc: BaseException, latency_ms: float) -> Future[Any]:
        """Finalize the pending row of an attempt that raised; release the hold, charging only what is known."""
        values, cost = failed_values(ctx, exc, latency_ms, self.clock.now(), prompt_tokens=hold.prompt_tokens)
        return self._finish(hold, values, cost)

    def _settle_op(self, hold: Hold, values: dict[str, Any], cost: Decimal | None) -> Op:
        if hold.settled:
            raise RuntimeError(f"ledger row {hold.request_id}#{hold.attempt} was already settled")
        hold.settled = True
        if self.journal is not None:
            self.journal.settle(hold.request_id, hold.attempt, values)
        return partial(ops.settle, request_id=hold.request_id, attempt=hold.attempt, values=values, cost=cost)

    def _settled_in_memory(self, hold: Hold, cost: Decimal | None) -> None:
        self._shift(hold.keys, reserved=-hold.requested, spent=cost or ZERO)
        self.alerts.thresholds(hold.budgets, self._totals)

    def _finish(self, hold: Hold, values: dict[str, Any], cost: Decimal | None) -> Future[Any]:
        fut = self._writer.submit(self._settle_op(hold, values, cost))
        if self.journal is not None:
            fut.add_done_callback(partial(self._journal_done, hold))
        if self.mode == "process":
            self._settled_in_memory(hold, cost)
            report_failure(fut, "finalize a ledger row")
        else:
            loop = running_loop()

            def done(f: Future[Any]) -> None:
                if f.cancelled() or f.exception() is not None or loop is None or not hold.budgets:
                    return
                if not self.alerts.due(hold.budgets, f.result()):
                    return  # nothing to alert: spare the event loop a cross-thread wake-up per call
                try:
                    loop.call_soon_threadsafe(self.alerts.thresholds, hold.budgets, f.result())
                except RuntimeError:  # the loop has closed since (a script ending): no one is left to alert
                    log.debug("budget alert dropped: event loop closed")

            fut.add_done_callback(done)
            report_failure(fut, "finalize a ledger row")
        return fut

    def _journal_done(self, hold: Hold, fut: Future[Any]) -> None:
        # Both the pending row and its finalization committed: the journal no longer needs the reservation.
        if self.journal is None or not succeeded(fut) or (hold.written is not None and not succeeded(hold.written)):
            return  # a failed write keeps its lines, so the next start writes the row from the journal
        self.journal.done(hold.request_id, hold.attempt)

    # -- misc ----------------------------------------------------------------------------------------------------

    def record_gate(self, request_id: str, attempt: int, outcome: object) -> Future[Any]:
        """Attach a quality-gate outcome (JSON-serializable) to an attempt's row."""
        fut = self._writer.submit(partial(ops.set_gates, request_id=request_id, attempt=attempt, outcome=outcome))
        report_failure(fut, "record a gate outcome")
        return fut

    def submit_feedback(
        self, request_id: str, verdict: Verdict | str | float, *, note: str | None = None, key: str | None = None
    ) -> Future[Feedback]:
        """Queue a verdict (good, bad or a score 0..1) on a call's answer; see ``add_feedback``."""
        parsed, note = parse_verdict(verdict), check_note(note)
        now = self.clock.now()
        return self._writer.submit(
            lambda tx: store_feedback(tx.conn, request_id, parsed, note=note, key=key, now=now,
                                      queued=ops.queued_rows(tx))
        )

    def add_feedback(
        self, request_id: str, verdict: Verdict | str | float, *, note: str | None = None, key: str | None = None
    ) -> Feedback:
        """Rate a call's answer and wait for the commit. A routed call's verdict attaches to the sub-call that
        answered; a repeat replaces the earlier verdict. ``key`` limits it to that virtual key's calls.
        Raises UnknownRequestError for an id the ledger does not hold (for that key)."""
        return self.submit_feedback(request_id, verdict, note=note, key=key).result()

    def feedback_rows(self, **filters: Any) -> list[dict[str, Any]]:
        """Stored feedback (``LedgerReader.feedback_rows``)."""
        return self.reader.feedback_rows(**filters)

    def totals(self, key: UsageKey) -> ops.Totals:
        """Current totals of a usage key (in-process mode: the authoritative in-memory figures)."""
        if self.mode == "process" and key in self._totals:
            return self._totals[key]
        return self.reader.totals(key)

    @property
    def transactions(self) -> int:
        """Write transactions committed so far (fewer than rows written when batching works)."""
        return self._writer.batches

    async def flush(self) -> None:
        """Wait until every queued write has committed (and shrink the journal to what is still in flight)."""
        await self._writer.flush()
        if self.journal is not None:
            self.journal.checkpoint()

    def close(self) -> None:
        """Commit queued writes, release the writer lock and close the database."""
        self._leases.stop()
        self._writer.close()
        if self.journal is not None:
            self.journal.close()  # before the lock goes: the next writer may replay it
        self._lock.release()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
