"""Rate limits per model and per provider (requests/min, tokens/min) as GCRA buckets on the injected clock.

GCRA keeps one number per bucket, the theoretical arrival time (TAT), so a backend can be a dict or a Redis
key updated by one Lua script. A call reserves every bucket it needs at once: the backend computes the
earliest instant all of them admit it, and either books that instant (the call then sleeps until it) or, if
it is further away than ``max_wait_s``, books nothing and the call fails fast with
``RateLimitError(source="podium")``. Booking before sleeping keeps waiters in arrival order without polling.

Why not the ``limits`` library: its storages read ``time.time()`` themselves (no injected clock) and only
answer "allowed now?", not "when", so waiting would need polling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from podium.config.resilience import RateLimit, ResilienceSettings
from podium.core.clock import Clock
from podium.core.errors import ProviderError, RateLimitError
from podium.core.events import EventSink, EventType, discard
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, Handler
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest, Completion
from podium.resilience.signals import emit_event
from podium.resilience.upstream_limits import upstream_wait

PERIOD_S = 60.0


@dataclass(frozen=True, slots=True)
class Bucket:
    """One limit: ``limit`` units per ``period`` seconds, with a burst of up to ``limit`` units."""

    key: str
    limit: int
    label: str  # "rpm" or "tpm", for messages
    period: float = PERIOD_S

    @property
    def interval(self) -> float:
        """Seconds one unit occupies."""
        return self.period / self.limit


@dataclass(frozen=True, slots=True)
class Reservation:
    admitted: bool
    wait: float  # seconds until admitted (booked when admitted, only informative otherwise)
    bucket: str | None = None  # the key that set the wait, for messages


class RateLimitBackend(Protocol):
    """Where bucket state lives. ``shared`` backends take wall-clock seconds so several processes agree."""

    shared: bool

    async def reserve(
        self, buckets: Sequence[tuple[Bucket, float]], block_keys: Sequence[str], now: float, max_wait: float
    ) -> Reservation: ...

    async def block(self, key: str, until: float, now: float) -> None: ...

    async def adjust(self, bucket: Bucket, units: float, now: float) -> None: ...

    async def aclose(self) -> None: ...


class InProcessBackend:
    """Bucket state in this process's memory. Every method runs without awaiting, so it is atomic in asyncio."""

    shared = False

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._blocked: dict[str, float] = {}

    async def reserve(
        self, buckets: Sequence[tuple[Bucket, float]], block_keys: Sequence[str], now: float, max_wait: float
    ) -> Reservation:
        admit_at, culprit = now, None
        for key in block_keys:
            until = self._blocked.get(key, 0.0)
            if until > admit_at:
                admit_at, culprit = until, key
        for bucket, units in buckets:
            allowed = self._tat.get(bucket.key, now) + units * bucket.interval - bucket.period
            if allowed > admit_at:
                admit_at, culprit = allowed, bucket.key
        wait = admit_at - now
        if wait > max_wait:
            return Reservation(False, wait, culprit)
        for bucket, units in buckets:
            self._tat[bucket.key] = max(self._tat.get(bucket.key, now), admit_at) + units * bucket.interval
        return Reservation(True, wait, culprit)

    async def block(self, key: str, until: float, now: float) -> None:
        if until > self._blocked.get(key, 0.0):
            self._blocked[key] = until

    async def adjust(self, bucket: Bucket, units: float, now: float) -> None:
        tat = self._tat.get(bucket.key, now)
        if units >= 0:
            self._tat[bucket.key] = max(tat, now) + units * bucket.interval
        else:
            self._tat[bucket.key] = max(tat + units * bucket.interval, now)

    async def aclose(self) -> None:
        self._tat.clear()
        self._blocked.clear()


def backend_for(settings: ResilienceSettings) -> RateLimitBackend:
    """The backend ``limiter_backend`` names: Redis (shared by every process and replica) or this process's memory."""
    if settings.limiter_backend == "redis":
        from podium.resilience.redis_backend import RedisBackend  # needs the optional redis package

        return RedisBackend(settings.redis_url)
    return InProcessBackend()


@dataclass(frozen=True, slots=True)
class _Plan:
    request_buckets: tuple[Bucket, ...]
    token_buckets: tuple[Bucket, ...]
    block_keys: tuple[str, ...]


