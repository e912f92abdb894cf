"""The ledger as an engine middleware: reserve -> call -> settle, one row per upstream attempt."""

from __future__ import annotations

import asyncio
from pathlib import Path

from podium.config.ledger import LedgerSettings
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.events import EventSink, discard
from podium.core.pipeline import CallContext, Handler
from podium.core.routed import GateVerdicts
from podium.core.types import Completion
from podium.ledger.budgets import budgets_from_settings
from podium.ledger.feedback import Feedback, Verdict
from podium.ledger.ledger import Ledger


class LedgerMiddleware:
    """Reserve the worst case, write the row ahead, call, then settle the row to the real cost.

    On any exception (cancellation included) the hold is released and the row finalized as an error before the
    exception propagates. Settling is handed to the writer thread, so the answer is not delayed by the commit.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        hold = await self.ledger.reserve(ctx)
        started = ctx.clock.monotonic()
        try:
            completion = await call_next(ctx)
        except BaseException as exc:
            self.ledger.fail(hold, ctx, exc, _elapsed_ms(ctx, started))
            raise
        latency = completion.latency_ms or _elapsed_ms(ctx, started)
        if self.ledger.settle_ahead:
            # Write-ahead of the real cost: the answer leaves only once its price is durable, so a crash from here
            # on never charges an answered call at its worst case.
            await self.ledger.settle_durably(hold, ctx, completion, latency)
        else:
            self.ledger.settle(hold, ctx, completion, latency)
        return completion

    def record_gates(self, request_id: str, attempt: int, gates: GateVerdicts) -> None:
        """A strategy's gate verdict on an attempt's answer. It is known only after the answer came back (and this
        attempt's row was settled), so the engine hands it over once the run is over: one update of that row."""
        self.ledger.record_gate(request_id, attempt, gates)


    async def record_feedback(
        self, request_id: str, verdict: Verdict | str | float, *, note: str | None = None, key: str | None = None
    ) -> Feedback:
        """Store a user's verdict on a call's answer (``Ledger.add_feedback``) without blocking the loop."""
        return await asyncio.wrap_future(self.ledger.submit_feedback(request_id, verdict, note=note, key=key))


def _elapsed_ms(ctx: CallContext, started: float) -> float:
    return max(0.0, (ctx.clock.monotonic() - started) * 1000.0)


def build_ledger_middleware(
    settings: LedgerSettings,
    *,
    home: Path,
    clock: Clock = SYSTEM_CLOCK,
    emit: EventSink = discard,
) -> tuple[LedgerMiddleware | None, Ledger | None]:
    """Open the ledger the settings describe and wrap it as a middleware; (None, None) when disabled."""
    if not settings.enabled:
        return None, None
    ledger = Ledger(
        settings.database_url(home),
        budgets=budgets_from_settings(settings),
        mode=settings.mode,
        clock=clock,
        emit=emit,
        log_text=settings.log_text,
        batch_max=settings.batch_max,
        busy_timeout_ms=settings.busy_timeout_ms,
        synchronous=settings.sqlite_synchronous,
        stale_pending_s=settings.stale_pending_s,
        lease_s=settings.lease_s,
        journal=settings.journal,
        journal_path=settings.journal_path,
        journal_fsync=settings.journal_fsync,
    )
    return LedgerMiddleware(ledger), ledger


async def close_ledger(ledger: Ledger) -> None:
    """Close from async code without blocking the loop on the final flush."""
    await asyncio.to_thread(ledger.close)
