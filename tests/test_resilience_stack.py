"""Settings, the build_resilience factory, the composed chain, and the total timeout."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from podium.config.resilience import ResilienceSettings
from podium.core.errors import CircuitOpenError, RateLimitError, ServerError, UpstreamTimeoutError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import ChatRequest, Completion
from podium.resilience import (
    BreakerMiddleware,
    CacheMiddleware,
    RateLimitMiddleware,
    RetryMiddleware,
    TotalTimeoutMiddleware,
    build_resilience,
)
from podium.testing.clock import FakeClock

M = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")


def test_defaults_and_validation() -> None:
    s = ResilienceSettings()
    assert (s.retry.max_attempts, s.breaker.cooldown_s, s.cache.enabled, s.max_wait_s) == (3, 5.0, False, 30.0)
    parsed = ResilienceSettings.model_validate(
        {"rate_limits": {"groq": {"rpm": 30}, "groq:llama-3.1-8b-instant": {"tpm": 6000}}, "fail_fast": True}
    )
    assert parsed.rate_limits["groq"].rpm == 30
    for bad, field in (
        ({"rate_limits": {"groq:": {"rpm": 1}}}, "rate_limits"),
        ({"rate_limits": {"groq": {"rpm": 0}}}, "rpm"),
        ({"limiter_backend": "redis"}, "redis_url"),
        ({"cache": {"url": "postgresql://x"}}, "cache.url"),
        ({"retry": {"jitter": 2}}, "jitter"),
        ({"breaker": {"nope": 1}}, "nope"),
    ):
        with pytest.raises(ValueError, match=field):
            ResilienceSettings.model_validate(bad)


def test_factory_orders_middlewares_and_respects_toggles(tmp_path: Path) -> None:
    full = build_resilience(
        ResilienceSettings(cache={"enabled": True}, total_timeout_s=5), clock=FakeClock(), emit=lambda e: None,
        home=tmp_path,
    )  # fmt: skip
    assert [type(m) for m in full.middlewares_outer] == [RetryMiddleware]
    assert [type(m) for m in full.middlewares_inner] == [
        CacheMiddleware, BreakerMiddleware, RateLimitMiddleware, TotalTimeoutMiddleware
    ]  # fmt: skip
    bare = build_resilience(
        ResilienceSettings(breaker={"enabled": False}, rate_limiting=False), clock=FakeClock(), emit=lambda e: None,
        home=tmp_path,
    )  # fmt: skip
    assert bare.middlewares_inner == [] and bare.breaker is None and bare.limiter is None
    assert not (tmp_path / "cache.db").exists()  # the database opens lazily, on first use


async def test_composed_chain_retries_through_breaker_and_limiter(tmp_path: Path) -> None:
    """429 Retry-After 2 → breaker cools down 2 s, limiter blocks 2 s, retry sleeps ≥2 s, then the probe succeeds."""
    clock = FakeClock()
    events: list[Event] = []
    stack = build_resilience(ResilienceSettings(), clock=clock, emit=events.append, home=tmp_path, rng=random.Random(1))
    times: list[float] = []

    async def upstream(ctx: CallContext) -> Completion:
        times.append(clock.monotonic())
        if len(times) == 1:
            raise RateLimitError("429", provider="openai", model=M.id, status=429, retry_after=2.0)
        return Completion("ok", M.id, "openai")

    handler = compose([*stack.middlewares_outer, *stack.middlewares_inner], upstream)
    ctx = CallContext(ChatRequest.from_prompt("q"), M, CallMeta(), "r", clock=clock)
    assert (await handler(ctx)).text == "ok"
    assert times[1] - times[0] >= 2.0 and ctx.attempt == 2
    kinds = [e.type for e in events]
    assert kinds == [
        EventType.RATE_LIMITED, EventType.BREAKER_OPEN, EventType.RETRY, EventType.BREAKER_HALF_OPEN,
        EventType.BREAKER_CLOSED,
    ]  # fmt: skip
    await stack.aclose()


async def test_open_breaker_fails_fast_without_retry_sleeps(tmp_path: Path) -> None:
    clock = FakeClock()
    stack = build_resilience(ResilienceSettings(breaker={"failure_threshold": 2}, retry={"max_attempts": 5}),
                             clock=clock, emit=lambda e: None, home=tmp_path)  # fmt: skip
    calls = 0

    async def down(ctx: CallContext) -> Completion:
        nonlocal calls
        calls += 1
        raise ServerError("503", provider="openai", model=M.id, status=503)

    handler = compose([*stack.middlewares_outer, *stack.middlewares_inner], down)
    with pytest.raises(CircuitOpenError):
        await handler(CallContext(ChatRequest.from_prompt("q"), M, CallMeta(), "r", clock=clock))
    assert calls == 2 and len(clock.sleeps) == 2  # third attempt rejected by the breaker, not retried further
    await stack.aclose()


async def test_total_timeout_turns_a_hang_into_a_retryable_timeout() -> None:
    async def hang(ctx: CallContext) -> Completion:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    ctx = CallContext(ChatRequest.from_prompt("q"), M, CallMeta(), "r")
    with pytest.raises(UpstreamTimeoutError, match="total timeout of 0.05 s") as info:
        await TotalTimeoutMiddleware(0.05)(ctx, hang)
    assert info.value.retryable and info.value.model == M.id
    assert await TotalTimeoutMiddleware(lambda m: None)(ctx, _ok) is not None


async def test_total_timeout_does_not_swallow_inner_timeouts() -> None:
    async def inner_timeout(ctx: CallContext) -> Completion:
        raise TimeoutError("from a library")

    with pytest.raises(TimeoutError, match="from a library"):
        await TotalTimeoutMiddleware(5)(CallContext(ChatRequest.from_prompt("q"), M, CallMeta(), "r"), inner_timeout)


async def _ok(ctx: CallContext) -> Completion:
    return Completion("ok", M.id, "openai")
