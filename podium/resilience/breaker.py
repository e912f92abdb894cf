"""Circuit breakers per provider+model, with LiteLLM's cooldown semantics as the baseline.

Closed: calls pass; an upstream 429 opens the circuit at once (for Retry-After if given, else ``cooldown_s``),
and so do ``failure_threshold`` consecutive failures or a failure share above ``failure_rate`` once the
window holds ``min_calls`` calls. Open: calls fail with CircuitOpenError without reaching the upstream. After
the cooldown the circuit is half-open: up to ``half_open_probes`` calls go through; a success closes it, a
failure opens it again.

Only the upstream's health counts: 4xx answers about the request itself (bad request, context window, content
policy) prove the provider is up, and Podium's own rate-limit rejections or cancellations count for nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from podium.config.resilience import BreakerSettings
from podium.core.clock import Clock
from podium.core.errors import AuthenticationError, BadRequestError, CircuitOpenError, ProviderError, RateLimitError
from podium.core.events import EventSink, EventType, discard
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, Handler
from podium.core.types import Completion
from podium.resilience.signals import emit_event


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Outcome(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


def classify(exc: BaseException | None) -> Outcome:
    """What a call's result says about the upstream's health."""
    if exc is None:
        return Outcome.SUCCESS
    if isinstance(exc, RateLimitError):
        return Outcome.NEUTRAL if exc.source == "podium" else Outcome.FAILURE
    if isinstance(exc, AuthenticationError):
        return Outcome.FAILURE  # as LiteLLM: a bad key will not fix itself on the next call
    if isinstance(exc, BadRequestError):
        return Outcome.SUCCESS
    if isinstance(exc, CircuitOpenError):
        return Outcome.NEUTRAL
    if isinstance(exc, ProviderError):
        return Outcome.FAILURE
    return Outcome.NEUTRAL


@dataclass(slots=True)
class _Circuit:
    state: BreakerState = BreakerState.CLOSED
    open_until: float = 0.0
    consecutive_failures: int = 0
    window: deque[tuple[float, bool]] = field(default_factory=deque)  # (monotonic time, failed)
    probes: int = 0
    opened: int = 0  # times opened, for stats


class CircuitBreaker:
    """Breaker state for every provider+model this process calls. Sync methods: atomic under asyncio."""

    def __init__(self, settings: BreakerSettings | None = None, *, clock: Clock, emit: EventSink = discard) -> None:
        self.settings = settings or BreakerSettings()
        self.clock = clock
        self.emit = emit
        self._circuits: dict[str, _Circuit] = {}

    def state(self, model: ModelSpec | str) -> BreakerState:
        """The state as a caller would see it now (an expired cooldown reads as half-open)."""
        c = self._circuits.get(model if isinstance(model, str) else model.id)
        if c is None:
            return BreakerState.CLOSED
        if c.state is BreakerState.OPEN and self.clock.monotonic() >= c.open_until:
            return BreakerState.HALF_OPEN
        return c.state

    def times_opened(self, model: ModelSpec | str) -> int:
        c = self._circuits.get(model if isinstance(model, str) else model.id)
        return 0 if c is None else c.opened

    def admit(self, model: ModelSpec) -> bool:
        """Let a call through or raise CircuitOpenError. Returns True when the call is a half-open probe."""
        c = self._circuits.get(model.id)
        if c is None or c.state is BreakerState.CLOSED:
            return False
        now = self.clock.monotonic()
        if c.state is BreakerState.OPEN:
            if now < c.open_until:
                raise self._open_error(model, c.open_until - now)
            c.state, c.probes = BreakerState.HALF_OPEN, 0
            emit_event(self.emit, self.clock, EventType.BREAKER_HALF_OPEN, model)
        if c.probes >= self.settings.half_open_probes:
            raise self._open_error(model, 0.0)
        c.probes += 1
        return True

    def record(self, model: ModelSpec, exc: BaseException | None, *, probe: bool) -> Outcome:
        """Account for one finished call; ``probe`` is what ``admit`` returned for it."""
        outcome = classify(exc)
        c = self._circuits.get(model.id)
        if c is None:
            if outcome is not Outcome.FAILURE:
                return outcome  # healthy models with no history cost no state
            c = self._circuits[model.id] = _Circuit()
        if probe:
            c.probes = max(0, c.probes - 1)
        if outcome is Outcome.NEUTRAL:
            return outcome
        now = self.clock.monotonic()
        if c.state is BreakerState.HALF_OPEN:
            if outcome is Outcome.SUCCESS:
                self._close(model, c)
            else:
                self._open(model, c, now, exc)
            return outcome
        if c.state is BreakerState.OPEN:
            return outcome  # a call admitted before the circuit opened; the cooldown already runs
        self._note(c, now, outcome is Outcome.FAILURE)
        if outcome is Outcome.FAILURE and self._should_open(c, exc):
            self._open(model, c, now, exc)
        return outcome

    def _note(self, c: _Circuit, now: float, failed: bool) -> None:
        c.window.append((now, failed))
        horizon = now - self.settings.window_s
        while c.window and c.window[0][0] < horizon:
            c.window.popleft()
        c.consecutive_failures = c.consecutive_failures + 1 if failed else 0

    def _should_open(self, c: _Circuit, exc: BaseException | None) -> bool:
        s = self.settings
        if isinstance(exc, RateLimitError) and s.open_on_rate_limit:
            return True
        if c.consecutive_failures >= s.failure_threshold:
            return True
        calls = len(c.window)
        failures = sum(1 for _, failed in c.window if failed)
        return calls >= s.min_calls and failures / calls > s.failure_rate

    def _open(self, model: ModelSpec, c: _Circuit, now: float, exc: BaseException | None) -> None:
        retry_after = getattr(exc, "retry_after", None) if isinstance(exc, RateLimitError) else None
        cooldown = float(retry_after) if retry_after else self.settings.cooldown_s
        c.state, c.open_until, c.probes, c.opened = BreakerState.OPEN, now + cooldown, 0, c.opened + 1
        emit_event(self.emit, self.clock, EventType.BREAKER_OPEN, model, cooldown_s=cooldown,
                   cause=type(exc).__name__ if exc else None)  # fmt: skip

    def _close(self, model: ModelSpec, c: _Circuit) -> None:
        c.state, c.consecutive_failures, c.probes = BreakerState.CLOSED, 0, 0
        c.window.clear()
        emit_event(self.emit, self.clock, EventType.BREAKER_CLOSED, model)

    def _open_error(self, model: ModelSpec, remaining: float) -> CircuitOpenError:
        what = f"cooling down for {remaining:.2f} s more" if remaining > 0 else "half-open with its probe in flight"
        return CircuitOpenError(
            f"circuit for {model.id} is open ({what}) after upstream failures; the call was not sent. "
            "Podium falls back to another model when the strategy allows one",
            provider=model.provider,
            model=model.id,
            retry_after=remaining or None,
        )


class BreakerMiddleware:
    """Raises CircuitOpenError without calling upstream while open; feeds every outcome to the breaker."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        probe = self.breaker.admit(ctx.model)
        try:
            completion = await call_next(ctx)
        except BaseException as exc:  # cancellation too: it frees a half-open probe slot and counts as neutral
            self.breaker.record(ctx.model, exc, probe=probe)
            raise
        self.breaker.record(ctx.model, None, probe=probe)
        return completion
