"""Resilience: retries, rate limits, circuit breakers, response cache, fallbacks, timeouts — as middlewares."""

from __future__ import annotations

from podium.resilience.breaker import BreakerMiddleware, BreakerState, CircuitBreaker
from podium.resilience.cache import CacheMiddleware, request_key
from podium.resilience.cache_store import SQLiteResponseStore
from podium.resilience.fallback import LOCAL_PROVIDERS, FallbackPolicy
from podium.resilience.ratelimit import Bucket, InProcessBackend, RateLimitBackend, RateLimiter, RateLimitMiddleware
from podium.resilience.retry import RetryDecision, RetryMiddleware, RetryPolicy, is_retryable
from podium.resilience.stack import ResilienceStack, build_resilience
from podium.resilience.timeout import TotalTimeoutMiddleware

__all__ = [
    "LOCAL_PROVIDERS",
    "BreakerMiddleware",
    "BreakerState",
    "Bucket",
    "CacheMiddleware",
    "CircuitBreaker",
    "FallbackPolicy",
    "InProcessBackend",
    "RateLimitBackend",
    "RateLimitMiddleware",
    "RateLimiter",
    "ResilienceStack",
    "RetryDecision",
    "RetryMiddleware",
    "RetryPolicy",
    "SQLiteResponseStore",
    "TotalTimeoutMiddleware",
    "build_resilience",
    "is_retryable",
    "request_key",
]
