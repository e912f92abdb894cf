"""Seed 001's orchestration YAML loads as written, and its schema rules hold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from podium.config import USE_CASES, ExecutorConfig, PodiumConfig, create_default_config, load_config
from podium.core.errors import ConfigError, ValidationError

# Seed 001, "Full Example", verbatim.
SEED_FULL = """\
orchestration:
  # Global settings
  enabled: true
  prefer_free_models: true
  quality_threshold: 0.85
  
  # Orchestrator (planning + validation)
  orchestrator:
    model: claude-sonnet-4.5
    api_key_env: ANTHROPIC_API_KEY
  
  # Executors (bulk execution)
  executors:
    - model: gemini-2.5-pro
      provider: google-ai-studio
      api_key_env: GOOGLE_API_KEY
      use_cases: [moderate, complex]
    
    - model: llama-3.3-70b-versatile
      provider: groq
      api_key_env: GROQ_API_KEY
      use_cases: [simple, speed-critical]
    
    - model: deepseek/deepseek-r1:free
      provider: openrouter
      api_key_env: OPENROUTER_API_KEY
      use_cases: [complex, reasoning]
  
  # Fallback strategy
  fallback_strategy:
    models:
      - gemini-2.5-pro
      - llama-3.3-70b-versatile
      - claude-sonnet-4.5
  
  # Cost tracking
  cost_tracking:
    enabled: true
    budget_limit_usd: 100.0
    alert_threshold: 0.8
"""

# Seed 001, "Scenario 2: Quality-Optimized": an orchestrator with only `model`, executors limited.
SEED_SCENARIO_2 = """\
orchestration:
  enabled: true
  prefer_free_models: false  # Prefer paid models
  quality_threshold: 0.95    # High threshold
  
  orchestrator:
    model: claude-opus-4  # Use highest quality orchestrator
  
  executors:
    - model: gemini-2.5-pro
      provider: google-ai-studio
      api_key_env: GOOGLE_API_KEY
      use_cases: [simple, moderate]  # Only simple/moderate tasks
  
  fallback_strategy:
    models:
      - claude-opus-4  # Prefer paid model
      - gemini-2.5-pro
