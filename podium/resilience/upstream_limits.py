"""Read how long an upstream wants us to wait from its rate-limit headers.

Formats: ``Retry-After`` (seconds or HTTP date), ``retry-after-ms``; OpenAI/Groq-style ``x-ratelimit-remaining-*`` with
``x-ratelimit-reset-*`` durations such as ``1s``, ``6m0s``, ``20ms``; Anthropic's ``anthropic-ratelimit-*-remaining``
with RFC 3339 ``*-reset`` timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PAIR_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")


def parse_reset(value: str, now: datetime) -> float | None:
    """Seconds until ``value``: a number of seconds, a Go-style duration, an RFC 3339 or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return sum(float(n) * _UNIT_S[u] for n, u in parts)
    for parse in (_iso, parsedate_to_datetime):
        try:
            when = parse(value)
        except (ValueError, TypeError, IndexError):
            continue
        if when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    return None


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """The Retry-After hint of a response, in seconds."""
    low = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in low:
        try:
            return max(0.0, float(low["retry-after-ms"]) / 1000.0)
        except ValueError:
            pass
    if "retry-after" in low:
        return parse_reset(low["retry-after"], now)
    return None


def exhausted_for(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds until every limit the headers report as used up (remaining == 0) resets, or None."""
    low = {k.lower(): v for k, v in headers.items()}
    longest: float | None = None
    for name, value in low.items():
        if not name.startswith(_PAIR_PREFIXES) or "remaining" not in name:
            continue
        try:
            remaining = float(value)
        except ValueError:
            continue
        if remaining > 0:
            continue
        reset = low.get(name.replace("remaining", "reset"))
        seconds = parse_reset(reset, now) if reset else None
        if seconds is not None and (longest is None or seconds > longest):
            longest = seconds
    return longest


def upstream_wait(headers: Mapping[str, str], retry_after: float | None, now: datetime) -> float | None:
    """How long the upstream asked us to hold off: the larger of Retry-After and exhausted limits' resets."""
    hints = [h for h in (retry_after, retry_after_seconds(headers, now), exhausted_for(headers, now)) if h is not None]
    return max(hints) if hints else None
