"""Import LiteLLM's ``model_prices_and_context_window.json`` into ModelSpecs (per-token floats -> exact $/1M)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from podium.core.errors import ConfigError, ValidationError
from podium.core.model_spec import ModelSpec, PriceTier
from podium.core.money import per_million, usd

# litellm_provider -> Podium provider. Everything else (bedrock, azure, vertex_ai, ...) needs a wire protocol
# or auth Podium does not speak, so those entries are skipped.
LITELLM_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gemini",
    "openrouter": "openrouter",
    "groq": "groq",
    "deepseek": "deepseek",
    "together_ai": "together",
    "mistral": "mistral",
    "moonshot": "moonshot",
    "ollama": "ollama",
    "ollama_chat": "ollama",
    "hosted_vllm": "vllm",
    "llamafile": "llamacpp",
}
# Below this many prompt tokens a model is not tagged long-context.
LONG_CONTEXT_TOKENS = 200_000
_FEATURE_CAPABILITIES: dict[str, str] = {
    "supports_vision": "vision",
    "supports_function_calling": "tools",
    "supports_response_schema": "json",
    "supports_reasoning": "reasoning",
}
_PRICE_KEYS: dict[str, str] = {
    "input_per_million": "input_cost_per_token",
    "output_per_million": "output_cost_per_token",
    "cached_input_per_million": "cache_read_input_token_cost",
    "cache_write_per_million": "cache_creation_input_token_cost",
    "reasoning_per_million": "output_cost_per_reasoning_token",
}
# Long-prompt prices: ``<base key>_above_<N>k_tokens`` (batch, flex and priority variants are other service tiers).
_TIER_KEY = re.compile(
    r"^(?P<base>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost)"
    r"_above_(?P<k>\d+)k_tokens$"
)
_TIER_FIELDS = {v: k for k, v in _PRICE_KEYS.items()}
REQUEST_FEE_KEY = "input_cost_per_request"
SKIP_PROVIDER = "provider Podium cannot call"
SKIP_MODE = "not a chat model"
SKIP_INVALID = "invalid entry"
SKIP_DUPLICATE = "duplicate id"


@dataclass
class LiteLLMImport:
    """The outcome of an import: the specs, and how many entries were skipped for each reason."""

    specs: list[ModelSpec] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_providers: Counter[str] = field(default_factory=Counter)
    invalid: list[str] = field(default_factory=list)  # "key: why" for the first few invalid entries

    def summary(self) -> str:
        """One line: how many were imported and, per reason, how many were skipped."""
        parts = []
        for reason, count in self.skipped.most_common():
            detail = ""
            if reason == SKIP_PROVIDER:
                detail = " (" + ", ".join(f"{p} {n}" for p, n in self.skipped_providers.most_common(5)) + ", ...)"
            parts.append(f"{count} {reason}{detail}")
        skipped = sum(self.skipped.values())
        return f"{len(self.specs)} imported, {skipped} skipped" + (f": {'; '.join(parts)}" if parts else "")


def _price(entry: Mapping[str, Any], key: str) -> Decimal | None:
    raw = entry.get(key)
    if raw is None:
        return None
    value = per_million(raw)
    if value < 0:
        raise ValidationError(f"{key} = {raw!r} is negative", field=key, value=raw, valid="a price >= 0")
    return value


def price_tiers(entry: Mapping[str, Any], base: Mapping[str, Decimal | None]) -> tuple[PriceTier, ...]:
    """The entry's ``*_above_<N>k_tokens`` prices as tiers; a price a tier leaves out is the base one."""
    found: dict[int, dict[str, Decimal | None]] = {}
    for key in entry:
        match = _TIER_KEY.match(key)
        if match is not None:
            found.setdefault(int(match["k"]) * 1000, {})[_TIER_FIELDS[match["base"]]] = _price(entry, key)
    tiers = []
    for threshold, prices in sorted(found.items()):
        inp = prices.get("input_per_million") or base["input_per_million"]
        out = prices.get("output_per_million") or base["output_per_million"]
        if inp is None or out is None:
            raise ValidationError(
                f"the prices above {threshold} tokens have no input or output price to go with them",
                field=f"input_cost_per_token_above_{threshold // 1000}k_tokens", value=None,
            )
        tiers.append(PriceTier(threshold, inp, out, prices.get("cached_input_per_million"),
                               prices.get("cache_write_per_million")))
    return tuple(tiers)


def request_fee(entry: Mapping[str, Any]) -> Decimal | None:
    raw = entry.get(REQUEST_FEE_KEY)
    if raw is None:
        return None
    fee = usd(raw)
    if fee < 0:
        raise ValidationError(f"{REQUEST_FEE_KEY} = {raw!r} is negative", field=REQUEST_FEE_KEY, value=raw)
    return fee


