"""LiteLLM price-map import: exact conversion, provider mapping, skips, and keeping curated fields."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from podium.catalog import Catalog, convert_litellm, keep_curated, load_litellm_file, specs_from_litellm
from podium.core.errors import ConfigError

AS_OF = date(2025, 11, 1)
SAMPLE = {
    "sample_spec": {"litellm_provider": "one of ...", "max_input_tokens": "max input tokens"},
    "gpt-4o-mini": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1.5e-07,
        "output_cost_per_token": 6e-07,
        "cache_read_input_token_cost": 7.5e-08,
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "supports_vision": True,
        "supports_function_calling": True,
        "source": "https://openai.com/pricing",
    },
    "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo": {
        "litellm_provider": "together_ai",
        "mode": "chat",
        "input_cost_per_token": 8.8e-07,
        "output_cost_per_token": 8.8e-07,
        "max_tokens": 131072,
    },
    "gemini/gemini-2.5-flash": {
        "litellm_provider": "gemini",
        "mode": "chat",
        "input_cost_per_token": 3e-07,
        "output_cost_per_token": 2.5e-06,
        "max_input_tokens": 1048576,
        "max_output_tokens": 65536,
        "supports_reasoning": True,
    },
    "old-model": {
        "litellm_provider": "openai",
        "mode": "chat",
        "input_cost_per_token": 1e-06,
        "output_cost_per_token": 2e-06,
        "deprecation_date": "2025-01-01",
    },
    "text-embedding-3-small": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08},
    "anthropic.claude-v2:1": {"litellm_provider": "bedrock", "mode": "chat", "input_cost_per_token": 8e-06},
    "azure/gpt-4o": {"litellm_provider": "azure", "mode": "chat", "input_cost_per_token": 2.5e-06},
    "broken": {"litellm_provider": "groq", "mode": "chat", "input_cost_per_token": -1e-06},
    "deepseek-chat": {
        "litellm_provider": "deepseek",
        "mode": "chat",
        "input_cost_per_token": 2.8e-07,
        "output_cost_per_token": 4.2e-07,
    },
    "deepseek/deepseek-chat": {
        "litellm_provider": "deepseek",
        "mode": "chat",
        "input_cost_per_token": 2.8e-07,
        "output_cost_per_token": 4.2e-07,
    },
}


def test_convert_maps_providers_prices_and_capabilities() -> None:
    result = convert_litellm(SAMPLE, as_of=AS_OF, source="litellm test")
    by_id = {s.id: s for s in result.specs}
    assert set(by_id) == {
        "openai:gpt-4o-mini",
        "together:meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "gemini:gemini-2.5-flash",
        "openai:old-model",
        "deepseek:deepseek-chat",
    }
    mini = by_id["openai:gpt-4o-mini"]
    assert (mini.input_per_million, mini.output_per_million, mini.cached_input_per_million) == (
        Decimal("0.15"),
        Decimal("0.6"),
        Decimal("0.075"),
    )
    assert (mini.context_window, mini.max_output_tokens) == (128000, 16384)
    assert mini.capabilities == frozenset({"vision", "tools"})
    assert mini.price_source == "litellm test (https://openai.com/pricing)" and mini.price_as_of == AS_OF
    llama = by_id["together:meta-llama/Llama-3.3-70B-Instruct-Turbo"]
    assert llama.api_model == "meta-llama/Llama-3.3-70B-Instruct-Turbo"
    assert llama.input_per_million == Decimal("0.88") and llama.context_window == 131072
    assert llama.price_source == "litellm test"
    flash = by_id["gemini:gemini-2.5-flash"]
    assert flash.capabilities == frozenset({"reasoning", "long-context"})
    assert by_id["openai:old-model"].deprecated and not mini.deprecated


def test_skips_are_counted_by_reason() -> None:
    result = convert_litellm(SAMPLE, as_of=AS_OF, source="s")
    assert result.skipped == {
        "provider Podium cannot call": 2,
        "not a chat model": 1,
        "invalid entry": 1,
        "duplicate id": 1,
    }
    assert result.skipped_providers == {"bedrock": 1, "azure": 1}
    assert result.invalid and result.invalid[0].startswith("broken: input_cost_per_token")
    summary = result.summary()
    assert summary.startswith("5 imported, 5 skipped")
    assert "2 provider Podium cannot call (bedrock 1, azure 1" in summary
    assert specs_from_litellm(SAMPLE, as_of=AS_OF, source="s") == result.specs


@pytest.mark.parametrize("gz", [False, True])
def test_load_json_and_gzip(tmp_path: Path, gz: bool) -> None:
    raw = json.dumps(SAMPLE).encode()
    path = tmp_path / ("prices.json.gz" if gz else "prices.json")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    assert load_litellm_file(path) == SAMPLE


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_litellm_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="bad.json holds a JSON list"):
        load_litellm_file(bad)
    bad.write_text("{oops")
    with pytest.raises(ConfigError, match="bad.json is not a LiteLLM price map"):
        load_litellm_file(bad)


def test_keep_curated_takes_prices_but_keeps_aliases_and_tier() -> None:
    known = Catalog.bundled().get("openai:gpt-4o-mini")
    imported = convert_litellm(
        {"gpt-4o-mini": {**SAMPLE["gpt-4o-mini"], "input_cost_per_token": 1e-07}}, as_of=date(2026, 1, 1), source="new"
    ).specs[0]
    merged = keep_curated(known, imported)
    assert merged.input_per_million == Decimal("0.1") and merged.price_as_of == date(2026, 1, 1)
    assert merged.aliases == known.aliases and merged.quality_tier == known.quality_tier
    assert merged.capabilities >= known.capabilities
