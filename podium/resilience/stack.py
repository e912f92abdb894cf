"""Build the resilience middlewares from settings, for the engine to slot the ledger between them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.config.resilience import ResilienceSettings
from podium.core.clock import Clock
from podium.core.events import EventSink
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import Middleware
from podium.resilience.breaker import BreakerMiddleware, CircuitBreaker
from podium.resilience.cache import CacheMiddleware
from podium.resilience.cache_store import response_store
from podium.resilience.fallback import FallbackPolicy
from podium.resilience.ratelimit import InProcessBackend, RateLimitBackend, RateLimiter, RateLimitMiddleware
from podium.resilience.retry import RetryMiddleware, RetryPolicy
from podium.resilience.timeout import TotalTimeoutMiddleware


@dataclass(slots=True)
class ResilienceStack:
    """``middlewares_outer`` go above the ledger (one retry loop per model), ``middlewares_inner`` below it."""

    middlewares_outer: list[Middleware]
    middlewares_inner: list[Middleware]
    fallback: FallbackPolicy
    retry: RetryMiddleware
    breaker: CircuitBreaker | None = None
    limiter: RateLimiter | None = None
    cache: CacheMiddleware | None = None
    _closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close the cache database and the rate-limit backend."""
        for closer in self._closers:
            await closer.aclose()
        self._closers.clear()


def _backend(settings: ResilienceSettings) -> RateLimitBackend:
    if settings.limiter_backend == "redis":
        from podium.resilience.redis_backend import RedisBackend  # needs the optional redis package

        return RedisBackend(settings.redis_url)
    return InProcessBackend()


def build_resilience(
    settings: ResilienceSettings,
    *,
    clock: Clock,
    emit: EventSink,
    home: Path,
    rng: random.Random | None = None,
    local_providers: Iterable[str] = (),
    local_models: Sequence[ModelSpec] = (),
    backend: RateLimitBackend | None = None,
) -> ResilienceStack:
    """Outer: [retry]. Inner: [cache?, breaker?, ratelimit?, total timeout?] in that order, each only if enabled."""
    retry = RetryMiddleware(RetryPolicy(settings.retry, rng=rng), emit=emit)
    stack = ResilienceStack(
        middlewares_outer=[retry],
        middlewares_inner=[],
        fallback=FallbackPolicy(settings.fallback, local_providers=local_providers, local_models=local_models),
        retry=retry,
    )
    if settings.cache.enabled:
        c = settings.cache
        store = response_store(c.url, home)  # redis://: one cache shared by every replica
        stack.cache = CacheMiddleware(store, clock=clock, emit=emit, ttl_s=c.ttl_s, single_flight=c.single_flight,
                                      chunk_chars=c.stream_chunk_chars)  # fmt: skip
        stack.middlewares_inner.append(stack.cache)
        stack._closers.append(stack.cache)
    if settings.breaker.enabled:
        stack.breaker = CircuitBreaker(settings.breaker, clock=clock, emit=emit)
        stack.middlewares_inner.append(BreakerMiddleware(stack.breaker))
    if settings.rate_limiting:
        stack.limiter = RateLimiter(settings.rate_limits, clock=clock, backend=backend or _backend(settings), emit=emit,
                                    max_wait_s=settings.max_wait_s, fail_fast=settings.fail_fast)  # fmt: skip
        stack.middlewares_inner.append(RateLimitMiddleware(stack.limiter))
        stack._closers.append(stack.limiter)
    if settings.total_timeout_s is not None:
        stack.middlewares_inner.append(TotalTimeoutMiddleware(settings.total_timeout_s))
    return stack
