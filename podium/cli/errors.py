"""The one place that turns an exception into one readable stderr line and an exit code."""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from podium.core.errors import (
    ConfigError,
    MissingAPIKeyError,
    PodiumError,
    ProviderError,
    RateLimitError,
    UnknownModelError,
    UnknownPriceError,
    ValidationError,
)

if TYPE_CHECKING:
    import pydantic

EXIT_RUNTIME = 1
EXIT_USAGE = 2  # bad arguments or configuration: the user can fix it before trying again

# Errors the user fixes by changing the command line or podium.yaml (ConfigError is a ValidationError).
_USAGE_ERRORS: tuple[type[BaseException], ...] = (
    ValidationError,
    UnknownModelError,
    MissingAPIKeyError,
    UnknownPriceError,
)
_SECRET_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD")
_MIN_SECRET_CHARS = 6  # shorter values would blank out ordinary words


def flag_error(
    exc: pydantic.ValidationError, model: type[pydantic.BaseModel], *, section: str, flags: Mapping[str, str]
) -> ConfigError:
    """A settings object built from command-line flags failed validation: one line naming the flag, the config key
    and what is valid (``--port 80000 is not valid (server.port): use a whole number from 0 to 65535``)."""
    from podium.config.validation import config_error_from

    # The shared translation names the field and value; here they are said as the flag the user typed.
    translated = config_error_from(exc, model, path=None, sources={}, lines={})
    name = str(translated.field or "")
    flag = flags.get(name, "--" + name.replace("_", "-"))
    key = f"{section}.{name}" if name else section
    valid = _field_range(model, name) or str(translated.valid or translated.message)
    valid = valid[:1].lower() + valid[1:]
    return ConfigError(
        f"{flag} {translated.value} is not valid ({key}): {valid}", field=key, value=translated.value, valid=valid
    )


def _field_range(model: type[Any], name: str) -> str | None:
    """``use a whole number from 0 to 65535`` for a numeric field with inclusive bounds at both ends."""
    field = getattr(model, "model_fields", {}).get(name)
    if field is None or field.annotation not in (int, float):
        return None
    low = next((rule.ge for rule in field.metadata if getattr(rule, "ge", None) is not None), None)
    high = next((rule.le for rule in field.metadata if getattr(rule, "le", None) is not None), None)
    if low is None or high is None:
        return None
    kind = "a whole number" if field.annotation is int else "a number"
    return f"use {kind} from {low} to {high}"


def exit_code_for(exc: BaseException) -> int:
    """2 for usage and configuration errors, 1 for everything that went wrong while running."""
    return EXIT_USAGE if isinstance(exc, _USAGE_ERRORS) else EXIT_RUNTIME


def describe(exc: BaseException) -> str:
    """One line saying what went wrong; provider errors keep their status and whose rate limit it was."""
    if isinstance(exc, PodiumError):
        text = str(exc)
        if isinstance(exc, ProviderError):
            text = _with_provider_detail(exc, text)
    else:
        text = f"internal error: {type(exc).__name__}: {exc} (run `podium --verbose ...` for the traceback)"
    return " ".join(text.split())


def _with_provider_detail(exc: ProviderError, text: str) -> str:
    details = []
    if exc.status is not None and str(exc.status) not in text:
        details.append(f"HTTP {exc.status}")
    if exc.provider and exc.provider not in text:
        details.append(f"provider {exc.provider}")
    if isinstance(exc, RateLimitError):
        details.append("Podium's own rate limit" if exc.source == "podium" else "upstream rate limit")
        if exc.retry_after is not None and "retry after" not in text.lower():
            details.append(f"retry after {exc.retry_after:g}s")
    return f"{text} ({', '.join(details)})" if details else text


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """Blank out the value of every secret-looking environment variable, wherever it appears."""
    env = os.environ if env is None else env
    for name, value in env.items():
        if name.upper().endswith(_SECRET_SUFFIXES) and value and len(value) >= _MIN_SECRET_CHARS:
            text = text.replace(value, f"<{name}>")
    return text


def report(exc: BaseException, *, verbose: bool = False, env: Mapping[str, str] | None = None) -> int:
    """Print ``error: ...`` (and the traceback when ``verbose``) on stderr; return the exit code."""
    if verbose:
        tb = "".join(traceback.format_exception(exc))
        typer.echo(redact(tb, env), err=True, nl=False)
    typer.echo(f"error: {redact(describe(exc), env)}", err=True)
    return exit_code_for(exc)
