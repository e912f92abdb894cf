"""A virtual clock for tests: ``sleep`` advances time at once and is recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    """Implements podium.core.clock.Clock on virtual time.

    ``sleep(s)`` moves both ``now()`` and ``monotonic()`` forward by ``s`` and yields to the event loop once, so
    retry backoff and rate-limit waits take no real time. Every sleep is kept in ``sleeps`` for assertions.
    Concurrent sleepers each advance the clock by their own amount (time is not shared between them), which is
    exact for one call at a time and an upper bound otherwise.
    """

    def __init__(self, start: datetime = _EPOCH, monotonic_start: float = 1000.0) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start {start!r} must be timezone-aware; pass a UTC datetime")
        self._start = start
        self._origin = monotonic_start
        self._elapsed = 0.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._origin + self._elapsed

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, float(seconds))
        self.sleeps.append(seconds)
        self._elapsed += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (time passing between calls)."""
        if seconds < 0:
            raise ValueError(f"cannot advance the clock by {seconds} seconds; time only moves forward")
        self._elapsed += seconds

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the clock was made."""
        return self._elapsed

    @property
    def slept(self) -> float:
        """Total seconds passed to ``sleep``."""
        return sum(self.sleeps)
