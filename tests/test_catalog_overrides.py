"""User overrides (podium.yaml `models:`), mapping round trips and the user models file."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from podium.catalog import Catalog, read_models_file, save_user_models, spec_from_mapping, spec_to_mapping
from podium.catalog.catalog import USER_OVERRIDE_SOURCE
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec


def test_partial_override_keeps_the_other_fields() -> None:
    base = Catalog.bundled()
    out = base.with_overrides([{"id": "claude-sonnet-4.5", "input_per_million": "2.5", "default_rpm": 50}])
    spec = out.get("anthropic:claude-sonnet-4-5")
    assert spec.input_per_million == Decimal("2.5")
    assert spec.default_rpm == 50
    assert spec.output_per_million == Decimal(15)  # untouched
    assert spec.api_model == "claude-sonnet-4-5-20250929"
    assert "claude-sonnet-4.5" in spec.aliases
    assert spec.price_source == USER_OVERRIDE_SOURCE and spec.price_as_of is None
    assert base.get("anthropic:claude-sonnet-4-5").input_per_million == Decimal(3)  # original untouched


def test_override_with_its_own_source_keeps_it() -> None:
    out = Catalog.bundled().with_overrides(
        [
            {
                "id": "openai:gpt-4o-mini",
                "output_per_million": 0.5,
                "price_source": "contract",
                "price_as_of": "2025-12-01",
            }
        ]
    )
    spec = out.get("gpt-4o-mini")
    assert spec.output_per_million == Decimal("0.5")  # float goes through repr, so exactly 0.5
    assert (spec.price_source, spec.price_as_of) == ("contract", date(2025, 12, 1))


def test_new_model_from_config() -> None:
    out = Catalog.bundled().with_overrides(
        [
            {
                "id": "ollama:phi4",
                "input_per_million": 0,
                "output_per_million": 0,
                "capabilities": ["code", "math"],
                "context_window": 16384,
                "aliases": ["phi4-local"],
            }
        ]
    )
    spec = out.get("phi4-local")
    assert (spec.id, spec.provider, spec.api_model) == ("ollama:phi4", "ollama", "phi4")
    assert spec.capabilities == frozenset({"code", "math"})
    assert spec.input_per_million == 0 and spec.priced


@pytest.mark.parametrize(
    ("entry", "field", "hint"),
    [
        ({"id": "openai:x", "quality_tier": "genius"}, "quality_tier", "basic, standard, advanced, frontier"),
        ({"id": "openai:x", "capabilities": ["code", "telepathy"]}, "capabilities", "telepathy unknown"),
        ({"id": "openai:x", "input_per_million": "-1"}, "input_per_million", "non-negative"),
        ({"id": "openai:x", "input_per_million": "cheap"}, "input_per_million", "non-negative"),
        ({"id": "openai:x", "context_window": 0}, "context_window", "at least 1"),
        ({"id": "openai:x", "price_as_of": "yesterday"}, "price_as_of", "ISO date"),
        ({"id": "openai:x", "free_tier": "yes"}, "free_tier", "true or false"),
        ({"id": "openai:x", "speed": 3}, "speed", "known fields are"),
        ({"id": "gpt-new-thing"}, "id", "provider:model"),
        ({"id": "openai:x", "provider": "groq"}, "provider", "'openai'"),
    ],
)
def test_bad_field_errors_name_entry_field_value_and_valid(entry: dict, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        Catalog.bundled().with_overrides([{"id": "openai:ok", "input_per_million": 1, "output_per_million": 2}, entry])
    err = info.value
    message = str(err)
    assert f"{field} = " in message and hint in message
    assert "override 2" in message  # names the entry
    assert err.field is not None and err.field.endswith(field)
    assert err.value == entry.get(field, err.value)


def test_override_of_a_bundled_model_with_bad_value_names_the_model() -> None:
    with pytest.raises(ConfigError, match=r"model claude-haiku-4-5 \(override 1\): max_output_tokens = -5"):
        Catalog.bundled().with_overrides([{"id": "claude-haiku-4-5", "max_output_tokens": -5}])


def test_mapping_round_trip_is_lossless() -> None:
    for spec in Catalog.bundled():
        data = spec_to_mapping(spec)
        json.dumps(data)  # JSON-ready
        assert spec_from_mapping(data) == spec
    mapping = spec_to_mapping(Catalog.bundled().get("openai:gpt-4"))
    assert mapping["input_per_million"] == "30" and mapping["output_per_million"] == "60"  # no exponent form


def test_user_models_file_round_trip_and_default_catalog(tmp_path: Path) -> None:
    spec = ModelSpec(
        id="together:new/model",
        provider="together",
        api_model="new/model",
        input_per_million=Decimal("0.1"),
        output_per_million=Decimal("0.2"),
        price_source="test",
        price_as_of=date(2025, 1, 2),
    )
    path = save_user_models(tmp_path, [spec])
    assert path == tmp_path / "models.json"
    assert read_models_file(path) == [spec]
    catalog = Catalog.default(tmp_path)
    assert catalog.get("new/model") == spec
    assert "openai:gpt-4o-mini" in catalog


def test_default_catalog_reads_podium_home_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "ph"
    save_user_models(home, [ModelSpec(id="vllm:mine", provider="vllm", api_model="mine", price_source="x")])
    monkeypatch.setenv("PODIUM_HOME", str(home))
    assert "vllm:mine" in Catalog.default()


def test_broken_user_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "models.json").write_text("{not json")
    with pytest.raises(ConfigError, match="models.json is not valid JSON"):
        Catalog.default(tmp_path)
