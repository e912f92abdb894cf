"""Money is Decimal USD. Never float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from podium.core.errors import ValidationError, plain_usd

__all__ = ["MILLION", "ZERO", "fmt_usd", "per_million", "plain_usd", "token_cost", "usd"]

ZERO = Decimal(0)
MILLION = Decimal(1_000_000)


def usd(value: str | Decimal | float) -> Decimal:
    """Parse a USD amount. Floats go through ``repr`` so 0.1 becomes Decimal('0.1'), not its binary expansion."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not an amount of money", value=value)
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValidationError(f"{value!r} is not an amount of money; use a number such as 0.25", value=value) from exc
    if not d.is_finite():
        raise ValidationError(f"{value!r} is not a finite amount of money", value=value)
    return d


def per_million(price_per_token: str | float | Decimal) -> Decimal:
    """Convert a per-token price (as LiteLLM stores it) to USD per 1M tokens, exactly."""
    return (usd(price_per_token) * MILLION).normalize()


def token_cost(tokens: int, price_per_million: Decimal) -> Decimal:
    """Exact cost of ``tokens`` at ``price_per_million`` USD / 1M tokens."""
    return Decimal(tokens) * price_per_million / MILLION


def fmt_usd(amount: Decimal | None, places: int = 6) -> str:
    if amount is None:
        return "?"
    q = Decimal(1).scaleb(-places)
    return f"${amount.quantize(q)}"
