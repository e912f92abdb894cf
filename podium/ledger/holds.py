"""A reservation (``Hold``) and the small future helpers the ledger's background writes use."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from podium.ledger.budgets import Budget, UsageKey

log = logging.getLogger("podium.ledger")


@dataclass(slots=True)
class Hold:
    """A reservation: what one attempt may cost at worst, held on every budget key it belongs to."""

    request_id: str
    attempt: int
    requested: Decimal
    prompt_tokens: int
    budgets: tuple[tuple[Budget, UsageKey], ...] = ()
    settled: bool = field(default=False)
    written: Future[object] | None = None  # journaled mode: the batched write of the pending row

    @property
    def keys(self) -> tuple[UsageKey, ...]:
        return tuple(sorted({k for _, k in self.budgets}))


def report_failure(fut: Future[Any], what: str) -> None:
    """Log the failure of a write nobody awaits, saying what could not be done."""

    def report(f: Future[Any]) -> None:
        if not f.cancelled() and f.exception() is not None:
            log.error("ledger could not %s: %s", what, f.exception())

    fut.add_done_callback(report)


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def succeeded(fut: Future[Any]) -> bool:
    return fut.done() and not fut.cancelled() and fut.exception() is None
