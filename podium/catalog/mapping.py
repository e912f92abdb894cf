"""ModelSpec <-> plain mappings (JSON files, podium.yaml `models:` entries, `podium models --json`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from podium.core.errors import ConfigError, ValidationError
from podium.core.model_spec import CAPABILITIES, QUALITY_TIERS, ModelSpec
from podium.core.money import usd

SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ModelSpec))
PRICE_FIELDS: tuple[str, ...] = (
    "input_per_million",
    "output_per_million",
    "cached_input_per_million",
    "cache_write_per_million",
)


class _Invalid(Exception):
    """Raised by a field parser; carries the text that says what would be valid."""

    def __init__(self, valid: str) -> None:
        super().__init__(valid)
        self.valid = valid


def decimal_str(value: Decimal | None) -> str | None:
    """A Decimal as a plain string without exponent (``Decimal('1E+1')`` -> ``'10'``)."""
    if value is None:
        return None
    return format(value.normalize(), "f")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("use a string")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("use a non-empty string")
    return value.strip()


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = usd(value)
    except ValidationError as exc:
        raise _Invalid('use a non-negative USD amount per 1M tokens, such as "0.15"') from exc
    if amount < 0:
        raise _Invalid('use a non-negative USD amount per 1M tokens, such as "0.15"')
    return amount


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid("use a whole number of at least 1")
    return value


def _optional_positive_int(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("use true or false")
    return value


def _string_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid("use a list of non-empty strings")
    return tuple(value)


def _capabilities(value: Any) -> frozenset[str]:
    try:
        caps = _string_list(value)
    except _Invalid as exc:
        raise _Invalid(f"use a list drawn from {', '.join(CAPABILITIES)}") from exc
    unknown = [c for c in caps if c not in CAPABILITIES]
    if unknown:
        raise _Invalid(f"{', '.join(unknown)} unknown; use a list drawn from {', '.join(CAPABILITIES)}")
    return frozenset(caps)


def _tier(value: Any) -> str:
    if value not in QUALITY_TIERS:
        raise _Invalid(f"use one of {', '.join(QUALITY_TIERS)}")
    return str(value)


def _as_of(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _Invalid("use an ISO date such as 2025-11-01")


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "id": _name,
    "provider": _name,
    "api_model": _name,
    **{name: _price for name in PRICE_FIELDS},
    "context_window": _positive_int,
    "max_output_tokens": _positive_int,
    "capabilities": _capabilities,
    "quality_tier": _tier,
    "free_tier": _flag,
    "region": _name,
    "trains_on_outputs": _flag,
    "open_weights": _flag,
    "default_rpm": _optional_positive_int,
    "default_tpm": _optional_positive_int,
    "price_source": _text,
    "price_as_of": _as_of,
    "aliases": _string_list,
    "deprecated": _flag,
    "description": _text,
}
assert set(_PARSERS) == set(SPEC_FIELDS), "every ModelSpec field needs a parser"


def _bad(label: str, field: str, value: Any, valid: str) -> ConfigError:
    return ConfigError(
        f"model {label}: {field} = {value!r} is not valid; {valid}",
        field=f"models.{label}.{field}",
        value=value,
        valid=valid,
    )


def _identity(m: Mapping[str, Any], label: str) -> dict[str, str]:
    """Work out id, provider and api_model, filling the ones left out from the others."""
    raw_id = m.get("id")
    if raw_id is None and m.get("provider") and m.get("api_model"):
        raw_id = f"{m['provider']}:{m['api_model']}"
    if not isinstance(raw_id, str) or ":" not in raw_id or raw_id.startswith(":") or raw_id.endswith(":"):
        raise _bad(label, "id", raw_id, 'use "provider:model", e.g. "openai:gpt-4o-mini"')
    prefix, model = raw_id.strip().split(":", 1)
    provider = m.get("provider", prefix)
    if provider != prefix:
        raise _bad(label, "provider", provider, f"use {prefix!r}, the provider part of the id {raw_id!r}")
    return {"id": raw_id.strip(), "provider": prefix, "api_model": m.get("api_model", model)}


def spec_from_mapping(m: Mapping[str, Any], *, label: str | None = None) -> ModelSpec:
    """Build a ModelSpec from a plain mapping; errors name the entry, the field, the value and what is valid."""
    if not isinstance(m, Mapping):
        raise ConfigError(
            f"model {label or '?'}: expected a mapping of ModelSpec fields, got {type(m).__name__}",
            field=f"models.{label or '?'}",
            value=m,
            valid=list(SPEC_FIELDS),
        )
    label = label or str(m.get("id") or "?")
    unknown = sorted(str(k) for k in m if k not in _PARSERS)
    if unknown:
        raise _bad(label, unknown[0], m[unknown[0]], f"known fields are {', '.join(SPEC_FIELDS)}")
    values: dict[str, Any] = {**m, **_identity(m, label)}
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            kwargs[name] = _PARSERS[name](raw)
        except _Invalid as exc:
            raise _bad(label, name, raw, exc.valid) from None
    return ModelSpec(**kwargs)


def spec_to_mapping(spec: ModelSpec) -> dict[str, Any]:
    """A JSON-ready dict of every field: prices as decimal strings, the date in ISO form, lists sorted."""
    out: dict[str, Any] = {}
    for name in SPEC_FIELDS:
        value = getattr(spec, name)
        if name in PRICE_FIELDS:
            value = decimal_str(value)
        elif name == "capabilities":
            value = sorted(value)
        elif name == "aliases":
            value = list(value)
        elif name == "price_as_of":
            value = value.isoformat() if value else None
        out[name] = value
    return out


def specs_from_document(doc: Any, *, origin: str) -> list[ModelSpec]:
    """Parse a models file: ``{"models": [ ... ]}`` or a bare list of entries."""
    entries = doc.get("models") if isinstance(doc, Mapping) else doc
    if not isinstance(entries, list):
        raise ConfigError(
            f'{origin}: expected a list of models under the key "models"',
            field="models",
            value=type(entries).__name__,
            valid="a list of ModelSpec mappings",
        )
    return [spec_from_mapping(e, label=_entry_label(e, i, origin)) for i, e in enumerate(entries)]


def document_from_specs(specs: Iterable[ModelSpec]) -> dict[str, Any]:
    return {"version": 1, "models": [spec_to_mapping(s) for s in specs]}


def _entry_label(entry: Any, index: int, origin: str) -> str:
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    return f"{ident} ({origin} entry {index + 1})" if ident else f"{origin} entry {index + 1}"
