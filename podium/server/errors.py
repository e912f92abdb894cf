"""Exceptions -> OpenAI's error JSON (``{"error": {"message", "type", "param", "code"}}``) with the right status.

Statuses (documented for clients):
    400 invalid request (names the field)        401 missing or unknown virtual key
    402 budget exceeded (code budget_exceeded)   403 model not allowed for this key, or a policy refused
    404 unknown model (GET /v1/models lists them) 429 rate limit (ours or upstream's; Retry-After when known)
    502 upstream failed (every attempt)          503 provider not configured or circuit open
    504 upstream timed out

A budget refusal is 402 rather than 429: it will not clear by waiting a few seconds, and SDKs retry 429s.
Messages pass through ``scrub`` with every secret the gateway knows, so no provider key can reach a client.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field

from podium.core.errors import (
    AllAttemptsFailedError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CircuitOpenError,
    ContentPolicyError,
    ContextWindowExceededError,
    MissingAPIKeyError,
    NoCandidateError,
    PolicyViolationError,
    ProviderError,
    RateLimitError,
    ReplayMissError,
    UnknownModelError,
    UnknownPriceError,
    UpstreamTimeoutError,
    ValidationError,
)
from podium.providers.http_errors import scrub


@dataclass(eq=False)
class GatewayError(Exception):
    """An error the gateway answers with directly (auth, unknown model, its own rate limit)."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def retry_after_headers(seconds: float | None) -> dict[str, str]:
    return {} if seconds is None else {"retry-after": str(max(1, math.ceil(seconds)))}


def _provider_error(exc: ProviderError) -> GatewayError:
    details = [f"upstream {exc.provider}"] if exc.provider and exc.provider not in str(exc) else []
    if exc.status is not None and str(exc.status) not in str(exc):
        details.append(f"HTTP {exc.status}")
    message = f"{exc} ({', '.join(details)})" if details else str(exc)
    if isinstance(exc, RateLimitError):
        whose = "Podium's own rate limit" if exc.source == "podium" else "the upstream provider's rate limit"
        return GatewayError(
            429,
            f"{exc} ({whose})",
            "rate_limit_error",
            "rate_limit_exceeded",
            headers=retry_after_headers(exc.retry_after),
        )
    if isinstance(exc, ContextWindowExceededError):
        return GatewayError(400, message, code="context_length_exceeded", param="messages")
    if isinstance(exc, ContentPolicyError):
        return GatewayError(400, message, code="content_policy_violation")
    if isinstance(exc, AuthenticationError):
        # The gateway's provider key is wrong: the client cannot fix that, so it is an upstream failure.
        return GatewayError(
            502,
            f"the gateway's credentials for {exc.provider} were refused: {message}",
            "upstream_error",
            "upstream_authentication",
        )
    if isinstance(exc, BadRequestError):
        return GatewayError(400, message, code="upstream_bad_request")
    if isinstance(exc, CircuitOpenError):
        return GatewayError(
            503, message, "upstream_error", "circuit_open", headers=retry_after_headers(exc.retry_after)
        )
    if isinstance(exc, UpstreamTimeoutError):
        return GatewayError(504, message, "upstream_error", "upstream_timeout")
    return GatewayError(502, f"upstream call failed: {message}", "upstream_error", "upstream_error")


def _classify(exc: BaseException) -> GatewayError:
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, UnknownModelError):
        hint = f" (did you mean {', '.join(exc.suggestions)}?)" if exc.suggestions else ""
        return GatewayError(
            404,
            f"model {exc.model!r} does not exist on this gateway{hint}; "
            "GET /v1/models lists every model and the podium/* virtual models",
            code="model_not_found",
            param="model",
        )
    if isinstance(exc, BudgetExceededError):
        return GatewayError(402, str(exc), "budget_exceeded", "budget_exceeded")
    if isinstance(exc, UnknownPriceError):
        return GatewayError(400, str(exc), code="unknown_price", param="model")
    if isinstance(exc, ProviderError):
        return _provider_error(exc)
    if isinstance(exc, AllAttemptsFailedError):
        last = exc.attempts[-1][1] if exc.attempts else None
        status = 429 if isinstance(last, RateLimitError) else 502
        headers = retry_after_headers(last.retry_after) if isinstance(last, RateLimitError) else {}
        return GatewayError(
            status, f"upstream call failed: {exc}", "upstream_error", "all_attempts_failed", headers=headers
        )
    if isinstance(exc, MissingAPIKeyError):
        return GatewayError(
            503, f"the gateway cannot reach {exc.provider}: {exc}", "upstream_error", "provider_not_configured"
        )
    if isinstance(exc, ReplayMissError):
        return GatewayError(404, str(exc), code="replay_miss", param="messages")
    if isinstance(exc, PolicyViolationError):
        return GatewayError(403, str(exc), "permission_error", "policy_violation")
    if isinstance(exc, NoCandidateError):
        return GatewayError(400, str(exc), code="no_candidate_model", param="model")
    if isinstance(exc, ValidationError):
        return GatewayError(400, str(exc), param=exc.field)
    return GatewayError(
        500, f"internal error ({type(exc).__name__}); the gateway log has the details", "server_error", "internal_error"
    )


def scrubbed_traceback(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """``exc``'s traceback, causes included, with every known secret scrubbed: for the gateway's own log."""
    return scrub("".join(traceback.format_exception(exc)), secrets)


def to_gateway_error(exc: BaseException, secrets: Iterable[str] = ()) -> GatewayError:
    """The OpenAI-shaped error for ``exc``, with every known secret scrubbed from the message."""
    err = _classify(exc)
    clean = scrub(err.message, secrets)
    if clean == err.message:
        return err
    return GatewayError(err.status, clean, err.type, err.code, err.param, err.headers)
