"""Per-attempt metrics as a pipeline middleware: outcome, tokens, cost, latency and time to first token."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from podium.core.pipeline import CallContext, Handler
from podium.core.types import Completion, StreamChunk
from podium.telemetry.call_metrics import PodiumMetrics

log = logging.getLogger("podium.telemetry")


def record_safely(what: str, fn: Callable[[], None]) -> None:
    """Run a metrics update; a metrics bug is logged and never fails the user's call."""
    try:
        fn()
    except Exception:  # observability must not break a call; the error is logged
        log.exception("could not record %s metrics", what)


class MetricsMiddleware:
    """Records every upstream attempt that passes through it into ``PodiumMetrics``."""

    def __init__(self, metrics: PodiumMetrics) -> None:
        self.metrics = metrics

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        model, provider, strategy = ctx.model.id, ctx.model.provider, ctx.meta.strategy
        started = ctx.clock.monotonic()
        original_emit = ctx.emit
        if original_emit is not None:
            ctx.emit = self._timing_emit(ctx, original_emit, started)
        try:
            completion = await call_next(ctx)
        except Exception as exc:
            record = partial(self.metrics.record_error, exc, model=model, provider=provider, strategy=strategy)
            record_safely("error", record)
            raise
        finally:
            ctx.emit = original_emit  # an outer retry must not wrap the wrapper again
        # Prefer the terminal's upstream latency; fall back to what this middleware saw.
        latency_ms = completion.latency_ms if completion.latency_ms > 0 else (ctx.clock.monotonic() - started) * 1000.0
        record_safely(
            "completion",
            lambda: self.metrics.record_completion(
                completion, model=model, provider=provider, strategy=strategy, latency_ms=latency_ms
            ),
        )
        return completion

    def _timing_emit(self, ctx: CallContext, emit: Callable, started: float) -> Callable:
        seen_first = False

        async def timed(chunk: StreamChunk) -> None:
            nonlocal seen_first
            if not seen_first and (chunk.delta or chunk.tool_call_delta):
                seen_first = True
                ttft = ctx.clock.monotonic() - started
                record_safely("ttft", lambda: self.metrics.observe_ttft(ctx.model.id, ttft))
            await emit(chunk)

        return timed
