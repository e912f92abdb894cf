"""The bundled catalog: exact prices, aliases, lookup errors and data hygiene."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from podium.catalog import Catalog
from podium.core.errors import UnknownModelError
from podium.core.model_spec import CAPABILITIES, QUALITY_TIERS
from podium.core.types import Usage

D = Decimal


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


@pytest.mark.parametrize(
    ("name", "inp", "out", "cached"),
    [
        ("openai:gpt-4o-mini", "0.15", "0.6", "0.075"),
        ("anthropic:claude-haiku-4-5", "1", "5", "0.1"),
        ("anthropic:claude-3-5-haiku", "0.8", "4", "0.08"),
        ("anthropic:claude-sonnet-4-5", "3", "15", "0.3"),
        ("anthropic:claude-3-opus", "15", "75", "1.5"),
        ("anthropic:claude-opus-4-5", "5", "25", "0.5"),
        ("openai:gpt-4o", "2.5", "10", "1.25"),
        ("openai:gpt-4", "30", "60", None),
        ("openai:gpt-5", "1.25", "10", "0.125"),
        ("gemini:gemini-2.5-pro", "1.25", "10", "0.125"),
        ("deepseek:deepseek-chat", "0.28", "0.42", "0.028"),
        ("moonshot:kimi-k2.5", "0.6", "3", "0.1"),
        ("groq:llama-3.3-70b-versatile", "0.59", "0.79", None),
    ],
)
def test_prices_are_exact_decimals(catalog: Catalog, name: str, inp: str, out: str, cached: str | None) -> None:
    spec = catalog.get(name)
    assert spec.input_per_million == D(inp)
    assert spec.output_per_million == D(out)
    assert spec.cached_input_per_million == (None if cached is None else D(cached))
    assert isinstance(spec.input_per_million, Decimal)


@pytest.mark.parametrize(
    ("alias", "model_id"),
    [
        ("claude-sonnet-4.5", "anthropic:claude-sonnet-4-5"),
        ("claude-haiku-3.5", "anthropic:claude-3-5-haiku"),
        ("claude-opus-3", "anthropic:claude-3-opus"),
        ("claude-sonnet-3.5", "anthropic:claude-3-5-sonnet"),
        ("claude-opus-4", "anthropic:claude-opus-4"),
        ("claude-3-5-haiku-20241022", "anthropic:claude-3-5-haiku"),
        ("CLAUDE-Sonnet-4.5", "anthropic:claude-sonnet-4-5"),
        ("gpt-4o-mini", "openai:gpt-4o-mini"),  # bare model part of a unique id
        ("gemini-2.5-pro", "gemini:gemini-2.5-pro"),
        ("gemini-pro", "gemini:gemini-2.5-pro"),
        ("llama-3.3-70b-versatile", "groq:llama-3.3-70b-versatile"),
        ("deepseek/deepseek-r1:free", "openrouter:deepseek/deepseek-r1:free"),
        ("anthropic/claude-3-opus-20240229", "openrouter:anthropic/claude-3-opus"),
        ("kimi-k2.5", "moonshot:kimi-k2.5"),
        ("google:gemini-2.5-flash", "gemini:gemini-2.5-flash"),  # provider alias from config.providers
        ("  openai:GPT-4o  ", "openai:gpt-4o"),
    ],
)
def test_aliases_resolve(catalog: Catalog, alias: str, model_id: str) -> None:
    assert catalog.resolve(alias) == model_id
    assert catalog.get(alias).id == model_id
    assert alias in catalog


def test_anthropic_api_model_is_the_dated_name(catalog: Catalog) -> None:
    assert catalog.get("claude-sonnet-4.5").api_model == "claude-sonnet-4-5-20250929"
    assert catalog.get("claude-haiku-4-5").api_model == "claude-haiku-4-5-20251001"
    assert catalog.get("claude-opus-3").api_model == "claude-3-opus-20240229"


def test_unknown_model_suggests_close_names(catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as info:
        catalog.get("claude-sonet-4.5")
    err = info.value
    assert err.model == "claude-sonet-4.5"
    assert 1 <= len(err.suggestions) <= 3
    assert catalog.resolve(err.suggestions[0]) == "anthropic:claude-sonnet-4-5"
    assert "did you mean" in str(err) and "podium models" in str(err)
    assert "nonexistent-model-xyz" not in catalog


def test_ambiguous_bare_name_lists_the_candidates() -> None:
    from podium.core.model_spec import ModelSpec

    cat = Catalog(
        [
            ModelSpec(id="ollama:llama3.2", provider="ollama", api_model="llama3.2"),
            ModelSpec(id="llamacpp:llama3.2", provider="llamacpp", api_model="llama3.2"),
        ]
    )
    with pytest.raises(UnknownModelError) as info:
        cat.get("llama3.2")
    assert sorted(info.value.suggestions) == ["llamacpp:llama3.2", "ollama:llama3.2"]


def test_every_bundled_entry_is_sourced_dated_and_valid(catalog: Catalog) -> None:
    specs = catalog.all()
    assert 80 <= len(specs) <= 150
    for s in specs:
        assert s.id == f"{s.provider}:{s.id.split(':', 1)[1]}", s.id
        assert s.price_source, s.id
        assert isinstance(s.price_as_of, date) and s.price_as_of <= date(2025, 11, 1), s.id
        assert s.priced, s.id
        for price in (s.input_per_million, s.output_per_million, s.cached_input_per_million, s.cache_write_per_million):
            assert price is None or (isinstance(price, Decimal) and price >= 0), s.id
        assert s.capabilities <= set(CAPABILITIES), s.id
        assert s.quality_tier in QUALITY_TIERS, s.id
        assert s.context_window >= 1 and s.max_output_tokens >= 1, s.id


def test_free_and_local_models_cost_nothing(catalog: Catalog) -> None:
    for name in (
        "openrouter:deepseek/deepseek-r1:free",
        "openrouter:meta-llama/llama-3.3-70b-instruct:free",
        "ollama:llama3.2",
        "ollama:qwen2.5-coder",
    ):
        spec = catalog.get(name)
        assert spec.free_tier and spec.input_per_million == 0 and spec.output_per_million == 0
    assert catalog.get("ollama:llama3.2").price_source == "local server (no charge)"
    assert {"vllm", "llamacpp", "mistral", "together"} <= set(catalog.providers())


def test_cost_with_cached_tokens_matches_hand_computation(catalog: Catalog) -> None:
    spec = catalog.get("claude-haiku-4-5")  # $1 in, $5 out, $0.10 cache read, $1.25 cache write per 1M
    usage = Usage(input_tokens=10_000, output_tokens=2_000, cached_input_tokens=6_000, cache_write_tokens=1_000)
    expected = (D(3_000) * D(1) + D(6_000) * D("0.1") + D(1_000) * D("1.25") + D(2_000) * D(5)) / D(1_000_000)
    assert spec.cost(usage) == expected == D("0.01485")
    mini = catalog.get("gpt-4o-mini")
    # 500k uncached at 0.15 + 500k cached at 0.075 + 1M out at 0.60
    assert mini.cost(Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_input_tokens=500_000)) == D("0.7125")


def test_filter_and_by_provider(catalog: Catalog) -> None:
    cheap_vision = catalog.filter(capabilities=["vision"], max_input_price="0.2", min_context=100_000)
    ids = {s.id for s in cheap_vision}
    assert "openai:gpt-4o-mini" in ids and "openai:gpt-4o" not in ids
    assert all(s.has("vision") and s.input_per_million <= D("0.2") for s in cheap_vision)  # type: ignore[operator]
    assert {s.provider for s in catalog.by_provider("google")} == {"gemini"}
    with pytest.raises(ValueError, match="capability 'telepathy'"):
        catalog.filter(capabilities=["telepathy"])


def test_bundled_returns_independent_catalogs() -> None:
    from podium.core.model_spec import ModelSpec

    first = Catalog.bundled()
    first.add(ModelSpec(id="custom:thing", provider="custom", api_model="thing"))
    assert "custom:thing" in first
    assert "custom:thing" not in Catalog.bundled()


def test_public_api_is_pinned() -> None:
    import podium.catalog as pkg

    assert sorted(pkg.__all__) == sorted(
        [
            "LITELLM_PROVIDERS",
            "Catalog",
            "LiteLLMImport",
            "convert_litellm",
            "keep_curated",
            "load_litellm_file",
            "podium_home",
            "read_models_file",
            "save_user_models",
            "spec_from_mapping",
            "spec_to_mapping",
            "specs_from_litellm",
            "user_models_path",
        ]
    )
    assert all(getattr(pkg, name) is not None for name in pkg.__all__)
