"""Seed locations and names through the real loader: .tta/orchestration-config.yaml and seed 004's variables."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config import load_config, search_path
from podium.core.errors import ConfigError

runner = CliRunner()
WIDE = {"COLUMNS": "220"}
SEED_FILE = """\
orchestration:
  prefer_free_models: true
  quality_threshold: 0.9
  executors:
    - {model: gemini-2.5-pro, provider: google-ai-studio, api_key_env: GOOGLE_API_KEY, use_cases: [moderate, complex]}
"""


def write_seed_file(cwd: Path) -> Path:
    path = cwd / ".tta" / "orchestration-config.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SEED_FILE)
    return path


# -- (c) .tta/orchestration-config.yaml -----------------------------------------------------------------------------


def test_the_seed_file_in_the_working_directory_is_found_after_podiums_own_locations(tmp_path: Path) -> None:
    cwd, home = tmp_path / "project", tmp_path / "home"
    cwd.mkdir()
    seed = write_seed_file(cwd)
    assert search_path(cwd, home)[-2] == seed  # only the task-router tool's flat file comes after it
    loaded = load_config(env={}, cwd=cwd, home=home)
    assert loaded.path == seed
    orch = loaded.config.orchestration
    assert orch.quality_threshold == 0.9 and orch.executors[0].model_id == "gemini:gemini-2.5-pro"
    routing = loaded.config.routing  # the seed's routing keys are aliases of these
    assert routing.prefer_free_models and routing.executors == orch.executors
    assert loaded.source_of("orchestration.quality_threshold") == "file"
    assert loaded.source_of("routing.default_strategy") == "default"
    # Podium's own files come first: ~/.config/podium/config.yaml, then ./podium.yaml, win over the seed file.
    (home / ".config" / "podium").mkdir(parents=True)
    (home / ".config" / "podium" / "config.yaml").write_text("mode: replay\n")
    assert load_config(env={}, cwd=cwd, home=home).path == home / ".config" / "podium" / "config.yaml"
    (cwd / "podium.yaml").write_text("mode: live\n")
    assert load_config(env={}, cwd=cwd, home=home).path == cwd / "podium.yaml"


def test_config_check_and_path_show_the_seed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    seed = write_seed_file(tmp_path)
    check = runner.invoke(app, ["config", "check"], env=WIDE)
    assert check.exit_code == 0, check.output
    assert f"ok: {seed} is valid" in check.stdout
    row = next(line for line in check.stdout.splitlines() if "orchestration.quality_threshold" in line)
    assert "0.9" in row and "file" in row
    as_json = json.loads(runner.invoke(app, ["config", "check", "--json"], env=WIDE).stdout)
    assert as_json["path"] == str(seed) and as_json["sources"]["orchestration.quality_threshold"] == "file"
    listed = runner.invoke(app, ["config", "path"]).stdout.splitlines()
    assert listed[-2] == f"* {seed}" and all(line.startswith("  ") for i, line in enumerate(listed) if i != len(listed) - 2)


# -- (d) seed 004's variable names ----------------------------------------------------------------------------------

ALIASES = [
    ("OPENROUTER_ENABLED", "false", "providers.openrouter.enabled", False),
    ("DAILY_BUDGET_USD", "50.0", "ledger.daily_budget_usd", Decimal("50.0")),
    ("PREFER_OPENSOURCE", "true", "routing.prefer_open_weights", True),
    ("QUALITY_THRESHOLD", "0.8", "orchestration.quality_threshold", 0.8),
]


def _value(config: object, dotted: str) -> object:
    for part in dotted.split("."):
        config = config[part] if isinstance(config, dict) else getattr(config, part)
    return config


@pytest.mark.parametrize(("var", "raw", "key", "expected"), ALIASES)
def test_each_seed_variable_sets_its_podium_key(tmp_path: Path, var: str, raw: str, key: str, expected: object) -> None:
    loaded = load_config(env={var: raw}, cwd=tmp_path, home=tmp_path)
    assert _value(loaded.config, key) == expected
    assert loaded.source_of(key) == f"env:{var}"


def test_seed_variables_take_the_usual_spellings_and_podium_names_win(tmp_path: Path) -> None:
    env = {"OPENROUTER_ENABLED": "No", "PREFER_OPENSOURCE": " 1 ", "QUALITY_THRESHOLD": "0.8",
           "PODIUM_QUALITY_THRESHOLD": "0.95"}
    loaded = load_config(env=env, cwd=tmp_path, home=tmp_path)
    assert loaded.config.providers["openrouter"].enabled is False and loaded.config.routing.prefer_open_weights
    assert loaded.config.orchestration.quality_threshold == 0.95
    assert loaded.source_of("orchestration.quality_threshold") == "env:PODIUM_QUALITY_THRESHOLD"
    # The seed file's value loses to the variable, as every file value does.
    (tmp_path / "podium.yaml").write_text("providers:\n  openrouter: {enabled: true}\n")
    assert load_config(env=env, cwd=tmp_path, home=tmp_path).config.providers["openrouter"].enabled is False


@pytest.mark.parametrize("winner", ["PODIUM_QUALITY_THRESHOLD", "PODIUM__ORCHESTRATION__QUALITY_THRESHOLD"])
def test_a_seed_variable_that_loses_to_a_podium_one_is_not_read(tmp_path: Path, winner: str) -> None:
    loaded = load_config(env={"QUALITY_THRESHOLD": "high", winner: "0.7"}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.orchestration.quality_threshold == 0.7
    assert loaded.source_of("orchestration.quality_threshold") == f"env:{winner}"


@pytest.mark.parametrize(
    ("var", "raw", "valid"),
    [
        ("OPENROUTER_ENABLED", "maybe", "use true or false (also 1/0, yes/no, on/off)"),
        ("PREFER_OPENSOURCE", "2", "use true or false (also 1/0, yes/no, on/off)"),
        ("DAILY_BUDGET_USD", "-5", "use a non-negative USD amount, such as 50.0"),
        ("DAILY_BUDGET_USD", "fifty", "use a non-negative USD amount, such as 50.0"),
        ("QUALITY_THRESHOLD", "1.5", "use a number from 0 to 1, such as 0.8"),
        ("QUALITY_THRESHOLD", "high", "use a number from 0 to 1, such as 0.8"),
    ],
)
def test_a_bad_seed_variable_fails_in_one_line_naming_it_and_the_valid_values(
    tmp_path: Path, var: str, raw: str, valid: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={var: raw}, cwd=tmp_path, home=tmp_path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"environment variable {var}={raw!r} is not valid")
    assert message.endswith(valid)


def test_the_cli_reports_a_bad_seed_variable_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "check"], env={"QUALITY_THRESHOLD": "nope"})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: environment variable QUALITY_THRESHOLD='nope' is not valid for orchestration.quality_threshold; "
        "use a number from 0 to 1, such as 0.8\n"
    )
