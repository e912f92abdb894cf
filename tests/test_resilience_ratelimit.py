"""RateLimiter: RPM/TPM buckets per model and provider, waits vs fail-fast, upstream hints, Redis backend."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from podium.config.resilience import RateLimit
from podium.core.errors import RateLimitError, ServerError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta
from podium.core.types import ChatRequest, Completion, Usage
from podium.resilience import InProcessBackend, RateLimiter, RateLimitMiddleware
from podium.resilience.upstream_limits import exhausted_for, parse_reset, upstream_wait
from podium.testing.clock import FakeClock

GROQ = ModelSpec(id="groq:llama-3.1-8b-instant", provider="groq", api_model="llama-3.1-8b-instant", default_rpm=30)
GROQ_BIG = ModelSpec(id="groq:llama-3.3-70b", provider="groq", api_model="llama-3.3-70b")
REQ = ChatRequest.from_prompt("hello there")


def _limiter(clock: FakeClock, limits: dict[str, RateLimit] | None = None, **kw) -> RateLimiter:  # type: ignore[no-untyped-def]
    return RateLimiter(limits, clock=clock, **kw)


async def test_catalog_rpm_allows_a_burst_then_spaces_calls() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(30):
        await limiter.acquire(GROQ, REQ)
    assert clock.sleeps == []
    await limiter.acquire(GROQ, REQ)
    await limiter.acquire(GROQ, REQ)
    assert clock.sleeps == pytest.approx([2.0, 2.0])  # 60 s / 30 rpm


async def test_config_overrides_catalog_default_field_by_field() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ.id: RateLimit(tpm=1000)})
    own, provider = limiter.limit_for(GROQ)
    assert (own.rpm, own.tpm, provider) == (30, 1000, None)


async def test_provider_limit_is_shared_by_its_models() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, {"groq": RateLimit(rpm=2)})
    await limiter.acquire(GROQ, REQ)
    await limiter.acquire(GROQ_BIG, REQ)
    assert clock.sleeps == []
    await limiter.acquire(GROQ_BIG, REQ)
    assert clock.sleeps == pytest.approx([30.0])


async def test_tokens_per_minute_counts_prompt_and_max_tokens_then_settles_actual_usage() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ_BIG.id: RateLimit(tpm=600)})
    big = ChatRequest.from_prompt("x" * 40, max_tokens=290)
    booked = await limiter.acquire(GROQ_BIG, big)
    assert booked == RateLimiter.estimate_tokens(big) > 290
    # Only 100 tokens were really used: the refund leaves room for another large call right away.
    await limiter.settle(GROQ_BIG, booked, 100)
    await limiter.acquire(GROQ_BIG, big)
    assert clock.sleeps == []
    await limiter.acquire(GROQ_BIG, big)
    assert len(clock.sleeps) == 1 and clock.sleeps[0] > 0


async def test_fail_fast_raises_podium_sourced_error_with_retry_after() -> None:
    clock = FakeClock()
    events: list[Event] = []
    limiter = _limiter(clock, {GROQ.id: RateLimit(rpm=1)}, fail_fast=True, emit=events.append)
    await limiter.acquire(GROQ, REQ)
    with pytest.raises(RateLimitError) as info:
        await limiter.acquire(GROQ, REQ)
    err = info.value
    assert err.source == "podium" and err.retry_after == pytest.approx(60.0)
    assert "max_wait_s" in str(err) and GROQ.id in str(err)
    assert [(e.type, e.data["action"]) for e in events] == [(EventType.RATE_LIMITED, "reject")]
    assert clock.sleeps == []


async def test_waits_up_to_max_wait_then_fails() -> None:
    patient, hasty = FakeClock(), FakeClock()
    waits = _limiter(patient, {GROQ.id: RateLimit(rpm=6)}, max_wait_s=15)
    fails = _limiter(hasty, {GROQ.id: RateLimit(rpm=6)}, max_wait_s=5)
    for _ in range(6):
        await waits.acquire(GROQ, REQ)
        await fails.acquire(GROQ, REQ)
    await waits.acquire(GROQ, REQ)  # the 7th needs 10 s: within 15 s
    assert patient.sleeps == pytest.approx([10.0])
    with pytest.raises(RateLimitError) as info:
        await fails.acquire(GROQ, REQ)  # but not within 5 s
    assert info.value.retry_after == pytest.approx(10.0)
    assert hasty.sleeps == []


async def test_backend_books_concurrent_reservations_in_order() -> None:
    backend = InProcessBackend()
    bucket = _limiter(FakeClock(), {GROQ.id: RateLimit(rpm=1)})._plan(GROQ).request_buckets[0]
    waits = [(await backend.reserve([(bucket, 1.0)], [], 0.0, 1000.0)).wait for _ in range(4)]
    assert waits == pytest.approx([0.0, 60.0, 120.0, 180.0])
    refused = await backend.reserve([(bucket, 1.0)], [], 0.0, 200.0)
    assert (refused.admitted, refused.wait, refused.bucket) == (False, pytest.approx(240.0), bucket.key)


async def test_concurrent_waiters_each_sleep_until_their_slot() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ.id: RateLimit(rpm=1)}, max_wait_s=1000)
    await asyncio.gather(*(limiter.acquire(GROQ, REQ) for _ in range(4)))
    # FakeClock lets each sleeper advance time in turn, so three 60 s waits end at the third slot (180 s).
    assert clock.sleeps == pytest.approx([60.0, 60.0, 60.0])
    assert clock.elapsed == pytest.approx(180.0)


async def test_upstream_retry_after_holds_back_the_next_call() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    mw = RateLimitMiddleware(limiter)
    ctx = CallContext(REQ, GROQ_BIG, CallMeta(), "r1", clock=clock)

    async def upstream_429(_: CallContext) -> Completion:
        raise RateLimitError("slow down", provider="groq", model=GROQ_BIG.id, status=429, retry_after=3.0)

    with pytest.raises(RateLimitError):
        await mw(ctx, upstream_429)
    await limiter.acquire(GROQ_BIG, REQ)
    assert clock.sleeps == pytest.approx([3.0])


async def test_exhausted_openai_headers_hold_back_the_next_call() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, max_wait_s=100)
    err = ServerError("x", provider="groq", model=GROQ_BIG.id, status=503,
                      headers={"X-RateLimit-Remaining-Requests": "0", "X-RateLimit-Reset-Requests": "1m30s"})  # fmt: skip
    await limiter.observe_upstream(GROQ_BIG, err)
    await limiter.acquire(GROQ_BIG, REQ)
    assert clock.sleeps == pytest.approx([90.0])


async def test_middleware_settles_tokens_from_usage() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ_BIG.id: RateLimit(tpm=100)})
    mw = RateLimitMiddleware(limiter)

    async def answer(ctx: CallContext) -> Completion:
        return Completion("ok", GROQ_BIG.id, "groq", usage=Usage(input_tokens=60, output_tokens=40))

    await mw(CallContext(REQ, GROQ_BIG, CallMeta(), "r1", clock=clock), answer)
    await mw(CallContext(REQ, GROQ_BIG, CallMeta(), "r2", clock=clock), answer)
    # The first call really used the whole 100-token minute, so the second (9 tokens booked) waits for 9 to refill.
    assert RateLimiter.estimate_tokens(REQ) == 9
    assert clock.sleeps == pytest.approx([5.4])


def test_header_parsing_formats() -> None:
    now = FakeClock().now()
    assert parse_reset("6m0s", now) == 360.0
    assert parse_reset("20ms", now) == pytest.approx(0.02)
    assert parse_reset("1.5", now) == 1.5
    assert parse_reset((now + timedelta(seconds=7)).isoformat().replace("+00:00", "Z"), now) == 7.0
    assert parse_reset("Wed, 01 Jan 2025 00:00:09 GMT", now) == 9.0
    assert parse_reset("soon", now) is None
    anthropic = {"anthropic-ratelimit-tokens-remaining": "0",
                 "anthropic-ratelimit-tokens-reset": (now + timedelta(seconds=12)).isoformat(),
                 "anthropic-ratelimit-requests-remaining": "40",
                 "anthropic-ratelimit-requests-reset": (now + timedelta(seconds=50)).isoformat()}  # fmt: skip
    assert exhausted_for(anthropic, now) == 12.0
    assert upstream_wait({"retry-after-ms": "1500"}, None, now) == 1.5
    assert upstream_wait({"Retry-After": "4"}, 2.0, now) == 4.0
    assert upstream_wait({}, None, now) is None


async def test_in_process_backend_refund_never_overfills() -> None:
    clock = FakeClock()
    backend = InProcessBackend()
    limiter = _limiter(clock, {GROQ_BIG.id: RateLimit(rpm=2)}, backend=backend)
    plan_bucket = limiter._plan(GROQ_BIG).request_buckets[0]
    await backend.adjust(plan_bucket, -50.0, clock.monotonic())  # refund on an empty history
    for _ in range(2):
        await limiter.acquire(GROQ_BIG, REQ)
    await limiter.acquire(GROQ_BIG, REQ)
    assert clock.sleeps == pytest.approx([30.0])


# --- shared backend: the real Redis at 127.0.0.1:6379 -------------------------------------------------------


@pytest.fixture
async def redis_backend():  # type: ignore[no-untyped-def]
    redis_asyncio = pytest.importorskip("redis.asyncio")
    from podium.resilience.redis_backend import RedisBackend

    client = redis_asyncio.Redis(host="127.0.0.1", port=6379)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any connection failure means no Redis here
        await client.aclose()
        pytest.skip(f"no Redis at 127.0.0.1:6379: {exc}")
    prefix = f"podium-test:{uuid.uuid4().hex}:"
    yield RedisBackend(client=client, prefix=prefix), client, prefix
    keys = [k async for k in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.mark.redis
async def test_redis_backend_shares_limits_between_limiters(redis_backend) -> None:  # type: ignore[no-untyped-def]
    backend, client, prefix = redis_backend
    clock = FakeClock()
    limits = {GROQ.id: RateLimit(rpm=2)}
    a = _limiter(clock, limits, backend=backend, max_wait_s=100)
    b = _limiter(clock, limits, backend=backend, max_wait_s=100)  # a second "process"
    await a.acquire(GROQ, REQ)
    await b.acquire(GROQ, REQ)
    assert clock.sleeps == []
    await b.acquire(GROQ, REQ)
    assert clock.sleeps == pytest.approx([30.0], abs=1e-3)
    assert await client.exists(prefix + f"rpm:model:{GROQ.id}") == 1


@pytest.mark.redis
async def test_redis_backend_fail_fast_books_nothing(redis_backend) -> None:  # type: ignore[no-untyped-def]
    backend, _, _ = redis_backend
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ.id: RateLimit(rpm=1)}, backend=backend, fail_fast=True)
    await limiter.acquire(GROQ, REQ)
    for _ in range(3):
        with pytest.raises(RateLimitError) as info:
            await limiter.acquire(GROQ, REQ)
        assert info.value.retry_after == pytest.approx(60.0, abs=1e-3)  # rejections did not push the slot back


@pytest.mark.redis
async def test_redis_backend_upstream_block_and_token_refund(redis_backend) -> None:  # type: ignore[no-untyped-def]
    backend, _, _ = redis_backend
    clock = FakeClock()
    limiter = _limiter(clock, {GROQ_BIG.id: RateLimit(tpm=300)}, backend=backend, max_wait_s=100)
    await limiter.observe_upstream(GROQ_BIG, RateLimitError("429", provider="groq", status=429, retry_after=4.0))
    booked = await limiter.acquire(GROQ_BIG, ChatRequest.from_prompt("hi", max_tokens=280))
    assert clock.sleeps == pytest.approx([4.0], abs=1e-3)
    await limiter.settle(GROQ_BIG, booked, 10)
    await limiter.acquire(GROQ_BIG, ChatRequest.from_prompt("hi", max_tokens=280))
    assert clock.sleeps == pytest.approx([4.0], abs=1e-3)  # the refund made room at once
