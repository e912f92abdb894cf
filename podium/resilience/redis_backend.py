"""A rate-limit backend in Redis, shared by every process that points at it (``pip install podium[redis]``).

Each operation is one Lua script, so a reservation over several buckets is atomic across processes. Times are
wall-clock epoch seconds from the injected clock (processes do not share a monotonic origin); keys expire once
their bucket is full again, so idle models leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from podium.core.errors import ConfigError
from podium.resilience.ratelimit import Bucket, Reservation

# KEYS: block keys (ARGV[3] of them), then bucket keys. ARGV: now, max_wait, n_block, then (interval, units,
# period) per bucket. Floats travel as strings: Redis turns Lua numbers in replies into integers.
_RESERVE = """
local now, max_wait, nblock = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local admit, culprit = now, ''
for i = 1, nblock do
  local until_ = tonumber(redis.call('GET', KEYS[i]) or '0')
  if until_ > admit then admit, culprit = until_, KEYS[i] end
end
local tats = {}
for j = 1, #KEYS - nblock do
  local k = KEYS[nblock + j]
  local base = 3 + (j - 1) * 3
  local interval, units, period = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', k) or tostring(now))
  tats[j] = tat
  local allowed = tat + units * interval - period
  if allowed > admit then admit, culprit = allowed, k end
end
local wait = admit - now
if wait > max_wait then return {0, tostring(wait), culprit} end
for j = 1, #KEYS - nblock do
  local base = 3 + (j - 1) * 3
  local interval, units = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local tat = math.max(tats[j], admit) + units * interval
  redis.call('SET', KEYS[nblock + j], tostring(tat), 'PX', math.max(1000, math.ceil((tat - now) * 1000) + 1000))
end
return {1, tostring(wait), culprit}
"""

_BLOCK = """
local now, until_ = tonumber(ARGV[1]), tonumber(ARGV[2])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.max(1, math.ceil((until_ - now) * 1000)))
end
return 1
"""

_ADJUST = """
local now, units, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or tostring(now))
if units >= 0 then tat = math.max(tat, now) + units * interval else tat = math.max(tat + units * interval, now) end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.max(1000, math.ceil((tat - now) * 1000) + 1000))
return 1
"""


class RedisBackend:
    """Bucket state in Redis. Pass ``client`` (a ``redis.asyncio.Redis``) or ``url``."""

    shared = True

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = "podium:rl:") -> None:
        if client is None:
            if not url:
                raise ConfigError("the Redis rate-limit backend needs redis_url, e.g. redis://127.0.0.1:6379/0",
                                  field="redis_url", value=url)  # fmt: skip
            try:
                import redis.asyncio as aioredis
            except ImportError as exc:
                raise ConfigError(
                    "limiter_backend 'redis' needs the redis package: pip install 'podium[redis]'",
                    field="limiter_backend",
                    value="redis",
                ) from exc
            client = aioredis.Redis.from_url(url)
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(_RESERVE)
        self._block = client.register_script(_BLOCK)
        self._adjust = client.register_script(_ADJUST)

    async def reserve(
        self, buckets: Sequence[tuple[Bucket, float]], block_keys: Sequence[str], now: float, max_wait: float
    ) -> Reservation:
        keys = [self.prefix + k for k in block_keys] + [self.prefix + b.key for b, _ in buckets]
        args: list[Any] = [repr(now), repr(max_wait), len(block_keys)]
        for bucket, units in buckets:
            args += [repr(bucket.interval), repr(units), repr(bucket.period)]
        admitted, wait, culprit = await self._reserve(keys=keys, args=args)
        culprit = culprit.decode() if isinstance(culprit, bytes) else culprit
        return Reservation(bool(admitted), float(wait), culprit.removeprefix(self.prefix) or None)

    async def block(self, key: str, until: float, now: float) -> None:
        await self._block(keys=[self.prefix + key], args=[repr(now), repr(until)])

    async def adjust(self, bucket: Bucket, units: float, now: float) -> None:
        await self._adjust(keys=[self.prefix + bucket.key], args=[repr(now), repr(units), repr(bucket.interval)])

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
