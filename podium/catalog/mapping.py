"""ModelSpec <-> plain mappings (JSON files, podium.yaml `models:` entries, `podium models --json`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from podium.catalog.profile_figures import profile_from_figures
from podium.core.errors import ConfigError, ValidationError
from podium.core.model_spec import (
    CAPABILITIES,
    MODEL_KINDS,
    PROFILE_KEYS,
    QUALITY_TIERS,
    ModelSpec,
    PriceTier,
    QualityFigure,
    QualityProfile,
)
from podium.core.money import usd

SPEC_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ModelSpec))
PRICE_FIELDS: tuple[str, ...] = (
    "input_per_million",
    "output_per_million",
    "cached_input_per_million",
    "cache_write_per_million",
    "reasoning_per_million",
)
TIER_PRICE_FIELDS: tuple[str, ...] = PRICE_FIELDS[:4]
_TIER_HINT = ("use a list of mappings {above_input_tokens, input_per_million, output_per_million, "
              "cached_input_per_million, cache_write_per_million}, such as "
              '[{"above_input_tokens": 200000, "input_per_million": "2.5", "output_per_million": "15"}]')


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


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("use a string")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("use a non-empty string")
    return value.strip()


def _price(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = usd(value)
    except ValidationError as exc:
        raise _Invalid('use a non-negative USD amount per 1M tokens, such as "0.15"') from exc
    if amount < 0:
        raise _Invalid('use a non-negative USD amount per 1M tokens, such as "0.15"')
    return amount


def _fee(value: object) -> Decimal | None:
    try:
        return _price(value)
    except _Invalid:
        raise _Invalid('use a non-negative USD amount per request, such as "0.005"') from None


def _price_tier(raw: object) -> PriceTier:
    if isinstance(raw, PriceTier):
        return raw
    if not isinstance(raw, Mapping):
        raise _Invalid(_TIER_HINT)
    unknown = [k for k in raw if k not in ("above_input_tokens", *TIER_PRICE_FIELDS)]
    if unknown:
        raise _Invalid(f"{unknown[0]!r} is not a tier field; {_TIER_HINT}")
    prices = {name: _price(raw.get(name)) for name in TIER_PRICE_FIELDS}
    if prices["input_per_million"] is None or prices["output_per_million"] is None:
        raise _Invalid(f"a tier needs input_per_million and output_per_million; {_TIER_HINT}")
    return PriceTier(_positive_int(raw.get("above_input_tokens")), **prices)  # type: ignore[arg-type]


def _price_tiers(value: object) -> tuple[PriceTier, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise _Invalid(_TIER_HINT)
    tiers = sorted((_price_tier(t) for t in value), key=lambda t: t.above_input_tokens)
    if len({t.above_input_tokens for t in tiers}) != len(tiers):
        raise _Invalid(f"two tiers share a threshold; {_TIER_HINT}")
    return tuple(tiers)


def tier_to_mapping(tier: PriceTier) -> dict[str, Any]:
    out: dict[str, Any] = {"above_input_tokens": tier.above_input_tokens}
    out.update({name: decimal_str(getattr(tier, name)) for name in TIER_PRICE_FIELDS})
    return {k: v for k, v in out.items() if v is not None}


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Invalid("use a whole number of at least 1")
    return value


def _optional_positive_int(value: object) -> int | None:
    return None if value is None else _positive_int(value)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("use true or false")
    return value


def _string_list(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) and v for v in value):
        raise _Invalid("use a list of non-empty strings")
    return tuple(value)


def _capabilities(value: object) -> frozenset[str]:
    try:
        caps = _string_list(value)
    except _Invalid as exc:
        raise _Invalid(f"use a list drawn from {', '.join(CAPABILITIES)}") from exc
    unknown = [c for c in caps if c not in CAPABILITIES]
    if unknown:
        raise _Invalid(f"{', '.join(unknown)} unknown; use a list drawn from {', '.join(CAPABILITIES)}")
    return frozenset(caps)


def _tier(value: object) -> str:
    if value not in QUALITY_TIERS:
        raise _Invalid(f"use one of {', '.join(QUALITY_TIERS)}")
    return str(value)


def _kind(value: object) -> str:
    if value not in MODEL_KINDS:
        raise _Invalid(f"use one of {', '.join(MODEL_KINDS)}")
    return str(value)


def _as_of(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _Invalid("use an ISO date such as 2025-11-01")


_FIGURE_FIELDS = ("score", "source", "as_of", "estimate", "note")
_PROFILE_HINT = (f"use a mapping with keys from {', '.join(PROFILE_KEYS)} ('overall' required), each an Arena "
                 "Elo-equivalent number such as 1250 or a mapping {score, source, as_of, estimate, note}")


def _figure(key: str, value: object) -> QualityFigure:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return QualityFigure(float(value))
    if not isinstance(value, Mapping) or not isinstance(value.get("score"), (int, float)) \
            or isinstance(value.get("score"), bool):
        raise _Invalid(f"{key}: {_PROFILE_HINT}")
    unknown = [k for k in value if k not in _FIGURE_FIELDS]
    if unknown:
        raise _Invalid(f"{key}.{unknown[0]} is not a figure field; use {', '.join(_FIGURE_FIELDS)}")
    return QualityFigure(
        float(value["score"]),
        _text(value.get("source", "")),
        _as_of(value.get("as_of")),
        _flag(value.get("estimate", False)),
        _text(value.get("note", "")),
    )


def figures_from_mapping(value: object) -> dict[str, QualityFigure]:
    """Quality figures by key (overall and categories) from a profile mapping; any subset of ``PROFILE_KEYS``."""
    if not isinstance(value, Mapping) or not value:
        raise _Invalid(_PROFILE_HINT)
    unknown = [k for k in value if k not in PROFILE_KEYS]
    if unknown:
        raise _Invalid(f"{unknown[0]!r} is not a profile key; {_PROFILE_HINT}")
    return {k: _figure(k, v) for k, v in value.items()}


def _quality(value: object) -> QualityProfile | None:
    if value is None or isinstance(value, QualityProfile):
        return value
    figures = figures_from_mapping(value)
    if "overall" not in figures:
        raise _Invalid(f"'overall' is missing; {_PROFILE_HINT}")
    return profile_from_figures(figures)


def figure_to_mapping(fig: QualityFigure) -> dict[str, Any]:
    out: dict[str, Any] = {"score": fig.score, "source": fig.source,
                           "as_of": fig.as_of.isoformat() if fig.as_of else None, "estimate": fig.estimate}
    if fig.note:
        out["note"] = fig.note
    return out


def profile_to_mapping(profile: QualityProfile | None) -> dict[str, Any] | None:
    return None if profile is None else {k: figure_to_mapping(f) for k, f in profile.items()}


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
    "legacy": _flag,
    "quality": _quality,
    "request_fee_usd": _fee,
    "price_tiers": _price_tiers,
    "kind": _kind,
}
assert set(_PARSERS) == set(SPEC_FIELDS), "every ModelSpec field needs a parser"


def _bad(label: str, field: str, value: object, valid: str) -> ConfigError:
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
        if name in PRICE_FIELDS or name == "request_fee_usd":
            value = decimal_str(value)
        elif name == "price_tiers":
            value = [tier_to_mapping(t) for t in value]
        elif name == "capabilities":
            value = sorted(value)
        elif name == "aliases":
            value = list(value)
        elif name == "price_as_of":
            value = value.isoformat() if value else None
        elif name == "quality":
            value = profile_to_mapping(value)
        out[name] = value
    return out


def specs_from_document(doc: object, *, origin: str) -> list[ModelSpec]:
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


def _entry_label(entry: object, index: int, origin: str) -> str:
    ident = entry.get("id") if isinstance(entry, Mapping) else None
    return f"{ident} ({origin} entry {index + 1})" if ident else f"{origin} entry {index + 1}"