"""


def _load(tmp_path: Path, text: str) -> PodiumConfig:
    (tmp_path / "podium.yaml").write_text(text)
    return load_config(cwd=tmp_path, home=tmp_path, env={}).config


def test_seed_full_example_loads_unchanged(tmp_path: Path) -> None:
    orch = _load(tmp_path, SEED_FULL).orchestration
    assert orch.enabled and orch.prefer_free_models and orch.quality_threshold == 0.85
    assert (orch.orchestrator.model, orch.orchestrator.api_key_env) == ("claude-sonnet-4.5", "ANTHROPIC_API_KEY")
    assert [(e.model, e.provider, e.api_key_env, e.use_cases) for e in orch.executors] == [
        ("gemini-2.5-pro", "gemini", "GOOGLE_API_KEY", ("moderate", "complex")),
        ("llama-3.3-70b-versatile", "groq", "GROQ_API_KEY", ("simple", "speed-critical")),
        ("deepseek/deepseek-r1:free", "openrouter", "OPENROUTER_API_KEY", ("complex", "reasoning")),
    ]
    assert orch.fallback_strategy.models == ("gemini-2.5-pro", "llama-3.3-70b-versatile", "claude-sonnet-4.5")
    assert orch.cost_tracking.budget_limit_usd == Decimal("100.0")
    assert isinstance(orch.cost_tracking.budget_limit_usd, Decimal)
    assert orch.cost_tracking.alert_threshold == 0.8


def test_seed_provider_names_map_to_podium_providers(tmp_path: Path) -> None:
    orch = _load(tmp_path, SEED_FULL).orchestration
    assert [e.model_id for e in orch.executors] == [
        "gemini:gemini-2.5-pro",
        "groq:llama-3.3-70b-versatile",
        "openrouter:deepseek/deepseek-r1:free",
    ]


def test_seed_scenario_with_partial_orchestrator_keeps_defaults(tmp_path: Path) -> None:
    orch = _load(tmp_path, SEED_SCENARIO_2).orchestration
    assert orch.orchestrator.model == "claude-opus-4"
    assert orch.orchestrator.api_key_env == "ANTHROPIC_API_KEY"
    assert orch.prefer_free_models is False and orch.quality_threshold == 0.95
    assert orch.cost_tracking.budget_limit_usd == Decimal("100.0")


def test_executor_lookup_by_use_case_follows_listing_order(tmp_path: Path) -> None:
    orch = _load(tmp_path, SEED_FULL).orchestration
    assert orch.get_executor_for_use_case("moderate").model == "gemini-2.5-pro"  # type: ignore[union-attr]
    assert orch.get_executor_for_use_case("complex").model == "gemini-2.5-pro"  # type: ignore[union-attr]
    assert orch.get_executor_for_use_case("speed-critical").provider == "groq"  # type: ignore[union-attr]
    assert orch.get_executor_for_use_case("reasoning").provider == "openrouter"  # type: ignore[union-attr]
    assert orch.get_executor_for_use_case("expert") is None
    with pytest.raises(ValidationError, match="'urgent'.*simple, moderate, complex, expert, speed-critical, reasoning"):
        orch.get_executor_for_use_case("urgent")


def test_get_api_key_reads_the_named_variable_from_the_given_env() -> None:
    orch = PodiumConfig().orchestration
    ex = orch.get_executor_for_use_case("simple")
    assert ex is not None
    assert orch.get_api_key(ex.api_key_env, env={"GROQ_API_KEY": "gsk-test"}) == "gsk-test"
    assert orch.get_api_key(ex.api_key_env, env={}) is None
    assert orch.get_api_key("GROQ_API_KEY", env={"GROQ_API_KEY": ""}) is None


def test_invalid_use_case_names_the_value_and_lists_the_six(tmp_path: Path) -> None:
    bad = SEED_FULL.replace("use_cases: [simple, speed-critical]", "use_cases: [simple, invalid]")
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, bad)
    msg = str(info.value)
    assert "'invalid'" in msg
    assert "orchestration.executors[1].use_cases" in msg
    assert "simple, moderate, complex, expert, speed-critical, reasoning" in msg
    assert f"{tmp_path / 'podium.yaml'} line 22" in msg


def test_use_cases_are_the_seeds_six() -> None:
    assert USE_CASES == ("simple", "moderate", "complex", "expert", "speed-critical", "reasoning")
    one: object = "simple"  # a bare string is a one-item list
    ex = ExecutorConfig(model="m", provider="Google-AI-Studio", api_key_env="K", use_cases=one)  # type: ignore
    assert ex.provider == "gemini" and ex.use_cases == ("simple",)


def test_executor_missing_required_keys_names_them(tmp_path: Path) -> None:
    text = "orchestration:\n  executors:\n    - model: gemini-2.5-pro\n      provider: groq\n"
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert "orchestration.executors[0] is missing the required key 'api_key_env'" in str(info.value)
    assert "'use_cases'" in str(info.value)


def test_executor_with_unknown_provider_lists_known_ones(tmp_path: Path) -> None:
    text = "orchestration:\n  executors:\n    - {model: m, provider: acme, api_key_env: K, use_cases: [simple]}\n"
    with pytest.raises(ConfigError, match=r"line 3: orchestration.executors\[0\].provider 'acme' .*known: anthropic"):
        _load(tmp_path, text)


def test_executor_may_use_a_provider_declared_in_the_same_file(tmp_path: Path) -> None:
    text = (
        "providers:\n  my-vllm: {kind: openai, base_url: 'http://10.0.0.5:8000/v1'}\n"
        "orchestration:\n  executors:\n    - {model: qwen, provider: my-vllm, api_key_env: NONE, use_cases: [simple]}\n"
    )
    assert _load(tmp_path, text).orchestration.executors[0].model_id == "my-vllm:qwen"


def test_default_config_file_round_trips_to_the_defaults(tmp_path: Path) -> None:
    written = create_default_config(tmp_path / "podium.yaml")
    loaded = load_config(written, env={}, cwd=tmp_path, home=tmp_path)
    assert loaded.path == written
    defaults = PodiumConfig()
    assert loaded.config.orchestration == defaults.orchestration
    for section in ("providers", "ledger", "telemetry", "server", "policy", "models", "mode", "default_model"):
        assert getattr(loaded.config, section) == getattr(defaults, section), section
    # The file writes the seed's routing keys out, so (as before) its executors, free-model preference and
    # fallback list apply: as aliases of routing.* and resilience.fallback.models.
    assert [u.alias for u in loaded.config.aliases_used()] == [
        "orchestration.prefer_free_models", "orchestration.executors", "orchestration.fallback_strategy.models",
        "orchestration.cost_tracking",
    ]
    assert loaded.config.routing.executors == defaults.orchestration.executors
    assert loaded.config.resilience.fallback.models == defaults.orchestration.fallback_strategy.models
    # The threshold is left commented out: a written file does not change routing until the user sets it.
    assert loaded.sources["orchestration.quality_threshold"] == "default"
    assert "# Executors" in written.read_text()  # commented, as the seed's example is
    assert "use_cases: [moderate, complex]" in written.read_text()


def test_create_default_config_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    target = tmp_path / "conf" / "podium.yaml"
    assert create_default_config(target) == target
    target.write_text("mode: replay\n")
    with pytest.raises(ConfigError, match="already exists.*force"):
        create_default_config(target)
    assert target.read_text() == "mode: replay\n"
    create_default_config(target, force=True)
    assert "orchestration:" in target.read_text()


def test_create_default_config_defaults_to_podium_yaml_in_cwd(tmp_path: Path) -> None:
    assert create_default_config(cwd=tmp_path) == tmp_path / "podium.yaml"
    (tmp_path / "sub").mkdir()
    assert create_default_config(tmp_path / "sub", cwd=tmp_path) == tmp_path / "sub" / "podium.yaml"