class RateLimiter:
    """Admits calls under per-model and per-provider RPM/TPM limits; learns from upstream 429s and headers.

    Model limits come from ``limits[model.id]`` field by field over the catalog's ``default_rpm``/``default_tpm``;
    provider limits from ``limits[model.provider]``.
    """

    def __init__(
        self,
        limits: Mapping[str, RateLimit] | None = None,
        *,
        clock: Clock,
        backend: RateLimitBackend | None = None,
        emit: EventSink = discard,
        max_wait_s: float = 30.0,
        fail_fast: bool = False,
    ) -> None:
        self.limits = dict(limits or {})
        self.clock = clock
        self.backend: RateLimitBackend = backend or InProcessBackend()
        self.emit = emit
        self.max_wait_s = 0.0 if fail_fast else max_wait_s
        self._plans: dict[str, _Plan] = {}

    def limit_for(self, model: ModelSpec) -> tuple[RateLimit, RateLimit | None]:
        """(model limit, provider limit) in force for ``model``."""
        override = self.limits.get(model.id)
        rpm, tpm = model.default_rpm, model.default_tpm
        if override is not None:
            rpm = override.rpm if "rpm" in override.model_fields_set else rpm
            tpm = override.tpm if "tpm" in override.model_fields_set else tpm
        return RateLimit(rpm=rpm, tpm=tpm), self.limits.get(model.provider)

    def _plan(self, model: ModelSpec) -> _Plan:
        plan = self._plans.get(model.id)
        if plan is None:
            own, shared = self.limit_for(model)
            scopes = [(f"model:{model.id}", own), (f"provider:{model.provider}", shared)]
            req = tuple(Bucket(f"rpm:{s}", lim.rpm, "rpm") for s, lim in scopes if lim is not None and lim.rpm)
            tok = tuple(Bucket(f"tpm:{s}", lim.tpm, "tpm") for s, lim in scopes if lim is not None and lim.tpm)
            plan = self._plans[model.id] = _Plan(req, tok, (f"block:model:{model.id}",))
        return plan

    def _now(self) -> float:
        return self.clock.now().timestamp() if self.backend.shared else self.clock.monotonic()

    @staticmethod
    def estimate_tokens(request: ChatRequest) -> int:
        """Tokens a call is charged up front: the prompt estimate plus its max_tokens allowance."""
        return estimate_request_tokens(request) + (request.max_tokens or 0)

    async def acquire(self, model: ModelSpec, request: ChatRequest, *, request_id: str | None = None) -> int:
        """Wait for a slot (up to max_wait_s) and return the tokens booked; raise RateLimitError if none in time."""
        plan = self._plan(model)
        tokens = self.estimate_tokens(request) if plan.token_buckets else 0
        wanted = [(b, 1.0) for b in plan.request_buckets]
        wanted += [(b, float(min(tokens, b.limit))) for b in plan.token_buckets]
        res = await self.backend.reserve(wanted, plan.block_keys, self._now(), self.max_wait_s)
        if not res.admitted:
            emit_event(
                self.emit, self.clock, EventType.RATE_LIMITED, model,
                source="podium", action="reject", wait_s=res.wait, bucket=res.bucket, request_id=request_id,
            )  # fmt: skip
            raise RateLimitError(
                f"Podium's rate limit for {model.id} is reached ({res.bucket}): the next slot is in {res.wait:.2f} s, "
                f"beyond max_wait_s={self.max_wait_s:g}; raise max_wait_s or the limit under resilience.rate_limits",
                source="podium",
                provider=model.provider,
                model=model.id,
                retry_after=res.wait,
            )
        if res.wait > 0:
            emit_event(
                self.emit, self.clock, EventType.RATE_LIMITED, model,
                source="podium", action="wait", wait_s=res.wait, bucket=res.bucket, request_id=request_id,
            )  # fmt: skip
            await self.clock.sleep(res.wait)
        return tokens

    async def settle(self, model: ModelSpec, booked_tokens: int, used_tokens: int) -> None:
        """Charge token buckets the difference between what was booked and what the answer really used."""
        delta = used_tokens - booked_tokens
        if delta:
            for bucket in self._plan(model).token_buckets:
                await self.backend.adjust(bucket, float(delta), self._now())

    async def observe_upstream(self, model: ModelSpec, error: ProviderError, *, request_id: str | None = None) -> None:
        """Hold later calls to ``model`` back for as long as the upstream's Retry-After / reset headers say."""
        wait = upstream_wait(error.headers, error.retry_after, self.clock.now())
        if isinstance(error, RateLimitError):
            emit_event(
                self.emit, self.clock, EventType.RATE_LIMITED, model,
                source="upstream", action="backoff", wait_s=wait, status=error.status, request_id=request_id,
            )  # fmt: skip
        if wait:
            now = self._now()
            for key in self._plan(model).block_keys:
                await self.backend.block(key, now + wait, now)

    async def aclose(self) -> None:
        await self.backend.aclose()


class RateLimitMiddleware:
    """Innermost middleware: books a slot before the provider call and settles tokens after it."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        booked = await self.limiter.acquire(ctx.model, ctx.request, request_id=ctx.request_id)
        try:
            completion = await call_next(ctx)
        except ProviderError as exc:
            if isinstance(exc, RateLimitError) and exc.source == "podium":
                raise
            await self.limiter.observe_upstream(ctx.model, exc, request_id=ctx.request_id)
            raise
        if booked:
            await self.limiter.settle(ctx.model, booked, completion.usage.total_tokens)
        return completion
