"""The cost ledger: reserve the worst case before a call, write it ahead, settle to the real cost after.

Two modes (``ledger.mode``):

* ``shared`` — each reservation is checked and written in a database transaction (SQLite BEGIN IMMEDIATE,
  Postgres SELECT ... FOR UPDATE), so budgets hold across any number of processes sharing the database.
* ``process`` — budget totals live in memory and decide admissions without touching the database; only one
  process may open the database for writing (enforced by a lock), so the in-memory totals are authoritative.

In both modes the pending row is committed before the call goes upstream, and settling updates that same row.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Self

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import BudgetExceededError, UnknownPriceError
from podium.core.events import Event, EventSink, EventType, discard
from podium.core.money import ZERO
from podium.core.pipeline import CallContext
from podium.core.tokens import estimate_request_tokens
from podium.core.types import Completion, Usage
from podium.ledger import operations as ops
from podium.ledger.budgets import Budget, UsageKey, applicable, call_caps
from podium.ledger.database import create_ledger_engine, run_migrations
from podium.ledger.locks import acquire_mode_lock
from podium.ledger.queries import LedgerReader
from podium.ledger.rows import CANCELLED, ERROR, REFUSED, error_values, pending_row, success_values
from podium.ledger.writer import BatchWriter

log = logging.getLogger("podium.ledger")
MODES: tuple[str, ...] = ("shared", "process")


@dataclass(slots=True)
class Hold:
    """A reservation: what one attempt may cost at worst, held on every budget key it belongs to."""

    request_id: str
    attempt: int
    requested: Decimal
    prompt_tokens: int
    budgets: tuple[tuple[Budget, UsageKey], ...] = ()
    settled: bool = field(default=False)

    @property
    def keys(self) -> tuple[UsageKey, ...]:
        return tuple(sorted({k for _, k in self.budgets}))


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
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"ledger mode {mode!r} is not valid; use one of {', '.join(MODES)}")
        self.mode = mode
        self.budgets = tuple(budgets)
        self.clock = clock
        self.emit = emit
        self.log_text = log_text
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        self.engine = create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
        run_migrations(self.engine, clock.now())
        self._lock = acquire_mode_lock(self.engine, mode)
        self._writer = BatchWriter(self.engine, batch_max=batch_max)
        self.reader = LedgerReader(engine=self.engine)
        self._totals: dict[UsageKey, ops.Totals] = {}
        self._alerted: set[tuple[Budget, UsageKey]] = set()
        now = clock.now()
        alive = (lambda owner: False) if mode == "process" else _owner_alive
        stale_before = now - timedelta(seconds=stale_pending_s)
        self.recovered = self._writer.call(partial(ops.recover, is_alive=alive, stale_before=stale_before, now=now))

    # -- reserve -------------------------------------------------------------------------------------------------

    async def reserve(self, ctx: CallContext) -> Hold:
        """Hold the call's worst-case cost on every budget it belongs to and write the pending row.

        Raises BudgetExceededError (a hard budget would be passed) or UnknownPriceError (no price under a hard
        budget); in both cases nothing is held and nothing may be sent upstream.
        """
        now = self.clock.now()
        prompt_tokens = estimate_request_tokens(ctx.request)
        worst = ctx.model.worst_case_cost(prompt_tokens, ctx.request.max_tokens)
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
            self._event(
                EventType.BUDGET_EXCEEDED,
                soft.key.label,
                soft.budget.limit_usd,
                soft.totals,
                requested,
                mode="soft",
                admitted=True,
            )
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
        try:
            await self._write_ahead(
                hold, partial(ops.reserve, budgets=pairs, requested=requested, row=row, enforce=False)
            )
        except BaseException:
            self._shift(keys, reserved=-requested)
            raise
        return admission

    async def _write_ahead(self, hold: Hold, op: Any) -> ops.Admission:
        """Commit the pending row. If the caller is cancelled meanwhile, a row that still got written is released."""
        fut = self._writer.submit(op)
        try:
            return await asyncio.wrap_future(fut)
        except asyncio.CancelledError:
            if not fut.cancelled():  # already running in the writer: undo it once it lands
                fut.add_done_callback(partial(self._release_unsent, hold))
            raise

    def _release_unsent(self, hold: Hold, fut: Future[Any]) -> None:
        if fut.cancelled() or fut.exception() is not None or fut.result().refusal is not None:
            return
        values = error_values(
            asyncio.CancelledError(), status=CANCELLED, cost=ZERO, usage=None, latency_ms=0.0, now=self.clock.now()
        )
        op = partial(ops.settle, request_id=hold.request_id, attempt=hold.attempt, values=values, cost=ZERO)
        self._background(self._writer.submit(op), "release a cancelled reservation")

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
        now: Any,
    ) -> None:
        self._event(
            EventType.BUDGET_EXCEEDED,
            scope,
            limit,
            totals,
            requested,
            mode="hard" if hard else "soft",
            admitted=not hard,
        )
        if not hard:
            return
        row = pending_row(ctx, reserved=ZERO, keys=(), owner=self.owner, now=now, log_text=self.log_text)
        err = BudgetExceededError(
            scope=scope, limit=limit, spent=totals.spent, reserved=totals.reserved, requested=requested
        )
        row.update(
            status=REFUSED, finished_at=now, cost_usd=ZERO, error_type=type(err).__name__, error_message=str(err)
        )
        self._background(self._writer.submit(partial(ops.insert_row, row=row)), "record a refused call")
        raise err

    # -- settle --------------------------------------------------------------------------------------------------

    def settle(self, hold: Hold, ctx: CallContext, completion: Completion, latency_ms: float) -> Future[Any]:
        """Finalize the pending row with the answer and move the hold to spend (a cache hit costs nothing)."""
        if completion.cached:
            cost: Decimal | None = ZERO
        elif completion.cost_usd is not None:
            cost = completion.cost_usd
        else:
            cost = ctx.model.cost(completion.usage)  # an unpriced completion: price it from the catalog entry
        values = success_values(
            ctx,
            completion,
            cost=cost,
            latency_ms=latency_ms,
            now=self.clock.now(),
            log_text=self.log_text or ctx.meta.log_text,
        )
        return self._finish(hold, values, cost)

    def fail(self, hold: Hold, ctx: CallContext, exc: BaseException, latency_ms: float) -> Future[Any]:
        """Finalize the pending row of an attempt that raised; release the hold, charging only what is known."""
        usage = getattr(exc, "usage", None)
        if not isinstance(usage, Usage) and ctx.emitted_chunks > 0:
            # A stream cut after it began was billed upstream: estimate roughly one token per chunk sent.
            usage = Usage(input_tokens=hold.prompt_tokens, output_tokens=ctx.emitted_chunks)
        cost = (ctx.model.cost(usage) or ZERO) if isinstance(usage, Usage) else ZERO
        status = CANCELLED if isinstance(exc, asyncio.CancelledError) else ERROR
        values = error_values(
            exc,
            status=status,
            cost=cost,
            usage=usage if isinstance(usage, Usage) else None,
            latency_ms=latency_ms,
            now=self.clock.now(),
        )
        return self._finish(hold, values, cost)

    def _finish(self, hold: Hold, values: dict[str, Any], cost: Decimal | None) -> Future[Any]:
        if hold.settled:
            raise RuntimeError(f"ledger row {hold.request_id}#{hold.attempt} was already settled")
        hold.settled = True
        fut = self._writer.submit(
            partial(ops.settle, request_id=hold.request_id, attempt=hold.attempt, values=values, cost=cost)
        )
        if self.mode == "process":
            self._shift(hold.keys, reserved=-hold.requested, spent=cost or ZERO)
            self._alerts(hold, self._totals)
            self._background(fut, "finalize a ledger row")
        else:
            loop = _running_loop()

            def done(f: Future[Any]) -> None:
                if f.cancelled() or f.exception() is not None or loop is None or not hold.budgets:
                    return
                try:
                    loop.call_soon_threadsafe(self._alerts, hold, f.result())
                except RuntimeError:  # the loop has closed since (a script ending): no one is left to alert
                    log.debug("budget alert dropped: event loop closed")

            fut.add_done_callback(done)
            self._background(fut, "finalize a ledger row")
        return fut

    def _alerts(self, hold: Hold, totals: dict[UsageKey, ops.Totals]) -> None:
        for budget, key in hold.budgets:
            t = totals.get(key)
            if t is None or budget.limit_usd <= 0 or (budget, key) in self._alerted:
                continue
            if t.spent >= budget.alert_threshold * budget.limit_usd:
                self._alerted.add((budget, key))
                self._event(
                    EventType.BUDGET_WARNING,
                    key.label,
                    budget.limit_usd,
                    t,
                    ZERO,
                    mode=budget.mode,
                    ratio=float(t.spent / budget.limit_usd),
                    threshold=float(budget.alert_threshold),
                )

    def _event(
        self, kind: EventType, scope: str, limit: Decimal, totals: ops.Totals, requested: Decimal, **extra: Any
    ) -> None:
        data = {
            "phase": scope,
            "scope": scope,
            "limit_usd": str(limit),
            "spent_usd": str(totals.spent),
            "reserved_usd": str(totals.reserved),
            "requested_usd": str(requested),
            **extra,
        }
        try:
            self.emit(Event(kind, data, self.clock.now()))
        except Exception:  # a broken hook must not lose the ledger row or the budget decision
            log.exception("budget event hook failed")

    @staticmethod
    def _background(fut: Future[Any], what: str) -> None:
        def report(f: Future[Any]) -> None:
            if not f.cancelled() and f.exception() is not None:
                log.error("ledger could not %s: %s", what, f.exception())

        fut.add_done_callback(report)

    # -- misc ----------------------------------------------------------------------------------------------------

    def record_gate(self, request_id: str, attempt: int, outcome: Any) -> Future[Any]:
        """Attach a quality-gate outcome (JSON-serializable) to an attempt's row."""
        fut = self._writer.submit(partial(ops.set_gates, request_id=request_id, attempt=attempt, outcome=outcome))
        self._background(fut, "record a gate outcome")
        return fut

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
        """Wait until every queued write has committed."""
        await self._writer.flush()

    def close(self) -> None:
        """Commit queued writes, release the writer lock and close the database."""
        self._writer.close()
        self._lock.release()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _owner_alive(owner: str) -> bool:
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
