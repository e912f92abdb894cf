"""A gateway key's ``budget_usd`` becomes a ``ledger.budgets`` entry when the config loads; the gateway enforces it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config import PodiumConfig, load_config
from podium.config.ledger import BudgetSettings
from podium.config.server import ServerSettings
from podium.core.errors import ConfigError
from podium.server import create_app, gateway_config, sha256_hex

runner = CliRunner()
DIGEST = sha256_hex("pk-team-a")
KEYS_YAML = (
    "server:\n  keys:\n"
    f"    - {{id: team-a, key_sha256: {DIGEST}, budget_usd: 2.50, budget_period: month}}\n"
    f"    - {{id: team-b, key_sha256: {sha256_hex('pk-team-b')}}}\n"
)
TEAM_A = BudgetSettings(scope="key", id="team-a", period="month", limit_usd=Decimal("2.50"))


def _key_budgets(config: PodiumConfig) -> list[BudgetSettings]:
    return [b for b in config.ledger.budgets if b.scope == "key"]


def test_key_budgets_are_ledger_budgets_once_loaded(tmp_path: Path) -> None:
    (tmp_path / "podium.yaml").write_text(KEYS_YAML)
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert _key_budgets(loaded.config) == [TEAM_A]
    (use,) = loaded.config.aliases_used()
    assert use.line() == "server.keys[0].budget_usd -> ledger.budgets {scope: key, id: team-a, period: month} (2.5 USD)"
    assert loaded.source_of("ledger.budgets") == "alias:server.keys[0].budget_usd"


def test_a_key_budget_with_the_ledger_disabled_fails_at_load_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "podium.yaml").write_text(KEYS_YAML + "ledger:\n  enabled: false\n")
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    message = str(info.value)
    assert "line 3: server.keys[0].budget_usd = 2.5: virtual key 'team-a' has a budget but the ledger is disabled" in (
        message
    )
    assert "set ledger.enabled: true or remove budget_usd" in message


def test_a_key_budget_also_in_ledger_budgets_is_kept_once_or_fails_when_it_differs(tmp_path: Path) -> None:
    same = "ledger:\n  budgets: [{scope: key, id: team-a, period: month, limit_usd: 2.5}]\n"
    (tmp_path / "podium.yaml").write_text(KEYS_YAML + same)
    assert _key_budgets(load_config(env={}, cwd=tmp_path, home=tmp_path).config) == [TEAM_A]
    (tmp_path / "podium.yaml").write_text(KEYS_YAML + same.replace("2.5}", "3}"))
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    assert "server.keys[0].budget_usd = 2.5" in str(info.value) and "ledger.budgets[0]" in str(info.value)


def test_keys_given_in_code_are_folded_by_the_config_not_the_gateway() -> None:
    settings = ServerSettings(keys=[{"id": "team-a", "key_sha256": DIGEST, "budget_usd": "2.50",
                                     "budget_period": "month"}])
    config = PodiumConfig()
    served = config.with_server(settings)
    assert served.server == settings and _key_budgets(served) == [TEAM_A]
    assert served.with_server(settings) is served and gateway_config(config, settings) == served
    assert _key_budgets(served.with_server(served.server.model_copy(update={"port": 0}))) == [TEAM_A]  # not doubled
    with pytest.raises(ConfigError, match="ledger is disabled") as info:
        PodiumConfig.from_mapping({"ledger": {"enabled": False}}).with_server(settings)
    assert info.value.field == "server.keys.budget_usd"


def test_the_gateway_refuses_a_key_budget_it_could_not_enforce_before_it_starts(tmp_path: Path) -> None:
    # Enforcement itself: test_server_gateway.py::test_key_budget_refuses_with_402_and_never_overspends.
    settings = ServerSettings(keys=[{"id": "team-a", "key_sha256": DIGEST, "budget_usd": "2.50"}])
    with pytest.raises(ConfigError, match="ledger is disabled"):
        create_app(None, settings, config=PodiumConfig.from_mapping({"ledger": {"enabled": False}}), env={},
                   home=tmp_path)


def test_config_check_lists_each_key_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(KEYS_YAML)
    result = runner.invoke(app, ["config", "check", "--no-env"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "alias: server.keys[0].budget_usd -> ledger.budgets {scope: key, id: team-a, period: month}" in result.stdout
