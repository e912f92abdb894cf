"""Compatible config spellings are folded into one canonical key per concept at load time (podium.config.aliases)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config import PodiumConfig, load_config
from podium.config.aliases import key_of
from podium.config.ledger import BudgetSettings
from podium.core.errors import ConfigError

runner = CliRunner()
EXECUTOR = {"model": "gpt-4o-mini", "provider": "openai", "api_key_env": "OPENAI_API_KEY", "use_cases": ["simple"]}


def _aliases(config: PodiumConfig) -> dict[str, str]:
    return {u.alias: u.canonical for u in config.aliases_used()}


def test_orchestration_routing_keys_map_to_routing() -> None:
    config = PodiumConfig.model_validate(
        {"orchestration": {"quality_threshold": 0.9, "prefer_free_models": True, "executors": [EXECUTOR]}}
    )
    assert config.routing.quality_threshold == 0.9
    assert config.routing.prefer_free_models is True
    assert [e.model_id for e in config.routing.executors] == ["openai:gpt-4o-mini"]
    assert _aliases(config) == {
        "orchestration.quality_threshold": "routing.quality_threshold",
        "orchestration.prefer_free_models": "routing.prefer_free_models",
        "orchestration.executors": "routing.executors",
    }
    assert config.routing.key_of("executors") == "orchestration.executors"
    assert PodiumConfig(routing={"executors": [EXECUTOR]}).routing.key_of("executors") == "routing.executors"


def test_fallback_strategy_maps_to_resilience_fallback_models() -> None:
    config = PodiumConfig.model_validate({"orchestration": {"fallback_strategy": {"models": ["openai:gpt-4o"]}}})
    assert config.resilience.fallback.models == ("openai:gpt-4o",)
    assert key_of(config, "resilience.fallback.models") == "orchestration.fallback_strategy.models"
    assert PodiumConfig().resilience.fallback.models == ()  # the seed's default list moves no call


def test_aliases_left_at_their_defaults_change_nothing() -> None:
    config = PodiumConfig()
    assert config.aliases_used() == ()
    assert config.routing.quality_threshold is None and not config.routing.prefer_free_models
    assert config.routing.executors == ()
    # ... except cost_tracking, whose monthly $100 budget has always applied.
    assert config.ledger.budgets == (BudgetSettings(scope="global", period="month", limit_usd=Decimal("100.0")),)


def test_disabled_orchestration_routes_nothing() -> None:
    config = PodiumConfig.model_validate(
        {"orchestration": {"enabled": False, "prefer_free_models": True, "executors": [EXECUTOR],
                           "fallback_strategy": {"models": ["openai:gpt-4o"]}}}
    )
    assert not config.routing.prefer_free_models and config.routing.executors == ()
    assert config.resilience.fallback.models == ()


def test_budget_aliases_become_ledger_budgets() -> None:
    config = PodiumConfig.model_validate(
        {"orchestration": {"cost_tracking": {"budget_limit_usd": 5, "alert_threshold": 0.5}},
         "ledger": {"daily_budget_usd": "0.5", "cost_tracking_mode": "soft"}}
    )
    got = {(b.scope, b.period): (b.limit_usd, b.mode, b.alert_threshold) for b in config.ledger.budgets}
    assert got == {
        ("global", "day"): (Decimal("0.5"), "soft", Decimal("0.8")),
        ("global", "month"): (Decimal(5), "soft", Decimal("0.5")),
    }
    assert _aliases(config) == {
        "ledger.daily_budget_usd": "ledger.budgets {scope: global, period: day}",
        "orchestration.cost_tracking": "ledger.budgets {scope: global, period: month}",
    }
    off = PodiumConfig.model_validate({"orchestration": {"cost_tracking": {"enabled": False}}})
    assert off.ledger.budgets == ()


def test_alias_and_canonical_with_the_same_value_are_fine_and_not_doubled() -> None:
    config = PodiumConfig.model_validate(
        {"orchestration": {"quality_threshold": 0.8}, "routing": {"quality_threshold": 0.8},
         "ledger": {"daily_budget_usd": 2, "budgets": [{"scope": "global", "period": "day", "limit_usd": 2}]}}
    )
    assert config.routing.quality_threshold == 0.8
    assert [b.period for b in config.ledger.budgets] == ["day", "month"]
    # A canonical monthly budget replaces the alias's default one.
    own = PodiumConfig.model_validate({"ledger": {"budgets": [{"scope": "global", "period": "month", "limit_usd": 7}]}})
    assert [b.limit_usd for b in own.ledger.budgets] == [Decimal(7)]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("orchestration: {quality_threshold: 0.9}\nrouting: {quality_threshold: 0.6}\n",
         ["line 1: orchestration.quality_threshold = 0.9", "routing.quality_threshold, which is set to 0.6"]),
        ("orchestration: {prefer_free_models: true}\nrouting: {prefer_free_models: false}\n",
         ["orchestration.prefer_free_models = True", "routing.prefer_free_models"]),
        (("orchestration:\n  fallback_strategy: {models: [openai:gpt-4o]}\n"
         "resilience:\n  fallback: {models: [openai:gpt-4o-mini]}\n"),
         ["line 2: orchestration.fallback_strategy.models = [openai:gpt-4o]", "resilience.fallback.models"]),
        ("ledger:\n  daily_budget_usd: 5\n  budgets: [{scope: global, period: day, limit_usd: 6}]\n",
         ["line 2: ledger.daily_budget_usd = 5", "ledger.budgets[0] (limit_usd 6"]),
        (("orchestration:\n  cost_tracking:\n    budget_limit_usd: 5\n"
         "ledger:\n  budgets: [{scope: global, period: month, limit_usd: 6}]\n"),
         ["line 3: orchestration.cost_tracking.budget_limit_usd = 5", "ledger.budgets[0]"]),
    ],
)
def test_alias_and_canonical_that_differ_fail_naming_both(tmp_path: Path, text: str, named: list[str]) -> None:
    (tmp_path / "podium.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    for part in named:
        assert part in str(info.value)
    assert "(canonical)" in str(info.value)


def test_env_alias_maps_too(tmp_path: Path) -> None:
    loaded = load_config(env={"PODIUM_QUALITY_THRESHOLD": "0.75"}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.routing.quality_threshold == 0.75
    assert loaded.source_of("routing.quality_threshold") == "alias:orchestration.quality_threshold"


def test_config_check_shows_each_alias_and_its_canonical_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(
        "orchestration:\n  quality_threshold: 0.9\n  fallback_strategy: {models: [openai:gpt-4o]}\n"
        "ledger:\n  daily_budget_usd: 5\n"
    )
    result = runner.invoke(app, ["config", "check", "--no-env"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "alias: orchestration.quality_threshold -> routing.quality_threshold (0.9)" in result.stdout
    assert "alias: orchestration.fallback_strategy.models -> resilience.fallback.models ([openai:gpt-4o])" in result.stdout
    assert "alias: ledger.daily_budget_usd -> ledger.budgets {scope: global, period: day} (5)" in result.stdout
    as_json = json.loads(runner.invoke(app, ["config", "check", "--no-env", "--json"]).stdout)
    assert {"alias": "orchestration.quality_threshold", "canonical": "routing.quality_threshold", "value": "0.9"} in (
        as_json["aliases"]
    )
    assert as_json["sources"]["routing.quality_threshold"] == "alias:orchestration.quality_threshold"


def test_config_check_points_a_bad_alias_model_at_the_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text("orchestration:\n  fallback_strategy: {models: [gpt-4o-mni]}\n")
    result = runner.invoke(app, ["config", "check", "--no-env"])
    assert result.exit_code != 0
    assert "orchestration.fallback_strategy.models[0] = 'gpt-4o-mni'" in result.output
    assert "resilience.fallback.models" not in result.output  # reported once, where the user wrote it
