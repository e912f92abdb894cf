"""Search order, PODIUM_* overrides with their reported sources, providers merging, and error messages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from podium.config import DEFAULT_PROVIDERS, PodiumConfig, load_config
from podium.config.ledger import LedgerSettings
from podium.config.routing import RoutingSettings
from podium.core.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- search order -------------------------------------------------------------------------------------------


def test_no_file_anywhere_gives_defaults(tmp_path: Path) -> None:
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path / "home")
    assert loaded.path is None
    assert loaded.config == PodiumConfig()
    assert set(loaded.sources.values()) == {"default"}
    assert loaded.sources["orchestration.cost_tracking.budget_limit_usd"] == "default"


def test_search_order_cwd_then_dot_podium_then_home(tmp_path: Path) -> None:
    cwd, home = tmp_path / "proj", tmp_path / "home"
    in_home = _write(home / ".config" / "podium" / "config.yaml", "mode: replay\n")
    assert load_config(env={}, cwd=cwd, home=home).path == in_home
    in_dot = _write(cwd / ".podium" / "config.yaml", "mode: live\n")
    assert load_config(env={}, cwd=cwd, home=home).path == in_dot
    in_cwd = _write(cwd / "podium.yaml", "default_model: openai:gpt-4o-mini\n")
    loaded = load_config(env={}, cwd=cwd, home=home)
    assert loaded.path == in_cwd and loaded.config.default_model == "openai:gpt-4o-mini"


def test_podium_config_variable_wins_over_the_search_path(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "mode: live\n")
    chosen = _write(tmp_path / "elsewhere" / "x.yaml", "mode: replay\n")
    loaded = load_config(env={"PODIUM_CONFIG": str(chosen)}, cwd=tmp_path, home=tmp_path)
    assert loaded.path == chosen and loaded.config.mode == "replay"


def test_podium_config_naming_no_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PODIUM_CONFIG=nope.yaml names no file"):
        load_config(env={"PODIUM_CONFIG": "nope.yaml"}, cwd=tmp_path, home=tmp_path)


def test_explicit_path_wins_and_must_exist(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "mode: live\n")
    other = _write(tmp_path / "other.yaml", "mode: replay\n")
    assert load_config("other.yaml", env={"PODIUM_CONFIG": "podium.yaml"}, cwd=tmp_path).path == other
    with pytest.raises(ConfigError, match="missing.yaml does not exist; create one with `podium init"):
        load_config(tmp_path / "missing.yaml", env={})


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path / "podium.yaml", "# nothing yet\n")
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert loaded.path == path and loaded.config == PodiumConfig()


# -- environment overrides ----------------------------------------------------------------------------------

NAMED = [
    ("PODIUM_QUALITY_THRESHOLD", "0.9", "orchestration.quality_threshold", 0.9),
    ("PODIUM_BUDGET_LIMIT_USD", "250.10", "orchestration.cost_tracking.budget_limit_usd", Decimal("250.10")),
    ("PODIUM_PREFER_FREE_MODELS", "false", "orchestration.prefer_free_models", False),
    ("PODIUM_ORCHESTRATION_ENABLED", "0", "orchestration.enabled", False),
    ("PODIUM_ORCHESTRATOR_MODEL", "claude-opus-4", "orchestration.orchestrator.model", "claude-opus-4"),
    ("PODIUM_ALERT_THRESHOLD", "0.5", "orchestration.cost_tracking.alert_threshold", 0.5),
    ("PODIUM_MODE", "replay", "mode", "replay"),
    ("PODIUM_DEFAULT_MODEL", "ollama:llama3.2", "default_model", "ollama:llama3.2"),
]


def _get(config: PodiumConfig, dotted: str) -> object:
    value: object = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(("var", "raw", "key", "expected"), NAMED)
def test_named_override_applies_over_the_file_and_is_reported(
    tmp_path: Path, var: str, raw: str, key: str, expected: object
) -> None:
    _write(
        tmp_path / "podium.yaml", "orchestration:\n  quality_threshold: 0.7\n  cost_tracking: {budget_limit_usd: 5}\n"
    )
    loaded = load_config(env={var: raw}, cwd=tmp_path, home=tmp_path)
    assert _get(loaded.config, key) == expected
    assert loaded.sources[key] == f"env:{var}"
    untouched = {k: v for k, v in loaded.sources.items() if k != key}
    assert "env:" not in " ".join(untouched.values())


def test_budget_override_is_an_exact_decimal(tmp_path: Path) -> None:
    loaded = load_config(env={"PODIUM_BUDGET_LIMIT_USD": "0.10"}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.orchestration.cost_tracking.budget_limit_usd == Decimal("0.10")
    assert str(loaded.config.orchestration.cost_tracking.budget_limit_usd) == "0.10"


def test_overrides_are_ignored_when_disabled(tmp_path: Path) -> None:
    loaded = load_config(env={"PODIUM_MODE": "replay"}, cwd=tmp_path, home=tmp_path, use_env_overrides=False)
    assert loaded.config.mode == "live" and loaded.sources["mode"] == "default"


def test_generic_double_underscore_form_reaches_any_field(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "providers:\n  ollama:\n    read_timeout: 30\n")
    env = {
        "PODIUM__PROVIDERS__OLLAMA__BASE_URL": "http://gpu-box:11434/v1",
        "PODIUM__ORCHESTRATION__FALLBACK_STRATEGY__MODELS": "[groq:llama-3.3-70b-versatile, openai:gpt-4o-mini]",
        "PODIUM__ORCHESTRATION__COST_TRACKING__ENABLED": "no",
    }
    loaded = load_config(env=env, cwd=tmp_path, home=tmp_path)
    ollama = loaded.config.providers["ollama"]
    assert ollama.base_url == "http://gpu-box:11434/v1" and ollama.read_timeout == 30 and ollama.local
    assert loaded.sources["providers.ollama.base_url"] == "env:PODIUM__PROVIDERS__OLLAMA__BASE_URL"
    assert loaded.sources["providers.ollama.read_timeout"] == "file"
    assert loaded.sources["providers.ollama.kind"] == "default"
    fallback = loaded.config.orchestration.fallback_strategy.models
    assert fallback == ("groq:llama-3.3-70b-versatile", "openai:gpt-4o-mini")
    assert loaded.config.orchestration.cost_tracking.enabled is False


def test_generic_form_reaches_other_sections_fields(tmp_path: Path) -> None:
    name, field = next(
        (n, f) for n, f in RoutingSettings.model_fields.items() if f.annotation in (float, int, str, bool)
    )
    sample = {float: "0.5", int: "7", str: "x", bool: "true"}[field.annotation]  # type: ignore[index]
    var = f"PODIUM__ROUTING__{name.upper()}"
    loaded = load_config(env={var: sample}, cwd=tmp_path, home=tmp_path)
    assert loaded.sources[f"routing.{name}"] == f"env:{var}"


def test_ledger_url_variable_follows_the_ledger_section(tmp_path: Path) -> None:
    loaded = load_config(env={"PODIUM_LEDGER_URL": "sqlite:///tmp/x.db"}, cwd=tmp_path, home=tmp_path)
    url_field = next((f for f in ("url", "database_url", "db_url") if f in LedgerSettings.model_fields), None)
    if url_field is None:
        assert "env:PODIUM_LEDGER_URL" not in loaded.sources.values()
    else:
        assert getattr(loaded.config.ledger, url_field) == "sqlite:///tmp/x.db"
        assert loaded.sources[f"ledger.{url_field}"] == "env:PODIUM_LEDGER_URL"


def test_seed_tta_variables_still_work_and_podium_ones_win(tmp_path: Path) -> None:
    env = {"TTA_QUALITY_THRESHOLD": "0.95", "TTA_BUDGET_LIMIT_USD": "200.0"}
    loaded = load_config(env=env, cwd=tmp_path, home=tmp_path)
    assert loaded.config.orchestration.quality_threshold == 0.95
    assert loaded.sources["orchestration.quality_threshold"] == "env:TTA_QUALITY_THRESHOLD"
    env["PODIUM_QUALITY_THRESHOLD"] = "0.6"
    assert load_config(env=env, cwd=tmp_path, home=tmp_path).config.orchestration.quality_threshold == 0.6


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"PODIUM_QUALITY_THRESHOLD": "1.5"},
            (
                "environment variable PODIUM_QUALITY_THRESHOLD: orchestration.quality_threshold = '1.5' is not valid: "
                "input should be less than or equal to 1"
            ),
        ),
        (
            {"PODIUM_MODE": "record"},
            "environment variable PODIUM_MODE: mode = 'record' is not valid: input should be 'live' or 'replay'",
        ),
        (
            {"PODIUM_BUDGET_LIMIT_USD": "lots"},
            "PODIUM_BUDGET_LIMIT_USD: orchestration.cost_tracking.budget_limit_usd = 'lots'",
        ),
        (
            {"PODIUM_PREFER_FREE_MODELS": "maybe"},
            "PODIUM_PREFER_FREE_MODELS: orchestration.prefer_free_models = 'maybe'",
        ),
        ({"PODIUM__ORCHESTRATION__TRESHOLD": "1"}, "unknown key 'treshold' in section orchestration"),
        ({"PODIUM__": "1"}, "PODIUM__ is not a valid override; use PODIUM__SECTION__KEY=value"),
        ({"PODIUM__MODELS": "[a, b"}, "PODIUM__MODELS: '[a, b' is not a valid list or mapping"),
    ],
)
def test_bad_override_names_the_variable_the_key_and_what_is_valid(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env=env, cwd=tmp_path, home=tmp_path)
    assert expected in str(info.value)


# -- providers ----------------------------------------------------------------------------------------------


def test_provider_entry_overrides_only_the_fields_it_sets(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "providers:\n  ollama:\n    base_url: http://gpu-box:11434/v1\n")
    providers = load_config(env={}, cwd=tmp_path, home=tmp_path).config.providers
    default = DEFAULT_PROVIDERS["ollama"]
    assert providers["ollama"].base_url == "http://gpu-box:11434/v1"
    assert providers["ollama"].model_copy(update={"base_url": default.base_url}) == default
    assert {n: p for n, p in providers.items() if n != "ollama"} == {
        n: p for n, p in DEFAULT_PROVIDERS.items() if n != "ollama"
    }


def test_new_provider_names_are_added_and_aliases_merge_into_builtins(tmp_path: Path) -> None:
    text = (
        "providers:\n"
        "  my-vllm:\n    kind: openai\n    base_url: http://10.0.0.5:8000/v1\n    api_key_env: MY_VLLM_KEY\n"
        "    headers: {X-Team: ml}\n"
        "  google-ai-studio:\n    read_timeout: 300\n"
    )
    _write(tmp_path / "podium.yaml", text)
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path)
    vllm = loaded.config.providers["my-vllm"]
    assert (vllm.name, vllm.kind, vllm.api_key_env, vllm.headers) == (
        "my-vllm",
        "openai",
        "MY_VLLM_KEY",
        {"X-Team": "ml"},
    )
    assert loaded.config.providers["gemini"].read_timeout == 300
    assert loaded.config.providers["gemini"].kind == "gemini"
    assert loaded.sources["providers.gemini.read_timeout"] == "file"


# -- file errors --------------------------------------------------------------------------------------------


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "podium.yaml", "mode: live\norchestration:\n  enabled: true\n   bad: [\n")
    with pytest.raises(ConfigError, match=rf"{path} line 4, column \d+: YAML syntax error"):
        load_config(env={}, cwd=tmp_path, home=tmp_path)


def test_bad_types_name_file_line_key_value_and_what_is_valid(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "podium.yaml",
        "orchestration:\n  quality_threshold: high\n"
        "  cost_tracking:\n    budget_limit_usd: -5\n    alert_threshold: 2\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    msg = str(info.value)
    assert (
        f"{path} line 2: orchestration.quality_threshold = 'high' is not valid: input should be a valid number" in msg
    )
    assert f"{path} line 4: orchestration.cost_tracking.budget_limit_usd = -5 is not valid" in msg
    assert "greater than or equal to 0" in msg
    assert f"{path} line 5: orchestration.cost_tracking.alert_threshold = 2 is not valid" in msg
    assert info.value.field == "orchestration.quality_threshold" and info.value.value == "high"
    assert "\n" not in msg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "orchestraton:\n  enabled: true\n",
            "line 1: unknown key 'orchestraton' in the top level (did you mean 'orchestration'?)",
        ),
        (
            "providers:\n  ollama:\n    bse_url: http://x\n",
            "line 3: unknown key 'bse_url' in section providers.ollama (did you mean 'base_url'?)",
        ),
        (
            "orchestration:\n  cost_tracking:\n    budget: 5\n",
            "unknown key 'budget' in section orchestration.cost_tracking",
        ),
        ("routing:\n  no_such_setting: 1\n", "unknown key 'no_such_setting' in section routing"),
    ],
)
def test_unknown_keys_list_the_valid_keys(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path / "podium.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert expected in str(info.value)
    assert "valid keys: " in str(info.value) or "takes no keys yet" in str(info.value)


def test_unknown_key_in_a_section_lists_that_sections_current_fields(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "orchestration:\n  cost_tracking:\n    budget: 5\n")
    with pytest.raises(ConfigError, match="valid keys: alert_threshold, budget_limit_usd, enabled"):
        load_config(env={}, cwd=tmp_path, home=tmp_path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "- orchestration\n")
    with pytest.raises(ConfigError, match="top level must be a mapping of sections"):
        load_config(env={}, cwd=tmp_path, home=tmp_path)


def test_models_entries_are_kept_for_the_catalog(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "models:\n  - id: my-vllm:qwen\n    input_per_million: 0\n")
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.models == [{"id": "my-vllm:qwen", "input_per_million": 0}]
    assert loaded.sources["models"] == "file"


def test_config_is_immutable() -> None:
    config = PodiumConfig()
    with pytest.raises(Exception, match="frozen"):
        config.mode = "replay"  # type: ignore[misc]


def test_sections_left_empty_mean_their_defaults(tmp_path: Path) -> None:
    _write(tmp_path / "podium.yaml", "orchestration:\nrouting:\n# ledger: {}\nproviders:\nmodels:\n")
    assert load_config(env={}, cwd=tmp_path, home=tmp_path).config == PodiumConfig()
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert loaded.sources["orchestration.enabled"] == "default"


def test_a_whole_mapping_set_from_env_marks_the_keys_it_sets(tmp_path: Path) -> None:
    var = "PODIUM__ORCHESTRATION__COST_TRACKING"
    loaded = load_config(env={var: "{enabled: false, budget_limit_usd: 7}"}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.orchestration.cost_tracking.budget_limit_usd == Decimal(7)
    assert loaded.sources["orchestration.cost_tracking.enabled"] == f"env:{var}"
    assert loaded.sources["orchestration.cost_tracking.budget_limit_usd"] == f"env:{var}"
    assert loaded.sources["orchestration.cost_tracking.alert_threshold"] == "default"


def test_provider_aliases_in_env_overrides_edit_the_canonical_entry(tmp_path: Path) -> None:
    var = "PODIUM__PROVIDERS__GOOGLE__READ_TIMEOUT"
    loaded = load_config(env={var: "42"}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.providers["gemini"].read_timeout == 42
    assert loaded.sources["providers.gemini.read_timeout"] == f"env:{var}"


def test_provider_headers_stay_out_of_the_settings_repr() -> None:
    from podium.config.providers import ProviderSettings

    settings = ProviderSettings(name="corp", headers={"authorization": "Bearer sk-corp-secret-123"})
    assert "sk-corp-secret-123" not in repr(settings) and settings.headers["authorization"].endswith("123")
