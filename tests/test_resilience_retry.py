"""RetryMiddleware and RetryPolicy: backoff, Retry-After, budgets, non-retryable errors, streams, events."""

from __future__ import annotations

import random

import pytest

from podium.config.resilience import RetrySettings
from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContextWindowExceededError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
)
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta
from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.resilience import RetryMiddleware, RetryPolicy
from podium.testing.clock import FakeClock

MODEL = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")


def _ctx(clock: FakeClock, *, emit=None) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext(ChatRequest.from_prompt("hi"), MODEL, CallMeta(), "req-1", clock=clock, emit=emit)


class Script:
    """Terminal handler: raises or answers from a list, recording each attempt number and its virtual time."""

    def __init__(self, *outcomes: BaseException | str) -> None:
        self.outcomes = list(outcomes)
        self.seen: list[tuple[int, float]] = []

    async def __call__(self, ctx: CallContext) -> Completion:
        self.seen.append((ctx.attempt, ctx.clock.monotonic()))
        item = self.outcomes.pop(0)
        if isinstance(item, BaseException):
            raise item
        return Completion(text=item, model=MODEL.id, provider="openai")


def _err(cls: type, **kw):  # type: ignore[no-untyped-def]
    return cls(f"{cls.__name__} from test", provider="openai", model=MODEL.id, **kw)


def _mw(events: list[Event] | None = None, **settings: float) -> RetryMiddleware:
    policy = RetryPolicy(RetrySettings(**settings), rng=random.Random(7))
    return RetryMiddleware(policy, emit=(events.append if events is not None else lambda e: None))


@pytest.mark.parametrize(
    "error",
    [
        _err(RateLimitError, status=429),
        _err(ServerError, status=503),
        _err(UpstreamTimeoutError),
        _err(UpstreamConnectionError),
        _err(MalformedResponseError, status=200),
    ],
)
async def test_retryable_errors_are_retried_until_success(error: Exception) -> None:
    clock = FakeClock()
    script = Script(error, "ok")
    ctx = _ctx(clock)
    result = await _mw()(ctx, script)
    assert result.text == "ok"
    assert [a for a, _ in script.seen] == [1, 2]
    assert ctx.attempt == 2
    assert ctx.attempt_errors == [(MODEL.id, error)]


@pytest.mark.parametrize(
    "error",
    [
        _err(BadRequestError, status=400),
        _err(AuthenticationError, status=401),
        _err(ContextWindowExceededError, status=400),
        _err(CircuitOpenError),
        RateLimitError("ours", source="podium", provider="openai", model=MODEL.id, retry_after=1.0),
    ],
)
async def test_non_retryable_errors_raise_at_once(error: Exception) -> None:
    clock = FakeClock()
    script = Script(error, "never")
    with pytest.raises(type(error)) as info:
        await _mw()(_ctx(clock), script)
    assert info.value is error
    assert len(script.seen) == 1
    assert clock.sleeps == []


async def test_retry_after_is_a_minimum_delay_on_the_injected_clock() -> None:
    clock = FakeClock()
    script = Script(_err(RateLimitError, status=429, retry_after=2.0), "ok")
    await _mw(base_delay=0.1)(_ctx(clock), script)
    (_, t1), (_, t2) = script.seen
    assert t2 - t1 >= 2.0
    assert clock.sleeps == [2.0]


async def test_backoff_grows_exponentially_within_jitter_and_caps_at_max_delay() -> None:
    clock = FakeClock()
    errors = [_err(ServerError, status=500) for _ in range(5)]
    await _mw(max_attempts=6, base_delay=1.0, max_delay=4.0, jitter=0.5, retry_budget=100)(
        _ctx(clock), Script(*errors, "ok")
    )
    ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(clock.sleeps) == 5
    for slept, ceiling in zip(clock.sleeps, ceilings, strict=True):
        assert ceiling * 0.5 <= slept <= ceiling


async def test_zero_jitter_gives_exact_backoff() -> None:
    clock = FakeClock()
    await _mw(max_attempts=4, base_delay=0.5, jitter=0.0)(_ctx(clock), Script(*[_err(ServerError)] * 3, "ok"))
    assert clock.sleeps == [0.5, 1.0, 2.0]


async def test_max_attempts_stops_and_reraises_the_last_error() -> None:
    clock = FakeClock()
    errors = [_err(ServerError, status=500 + i) for i in range(3)]
    ctx = _ctx(clock)
    with pytest.raises(ServerError) as info:
        await _mw(max_attempts=3, jitter=0.0)(ctx, Script(*errors))
    assert info.value is errors[-1]
    assert [e for _, e in ctx.attempt_errors] == errors
    assert ctx.retry_stop_reason == "max_attempts reached"


async def test_retry_budget_bounds_total_waiting() -> None:
    clock = FakeClock()
    script = Script(_err(ServerError), _err(ServerError), _err(ServerError), "ok")
    ctx = _ctx(clock)
    with pytest.raises(ServerError):
        await _mw(max_attempts=10, base_delay=1.0, jitter=0.0, retry_budget=2.5)(ctx, script)
    assert clock.sleeps == [1.0]  # the next sleep (2.0) would have spent 3.0 > 2.5
    assert ctx.retry_stop_reason == "retry_budget spent"


async def test_retry_after_beyond_budget_gives_up_without_sleeping() -> None:
    clock = FakeClock()
    with pytest.raises(RateLimitError):
        await _mw(retry_budget=5)(_ctx(clock), Script(_err(RateLimitError, retry_after=60.0), "ok"))
    assert clock.sleeps == []


async def test_never_retries_after_chunks_were_streamed() -> None:
    clock = FakeClock()
    received: list[StreamChunk] = []

    async def sink(chunk: StreamChunk) -> None:
        received.append(chunk)

    ctx = _ctx(clock, emit=sink)
    cut = _err(MalformedResponseError)

    async def streams_then_breaks(c: CallContext) -> Completion:
        await c.send(StreamChunk(delta="partial"))
        raise cut

    with pytest.raises(MalformedResponseError) as info:
        await _mw()(ctx, streams_then_breaks)
    assert info.value is cut
    assert [c.delta for c in received] == ["partial"]
    assert clock.sleeps == []


async def test_retry_events_describe_each_retry() -> None:
    clock = FakeClock()
    events: list[Event] = []
    await _mw(events, jitter=0.0, base_delay=0.25)(_ctx(clock), Script(_err(ServerError, status=502), "ok"))
    assert [e.type for e in events] == [EventType.RETRY]
    data = events[0].data
    assert data["model"] == MODEL.id and data["provider"] == "openai"
    assert (data["attempt"], data["next_attempt"], data["delay_s"], data["status"]) == (1, 2, 0.25, 502)
    assert events[0].at == FakeClock().now()  # stamped by the injected clock, before the backoff sleep


async def test_policy_is_reusable_across_concurrent_calls() -> None:
    clock = FakeClock()
    mw = _mw(jitter=0.0)
    a, b = Script(_err(ServerError), "a"), Script(_err(ServerError), _err(ServerError), "b")
    assert (await mw(_ctx(clock), a)).text == "a"
    assert (await mw(_ctx(clock), b)).text == "b"
    assert clock.sleeps == [0.5, 0.5, 1.0]


def test_settings_reject_base_delay_above_max_delay() -> None:
    with pytest.raises(ValueError, match="base_delay"):
        RetrySettings(base_delay=5, max_delay=1)
