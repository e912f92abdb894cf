"""A bound on one attempt's total time, rate-limit wait included (providers bound connect/read/stream-idle)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from podium.core.errors import UpstreamTimeoutError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, Handler
from podium.core.types import Completion


class TotalTimeoutMiddleware:
    """Cancels the rest of the chain after ``seconds`` and raises UpstreamTimeoutError (retryable).

    ``seconds`` is a number or a function of the model (e.g. its provider's ``total_timeout``; None = no bound).
    This measures event-loop time, not the injected clock: a virtual clock cannot interrupt real I/O.
    """

    def __init__(self, seconds: float | Callable[[ModelSpec], float | None]) -> None:
        self.seconds = seconds

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        limit = self.seconds(ctx.model) if callable(self.seconds) else self.seconds
        if limit is None:
            return await call_next(ctx)
        timer = asyncio.timeout(limit)
        try:
            async with timer:
                return await call_next(ctx)
        except TimeoutError as exc:
            if not timer.expired():
                raise
            raise UpstreamTimeoutError(
                f"{ctx.model.id} did not answer within the total timeout of {limit:g} s; "
                "raise resilience.total_timeout_s or the provider's total_timeout",
                provider=ctx.model.provider,
                model=ctx.model.id,
            ) from exc
