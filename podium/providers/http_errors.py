"""Translate HTTP statuses and httpx exceptions into Podium errors, in one place for every provider.

Callers write ``raise error_from_status(...) from exc`` / ``raise error_from_transport(...) from exc`` so the
original exception stays attached. Every message says what to do next; API keys are scrubbed from bodies,
messages and headers before they reach an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    ContentPolicyError,
    ContextWindowExceededError,
    MalformedResponseError,
    ProviderError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
)

if TYPE_CHECKING:  # the wire modules use this file and must not load httpx: replay and tests never send
    import httpx

BODY_LIMIT = 2048
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key", "proxy-authorization", "cookie"})
_REDACTED = "[redacted]"

_CONTEXT_WORDS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "prompt is too long",
    "maximum number of tokens",
    "too many tokens",
    "input is too long",
    "reduce the length",
)
_POLICY_WORDS = (
    "content_policy",
    "content policy",
    "content_filter",
    "content management policy",
    "responsible ai",
    "safety system",
    "flagged",
)
# Anthropic names its errors by type, also inside a stream's ``error`` event; map them to the status they carry.
ANTHROPIC_ERROR_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential-bearing value replaced."""
    return {k: (_REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every occurrence of each secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def upstream_message(body: str) -> str | None:
    """The human message inside an error body: ``error.message`` (OpenAI, Anthropic, Gemini) or ``message``."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300] or None
    if isinstance(data, list) and data:  # Gemini's streaming endpoint may wrap errors in a list
        data = data[0]
    if not isinstance(data, dict):
        return None
    err = data.get("error", data)
    if isinstance(err, dict):
        msg = err.get("message") or err.get("code") or err.get("type")
        return str(msg) if msg is not None else None
    return str(err)


def _seconds_from_duration(value: str) -> float | None:
    """Parse ``1s``, ``6m0s``, ``120ms``, ``1h2m3.5s`` (OpenAI/Groq ``x-ratelimit-reset-*``) or plain seconds."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def _seconds_until(value: str, now: datetime) -> float | None:
    """Seconds from ``now`` until an HTTP-date or RFC 3339 timestamp."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """How long upstream asks us to wait, in seconds, or None when it does not say.

    Reads ``retry-after-ms``, ``retry-after`` (seconds or HTTP-date), then the rate-limit reset headers
    (``x-ratelimit-reset-*`` durations, ``anthropic-ratelimit-*-reset`` timestamps), preferring limits whose
    ``remaining`` is 0.
    """
    now = now or datetime.now(UTC)
    h = {k.lower(): v for k, v in headers.items()}
    if (ms := h.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    if (ra := h.get("retry-after")) is not None:
        secs = _seconds_from_duration(ra)
        if secs is None:
            secs = _seconds_until(ra, now)
        if secs is not None:
            return max(0.0, secs)
    return _reset_header_seconds(h, now)


def _reset_header_seconds(h: Mapping[str, str], now: datetime) -> float | None:
    resets: dict[str, float] = {}
    for name, value in h.items():
        if name.startswith("x-ratelimit-reset-"):
            secs = _seconds_from_duration(value)
            key = "x-ratelimit-remaining-" + name.removeprefix("x-ratelimit-reset-")
        elif name.startswith("anthropic-ratelimit-") and name.endswith("-reset"):
            secs = _seconds_until(value, now)
            key = name.removesuffix("-reset") + "-remaining"
        else:
            continue
        if secs is not None:
            resets[key] = max(0.0, secs)
    if not resets:
        return None
    exhausted = [s for key, s in resets.items() if h.get(key, "").strip() == "0"]
    return max(exhausted or resets.values())


def _classify_400(message: str) -> type[BadRequestError]:
    low = message.lower()
    if any(w in low for w in _CONTEXT_WORDS):
        return ContextWindowExceededError
    if any(w in low for w in _POLICY_WORDS):
        return ContentPolicyError
    return BadRequestError


def error_from_status(
    status: int,
    *,
    provider: str,
    model: str | None = None,
    body: str = "",
    headers: Mapping[str, str] | None = None,
    key_env: str | None = None,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> ProviderError:
    """The Podium error for an upstream HTTP error status (or an error event carrying one)."""
    secrets = tuple(secrets)
    body = scrub(body, secrets)[:BODY_LIMIT]
    hdrs = redact_headers(headers or {})
    detail = scrub(upstream_message(body) or "", secrets)
    said = f": {detail}" if detail else ""
    where = f"{provider}" + (f" ({model})" if model else "")
    kw = {"provider": provider, "model": model, "status": status, "body": body, "headers": hdrs}
    # Gemini answers a wrong key with 400 API_KEY_INVALID rather than 401.
    if status in (401, 403) or (status == 400 and ("API_KEY_INVALID" in body or "API key not valid" in body)):
        fix = f"check {key_env}" if key_env else f"check the credentials configured for provider {provider!r}"
        verb = "denied access" if status == 403 else "rejected the API key"
        return AuthenticationError(f"{where} {verb} (HTTP {status}){said}; {fix}", **kw)
    if status == 429:
        retry_after = parse_retry_after(hdrs, now=now)
        if "insufficient_quota" in body or "exceeded your current quota" in body:
            # A spent balance is not a rate limit: retrying will not help, another provider may.
            return BadRequestError(f"{where} says the account has no quota left (HTTP 429){said}; add credit", **kw)
        wait = f"; retry after {retry_after:g}s" if retry_after is not None else "; retry later or lower the request rate"
        return RateLimitError(f"{where} rate limit hit (HTTP 429){said}{wait}", source="upstream", retry_after=retry_after, **kw)
    if status == 408:
        return UpstreamTimeoutError(f"{where} timed out the request (HTTP 408){said}; retry", **kw)
    if status >= 500:
        retry_after = parse_retry_after(hdrs, now=now)
        what = "is overloaded" if status in (503, 529) else "had a server error"
        return ServerError(
            f"{where} {what} (HTTP {status}){said}; retry later or use another provider", retry_after=retry_after, **kw
        )
    if status >= 400:
        cls = _classify_400(detail or body)
        fix = {
            ContextWindowExceededError: "shorten the prompt or pick a model with a larger context window",
            ContentPolicyError: "rephrase the request or use another provider",
        }.get(cls, "fix the request; retrying it unchanged will not help")
        return cls(f"{where} refused the request (HTTP {status}){said}; {fix}", **kw)
    return MalformedResponseError(f"{where} answered with unexpected HTTP {status}{said}", **kw)


def error_from_transport(
    exc: httpx.HTTPError | TimeoutError,
    *,
    provider: str,
    model: str | None = None,
    streaming: bool = False,
    timeout: float | None = None,
) -> ProviderError:
    """The Podium error for an httpx exception raised while sending or reading."""
    import httpx
    where = f"{provider}" + (f" ({model})" if model else "")
    kw = {"provider": provider, "model": model}
    # Checked before timeouts: ConnectTimeout and PoolTimeout are timeouts too, but the request was never sent.
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return UpstreamConnectionError(
            f"could not connect to {where}: {type(exc).__name__}; check base_url and that the server is running", **kw
        )
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        limit = f" after {timeout:g}s" if timeout is not None else ""
        return UpstreamTimeoutError(
            f"{where} did not answer in time{limit}; retry, or raise the provider's timeout settings", **kw
        )
    if streaming and isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return MalformedResponseError(
            f"the {where} stream was cut before it finished ({type(exc).__name__}); the call can be retried", **kw
        )
    if isinstance(exc, (httpx.DecodingError, httpx.RemoteProtocolError)):
        return MalformedResponseError(f"{where} sent a response that could not be read: {type(exc).__name__}", **kw)
    return UpstreamConnectionError(
        f"the connection to {where} failed: {type(exc).__name__}; retry, or check the network and base_url", **kw
    )


def malformed(provider: str, model: str | None, what: str, body: str = "") -> MalformedResponseError:
    """A response that is not the documented format: names what was wrong."""
    return MalformedResponseError(
        f"{provider} sent a response Podium cannot read ({what}); the call can be retried",
        provider=provider,
        model=model,
        body=body[:BODY_LIMIT] or None,
    )


def json_object(text: str | bytes, *, provider: str, model: str | None, what: str = "body") -> dict:
    """Parse ``text`` as a JSON object, or raise MalformedResponseError saying which part was bad."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise malformed(provider, model, f"the {what} is not valid JSON", shown) from exc
    if not isinstance(value, dict):
        raise malformed(provider, model, f"the {what} is not a JSON object", str(value))
    return value
