"""Retries: tenacity's wait/stop/retry strategies decide, a small middleware loop sleeps on the injected clock.

Why not ``tenacity.AsyncRetrying`` itself: it keeps per-call state in a thread-local, so one instance cannot
serve concurrent asyncio tasks and must be copied per call, which costs ~25 µs on every healthy call (half the
layer's 50 µs budget). The strategies below are plain tenacity objects evaluated on a ``RetryCallState`` only
after a failure, so the healthy path pays nothing, and the sleep is the injected ``Clock.sleep``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tenacity import RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_exponential

from podium.config.resilience import RetrySettings
from podium.core.errors import ProviderError, RateLimitError
from podium.core.events import EventSink, EventType, discard
from podium.core.pipeline import CallContext, Handler
from podium.core.types import Completion
from podium.resilience.signals import emit_event


def is_retryable(exc: BaseException) -> bool:
    """429, 5xx, timeouts, connection errors and malformed answers; never other 4xx or Podium's own limits."""
    if isinstance(exc, RateLimitError) and exc.source == "podium":
        return False  # our limiter already waited as long as configured; the engine falls back instead
    return isinstance(exc, ProviderError) and exc.retryable


class wait_jitter(wait_base):  # lower-case like tenacity's own strategies, which it composes with
    """Scale another wait down by a random fraction up to ``jitter`` (1.0 = AWS 'full jitter')."""

    def __init__(self, inner: wait_base, jitter: float, rng: random.Random) -> None:
        self.inner = inner
        self.jitter = jitter
        self.rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        return self.inner(retry_state) * (1.0 - self.jitter * self.rng.random())


class wait_retry_after(wait_base):
    """Never wait less than the upstream's Retry-After."""

    def __init__(self, inner: wait_base) -> None:
        self.inner = inner

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self.inner(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        return max(delay, float(retry_after)) if retry_after else delay


class stop_when_budget_spent(stop_base):
    """Stop when the next sleep would push the call's total waiting past ``budget`` seconds."""

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.budget


@dataclass(frozen=True, slots=True)
class RetryDecision:
    retry: bool
    delay: float = 0.0
    reason: str = ""


class RetryPolicy:
    """Decides, after a failed attempt, whether and when to try the same model again."""

    def __init__(self, settings: RetrySettings | None = None, *, rng: random.Random | None = None) -> None:
        s = settings or RetrySettings()
        self.settings = s
        self.retry = retry_if_exception(is_retryable)
        backoff = wait_exponential(multiplier=s.base_delay, max=s.max_delay, exp_base=2)
        self.wait = wait_retry_after(wait_jitter(backoff, s.jitter, rng or random.Random()))
        self.stop = stop_after_attempt(s.max_attempts) | stop_when_budget_spent(s.retry_budget)

    def new_state(self) -> RetryCallState:
        return RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]

    def decide(self, state: RetryCallState, error: BaseException) -> RetryDecision:
        """Record ``error`` as the outcome of ``state``'s current attempt and decide what comes next."""
        state.set_exception((type(error), error, error.__traceback__))
        if not self.retry(state):
            return RetryDecision(False, reason="not retryable")
        state.upcoming_sleep = self.wait(state)
        if self.stop(state):
            spent = state.attempt_number >= self.settings.max_attempts
            return RetryDecision(False, state.upcoming_sleep, "max_attempts reached" if spent else "retry_budget spent")
        state.idle_for += state.upcoming_sleep
        state.prepare_for_next_attempt()
        return RetryDecision(True, state.upcoming_sleep, "retryable")


class RetryMiddleware:
    """Re-invokes the rest of the chain with ``ctx.attempt`` incremented, so each attempt is recorded once."""

    def __init__(self, policy: RetryPolicy | None = None, *, emit: EventSink = discard) -> None:
        self.policy = policy or RetryPolicy()
        self.emit = emit

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        state: RetryCallState | None = None
        while True:
            try:
                return await call_next(ctx)
            except ProviderError as exc:
                error: ProviderError = exc
            ctx.attempt_errors.append((ctx.model.id, error))
            if ctx.emitted_chunks > 0:
                raise error  # the caller already holds part of the answer; a retry would duplicate it
            if state is None:
                state = self.policy.new_state()
            decision = self.policy.decide(state, error)
            if not decision.retry:
                ctx.retry_stop_reason = decision.reason
                raise error
            emit_event(self.emit, ctx.clock, EventType.RETRY, ctx.model, **_retry_data(ctx, error, decision))
            await ctx.clock.sleep(decision.delay)
            ctx.attempt += 1


def _retry_data(ctx: CallContext, error: ProviderError, decision: RetryDecision) -> dict[str, Any]:
    return {
        "request_id": ctx.request_id,
        "attempt": ctx.attempt,
        "next_attempt": ctx.attempt + 1,
        "delay_s": decision.delay,
        "error": type(error).__name__,
        "status": error.status,
        "retry_after": error.retry_after,
    }
