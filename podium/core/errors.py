"""Podium's error hierarchy. Every error carries structured fields and a message that says what to do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal


class PodiumError(Exception):
    """Base of every error Podium raises on purpose."""

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __str__(self) -> str:
        return self.message


class ValidationError(PodiumError, ValueError):
    """Bad input: names the field, the bad value and what would be valid."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None, valid: object = None) -> None:
        super().__init__(message, field=field, value=value, valid=valid)
        self.field = field
        self.value = value
        self.valid = valid


class ConfigError(ValidationError):
    """A configuration file or environment override is invalid."""


class ContextWindowError(ValidationError):
    """The prompt does not fit the model's context window; nothing was sent."""

    def __init__(self, model: str, tokens: int, window: int) -> None:
        super().__init__(
            f"the prompt is about {tokens:,} tokens (estimated) but {model}'s context window is {window:,} tokens; "
            "shorten the prompt or choose a model with a larger window (`podium models` lists them)",
            field="prompt",
            value=tokens,
            valid=f"at most {window} tokens for {model}",
        )
        self.model = model
        self.tokens = tokens
        self.window = window


class UnknownModelError(PodiumError, LookupError):
    def __init__(self, model: str, suggestions: list[str] | None = None) -> None:
        hint = f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""
        super().__init__(
            f"unknown model {model!r}{hint}; run `podium models` to list known models, "
            "or add it under `models:` in podium.yaml",
            model=model,
            suggestions=suggestions or [],
        )
        self.model = model
        self.suggestions = suggestions or []


class MissingAPIKeyError(PodiumError):
    def __init__(self, provider: str, env_var: str) -> None:
        super().__init__(
            f"provider {provider!r} needs an API key: set the environment variable {env_var} "
            f"(or put {env_var}=... in a .env file), or use a local server such as ollama:<model>",
            provider=provider,
            env_var=env_var,
        )
        self.provider = provider
        self.env_var = env_var


class ProviderError(PodiumError):
    """An upstream call failed. Keeps status, body, headers and Retry-After; never the API key."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        status: int | None = None,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            provider=provider,
            model=model,
            status=status,
            body=body,
            retry_after=retry_after,
        )
        self.provider = provider
        self.model = model
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    """401/403 from upstream: the key is wrong or lacks access."""


class BadRequestError(ProviderError):
    """Another 4xx: the request itself is wrong; retrying will not help."""


class ContextWindowExceededError(BadRequestError):
    """The prompt does not fit the model's context window; a larger-window model may."""


class ContentPolicyError(BadRequestError):
    """The provider refused on content-policy grounds; another provider may answer."""


class RateLimitError(ProviderError):
    """A rate limit was hit. ``source`` says whether it was Podium's own limit or the upstream's."""

    retryable = True

    def __init__(self, message: str, *, source: Literal["podium", "upstream"] = "upstream", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.source = source
        self.fields["source"] = source


class ServerError(ProviderError):
    """5xx from upstream."""

    retryable = True


class UpstreamTimeoutError(ProviderError):
    retryable = True


class UpstreamConnectionError(ProviderError):
    retryable = True


class MalformedResponseError(ProviderError):
    """Upstream answered with a body that is not the documented format (bad JSON, missing fields, cut stream)."""

    retryable = True


class CircuitOpenError(ProviderError):
    """Podium's circuit breaker for this provider+model is open; the call was not sent."""

    retryable = False


class ReplayMissError(PodiumError, LookupError):
    """The replay provider has no recorded answer for this prompt and model. ``tried`` names every model asked
    (default: ``model``); ``recorded`` names the models that do have an answer to this prompt (empty: none)."""

    def __init__(self, model: str, prompt: str, *, tried: tuple[str, ...] = (), recorded: tuple[str, ...] = ()) -> None:
        snippet = prompt[:80].replace("\n", " ")
        self.tried = tried or (model,)
        self.recorded = recorded
        asked = _listed(self.tried)
        if recorded:
            message = (f"no recorded answer of {asked} for prompt {snippet!r}; this prompt has recorded answers of "
                       f"{_listed(recorded, most=12)}: ask one of those, or a live provider for any other model")
        else:
            message = (f"no recorded answer of {asked} for prompt {snippet!r}; the replay provider only answers "
                       "prompts from its bundled data (see `podium eval`), so use a live provider for new prompts")
        super().__init__(message, model=model, tried=list(self.tried), recorded=list(recorded))
        self.model = model


def _listed(models: tuple[str, ...], most: int = 5) -> str:
    shown = ", ".join(models[:most])
    return shown + (f" and {len(models) - most} more" if len(models) > most else "")


class BudgetExceededError(PodiumError):
    """A call would not fit a hard budget. Nothing was sent upstream."""

    def __init__(
        self, *, scope: str, limit: Decimal, spent: Decimal, reserved: Decimal, requested: Decimal,
        model: str | None = None,
    ) -> None:
        name, period = budget_name(scope)
        used = "" if scope == "call" else (
            f"{plain_usd(spent)} spent and {plain_usd(reserved)} held for calls in flight, and "
        )
        need = f"this call could cost up to {plain_usd(requested)}" if requested else "nothing is left for this call"
        super().__init__(
            f"{name} ({plain_usd(limit)}{period}) would be exceeded: {used}{need}; raise the limit or lower max_tokens",
            scope=scope,
            limit=limit,
            spent=spent,
            reserved=reserved,
            requested=requested,
            model=model,
        )
        self.scope = scope
        self.model = model  # the model whose worst case was refused, when the ledger knows it
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested


def plain_usd(amount: Decimal | int | str) -> str:
    """A USD amount as people write it: ``$0.0000001`` (never ``$1E-7``), ``$0.50``, ``$25``."""
    d = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    if not d.is_finite():
        return f"${d}"
    text = format(d, "f")
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        text = whole if not frac else f"{whole}.{frac.ljust(2, '0')}"
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def budget_name(scope: str) -> tuple[str, str]:
    """A budget's scope label in plain English, and its period: ``key:team-a (month 2025-06)`` -> (``the budget of
    key team-a``, `` for month 2025-06``); ``call`` -> ``the per-call budget``; ``--max-cost`` -> ``the --max-cost
    limit``."""
    if scope == "call":
        return "the per-call budget", ""
    if scope.startswith("-"):
        return f"the {scope} limit", ""
    who, _, period = scope.partition(" ")
    kind, _, name = who.partition(":")
    return (f"the budget of {kind} {name}" if name else f"the {kind} budget"), (
        f" for {period.strip('()')}" if period else ""
    )


class UnknownPriceError(PodiumError):
    """A hard budget is set but the model has no known price, so Podium fails closed."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"model {model!r} has no known price, so it cannot run under a hard budget; "
            "add its price under `models:` in podium.yaml or use soft budget mode",
            model=model,
        )
        self.model = model


class PolicyViolationError(PodiumError):
    """A policy forbids this call."""


class NoCandidateError(PodiumError):
    """No model satisfies the request's constraints (capabilities, context window, policies, budget)."""


class AllAttemptsFailedError(PodiumError):
    """Every model and retry failed. ``attempts`` lists (model, error) pairs in order."""

    def __init__(self, attempts: list[tuple[str, BaseException]]) -> None:
        lines = "; ".join(f"{m}: {type(e).__name__}: {e}" for m, e in attempts)
        super().__init__(f"all {len(attempts)} attempts failed: {lines}", attempts=attempts)
        self.attempts = attempts
