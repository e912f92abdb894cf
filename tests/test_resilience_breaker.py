"""CircuitBreaker: LiteLLM cooldown semantics, half-open probes, what counts as a failure."""

from __future__ import annotations

import asyncio

import pytest

from podium.config.resilience import BreakerSettings
from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContentPolicyError,
    RateLimitError,
    ServerError,
    UpstreamTimeoutError,
)
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta
from podium.core.types import ChatRequest, Completion
from podium.resilience import BreakerMiddleware, BreakerState, CircuitBreaker
from podium.testing.clock import FakeClock

A = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")
B = ModelSpec(id="anthropic:claude-haiku-4-5", provider="anthropic", api_model="claude-haiku-4-5")


class Upstream:
    """Terminal handler that counts real calls and answers or raises what it is told."""

    def __init__(self) -> None:
        self.calls = 0
        self.next: BaseException | None = None

    async def __call__(self, ctx: CallContext) -> Completion:
        self.calls += 1
        if self.next is not None:
            raise self.next
        return Completion("ok", ctx.model.id, ctx.model.provider)


def _setup(**settings: object) -> tuple[FakeClock, CircuitBreaker, BreakerMiddleware, Upstream, list[Event]]:
    clock = FakeClock()
    events: list[Event] = []
    breaker = CircuitBreaker(BreakerSettings(**settings), clock=clock, emit=events.append)  # type: ignore[arg-type]
    return clock, breaker, BreakerMiddleware(breaker), Upstream(), events


async def _call(
    mw: BreakerMiddleware, up: Upstream, clock: FakeClock, model: ModelSpec = A
) -> Completion | BaseException:
    try:
        return await mw(CallContext(ChatRequest.from_prompt("q"), model, CallMeta(), "r", clock=clock), up)
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc


def _server_error() -> ServerError:
    return ServerError("boom", provider="openai", model=A.id, status=500)


async def test_429_opens_at_once_for_retry_after_then_half_open_probe_closes() -> None:
    clock, breaker, mw, up, events = _setup(cooldown_s=5)
    up.next = RateLimitError("slow", provider="openai", model=A.id, status=429, retry_after=2.0)
    assert isinstance(await _call(mw, up, clock), RateLimitError)
    assert breaker.state(A) is BreakerState.OPEN
    rejected = await _call(mw, up, clock)
    assert isinstance(rejected, CircuitOpenError) and rejected.retry_after == pytest.approx(2.0)
    assert up.calls == 1  # the rejected call never reached upstream
    clock.advance(1.99)
    assert isinstance(await _call(mw, up, clock), CircuitOpenError)
    clock.advance(0.01)
    assert breaker.state(A) is BreakerState.HALF_OPEN
    up.next = None
    assert isinstance(await _call(mw, up, clock), Completion)
    assert breaker.state(A) is BreakerState.CLOSED
    assert [e.type for e in events] == [EventType.BREAKER_OPEN, EventType.BREAKER_HALF_OPEN, EventType.BREAKER_CLOSED]
    assert events[0].data["cooldown_s"] == 2.0 and events[0].data["cause"] == "RateLimitError"


async def test_consecutive_failures_open_and_failed_probe_reopens() -> None:
    clock, breaker, mw, up, events = _setup(failure_threshold=3, min_calls=100, cooldown_s=10)
    up.next = _server_error()
    for _ in range(3):
        assert isinstance(await _call(mw, up, clock), ServerError)
    assert breaker.state(A) is BreakerState.OPEN and up.calls == 3
    clock.advance(10)
    assert isinstance(await _call(mw, up, clock), ServerError)  # the probe fails
    assert breaker.state(A) is BreakerState.OPEN
    assert isinstance(await _call(mw, up, clock), CircuitOpenError)
    assert breaker.times_opened(A) == 2
    assert [e.type for e in events] == [EventType.BREAKER_OPEN, EventType.BREAKER_HALF_OPEN, EventType.BREAKER_OPEN]


async def test_failure_rate_above_half_with_min_calls_opens() -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=100, min_calls=6, failure_rate=0.5)
    pattern = [True, False, True, False, True]  # 3 of 5 fail, but fewer than min_calls
    for fail in pattern:
        up.next = _server_error() if fail else None
        await _call(mw, up, clock)
    assert breaker.state(A) is BreakerState.CLOSED
    up.next = None
    await _call(mw, up, clock)  # 3 of 6 = 50%: not above the rate
    assert breaker.state(A) is BreakerState.CLOSED
    up.next = _server_error()
    await _call(mw, up, clock)  # 4 of 7 > 50%
    assert breaker.state(A) is BreakerState.OPEN


async def test_old_failures_leave_the_window() -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=100, min_calls=4, window_s=60)
    up.next = _server_error()
    for _ in range(3):
        await _call(mw, up, clock)
    clock.advance(61)
    up.next = None
    for _ in range(3):
        await _call(mw, up, clock)
    up.next = _server_error()
    await _call(mw, up, clock)  # window now holds 3 ok + 1 failure
    assert breaker.state(A) is BreakerState.CLOSED


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("bad", provider="openai", status=400),
        ContentPolicyError("no", provider="openai", status=400),
        RateLimitError("ours", source="podium", provider="openai"),
    ],
)
async def test_request_errors_and_our_own_limits_never_open(error: Exception) -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=1)
    up.next = error
    for _ in range(5):
        assert await _call(mw, up, clock) is error
    assert breaker.state(A) is BreakerState.CLOSED


async def test_auth_errors_count_as_failures() -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=2)
    up.next = AuthenticationError("bad key", provider="openai", status=401)
    await _call(mw, up, clock)
    await _call(mw, up, clock)
    assert breaker.state(A) is BreakerState.OPEN


async def test_breakers_are_per_model() -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=1)
    up.next = UpstreamTimeoutError("slow", provider="openai")
    await _call(mw, up, clock, A)
    up.next = None
    assert isinstance(await _call(mw, up, clock, B), Completion)
    assert (breaker.state(A), breaker.state(B)) == (BreakerState.OPEN, BreakerState.CLOSED)


async def test_half_open_admits_only_the_configured_number_of_probes() -> None:
    clock, breaker, mw, _, _ = _setup(failure_threshold=1, cooldown_s=1, half_open_probes=1)
    breaker.record(A, _server_error(), probe=False)
    clock.advance(1)
    gate = asyncio.Event()
    calls = 0

    async def slow_ok(ctx: CallContext) -> Completion:
        nonlocal calls
        calls += 1
        await gate.wait()
        return Completion("ok", A.id, "openai")

    ctx = CallContext(ChatRequest.from_prompt("q"), A, CallMeta(), "r", clock=clock)
    probe = asyncio.create_task(mw(ctx, slow_ok))
    await asyncio.sleep(0)
    with pytest.raises(CircuitOpenError, match="probe in flight"):
        await mw(ctx, slow_ok)
    gate.set()
    assert (await probe).text == "ok"
    assert calls == 1 and breaker.state(A) is BreakerState.CLOSED


async def test_cancelled_probe_frees_its_slot() -> None:
    clock, breaker, mw, up, _ = _setup(failure_threshold=1, cooldown_s=1)
    breaker.record(A, _server_error(), probe=False)
    clock.advance(1)

    async def hang(ctx: CallContext) -> Completion:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = asyncio.create_task(mw(CallContext(ChatRequest.from_prompt("q"), A, CallMeta(), "r", clock=clock), hang))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(await _call(mw, up, clock), Completion)
    assert breaker.state(A) is BreakerState.CLOSED