def _tokens(entry: Mapping[str, Any], *keys: str) -> int | None:
    for key in keys:
        raw = entry.get(key)
        if raw is None:
            continue
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise ValidationError(f"{key} = {raw!r} is not a token count", field=key, value=raw, valid="an int >= 1")
        return raw
    return None


def spec_from_litellm_entry(
    key: str, entry: Mapping[str, Any], provider: str, *, as_of: date, source: str
) -> ModelSpec:
    """One LiteLLM entry as a ModelSpec; raises ValidationError when a field is unusable."""
    prefix = f"{entry['litellm_provider']}/"
    model = key.removeprefix(prefix)
    prices = {name: _price(entry, litellm_key) for name, litellm_key in _PRICE_KEYS.items()}
    context = _tokens(entry, "max_input_tokens", "max_tokens")
    max_output = _tokens(entry, "max_output_tokens", "max_tokens")
    caps = {cap for flag, cap in _FEATURE_CAPABILITIES.items() if entry.get(flag) is True}
    if context is not None and context >= LONG_CONTEXT_TOKENS:
        caps.add("long-context")
    origin = entry.get("source")
    deprecation = entry.get("deprecation_date")
    free = prices["input_per_million"] == 0 and prices["output_per_million"] == 0
    limits = {"context_window": context, "max_output_tokens": max_output}
    return ModelSpec(
        id=f"{provider}:{model}",
        provider=provider,
        api_model=model,
        **prices,
        price_tiers=price_tiers(entry, prices),
        request_fee_usd=request_fee(entry),
        **{name: value for name, value in limits.items() if value is not None},
        capabilities=frozenset(caps),
        free_tier=free,
        price_source=f"{source} ({origin})" if isinstance(origin, str) and origin else source,
        price_as_of=as_of,
        deprecated=isinstance(deprecation, str) and deprecation[:10] <= as_of.isoformat(),
    )


def convert_litellm(
    data: Mapping[str, Any],
    *,
    as_of: date,
    source: str,
    providers: Mapping[str, str] = LITELLM_PROVIDERS,
) -> LiteLLMImport:
    """Convert a LiteLLM price map, keeping chat models of providers Podium can call."""
    result = LiteLLMImport()
    seen: set[str] = set()
    for key, entry in data.items():
        if key == "sample_spec" or not isinstance(entry, Mapping):
            continue
        provider = providers.get(str(entry.get("litellm_provider")))
        if provider is None:
            result.skipped[SKIP_PROVIDER] += 1
            result.skipped_providers[str(entry.get("litellm_provider"))] += 1
            continue
        if entry.get("mode", "chat") != "chat":
            result.skipped[SKIP_MODE] += 1
            continue
        try:
            spec = spec_from_litellm_entry(key, entry, provider, as_of=as_of, source=source)
        except ValidationError as exc:
            result.skipped[SKIP_INVALID] += 1
            result.invalid.append(f"{key}: {exc}")
            continue
        if spec.id in seen:
            result.skipped[SKIP_DUPLICATE] += 1
            continue
        seen.add(spec.id)
        result.specs.append(spec)
    return result


def specs_from_litellm(data: Mapping[str, Any], *, as_of: date, source: str) -> list[ModelSpec]:
    """The chat models in a LiteLLM price map that Podium can call, priced exactly in USD per 1M tokens."""
    return convert_litellm(data, as_of=as_of, source=source).specs


def load_litellm_file(path: Path | str) -> dict[str, Any]:
    """Read a LiteLLM price map from ``.json`` or ``.json.gz``."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
        data = json.loads(text)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} does not exist", field="file", value=str(path), valid="a readable file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{path} is not a LiteLLM price map ({exc}); use model_prices_and_context_window.json (or .json.gz)",
            field="file",
            value=str(path),
            valid="JSON object of model name -> price entry",
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} holds a JSON {type(data).__name__}, not an object of model name -> price entry",
            field="file",
            value=str(path),
            valid="JSON object",
        )
    return data


# Fields a curated catalog entry knows better than a price file does.
_CURATED_FIELDS = (
    "quality_tier", "region", "trains_on_outputs", "open_weights", "default_rpm", "default_tpm", "description"
)


def keep_curated(known: ModelSpec, imported: ModelSpec) -> ModelSpec:
    """Take prices and limits from ``imported`` but keep what the catalog curates about ``known``."""
    curated = {name: getattr(known, name) for name in _CURATED_FIELDS}
    return replace(
        imported,
        api_model=known.api_model,
        aliases=tuple(dict.fromkeys(known.aliases + imported.aliases)),
        capabilities=known.capabilities | imported.capabilities,
        free_tier=known.free_tier or imported.free_tier,
        **curated,
    )
