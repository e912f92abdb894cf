"""`podium init` and `podium config check|path` through the real root app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config import PodiumConfig, load_config

runner = CliRunner()
WIDE = {"COLUMNS": "220"}


@pytest.fixture()
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_default_that_checks_clean(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {in_tmp / 'podium.yaml'}; edit it, then run `podium config check`\n"
    assert load_config(env={}, cwd=in_tmp, home=in_tmp).config.orchestration == PodiumConfig().orchestration
    check = runner.invoke(app, ["config", "check"], env=WIDE)
    assert check.exit_code == 0, check.output
    assert f"ok: {in_tmp / 'podium.yaml'} is valid" in check.stdout


def test_init_refuses_to_overwrite_without_force(in_tmp: Path) -> None:
    (in_tmp / "podium.yaml").write_text("mode: replay\n")
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 2
    assert (
        result.stderr == f"error: {in_tmp / 'podium.yaml'} already exists; pass --force to overwrite it\n"
    )
    assert (in_tmp / "podium.yaml").read_text() == "mode: replay\n"
    assert runner.invoke(app, ["init", "--force"]).exit_code == 0
    assert "orchestration:" in (in_tmp / "podium.yaml").read_text()


def test_init_to_a_named_path(in_tmp: Path) -> None:
    result = runner.invoke(app, ["init", "conf/team.yaml"])
    assert result.exit_code == 0
    assert (in_tmp / "conf" / "team.yaml").is_file()


def test_check_json_reports_values_and_sources(in_tmp: Path) -> None:
    (in_tmp / "podium.yaml").write_text(
        "orchestration:\n  quality_threshold: 0.7\nproviders:\n  ollama: {base_url: 'http://box:11434/v1'}\n"
    )
    result = runner.invoke(app, ["config", "check", "--json"], env={"PODIUM_BUDGET_LIMIT_USD": "42.50"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(in_tmp / "podium.yaml")
    assert data["config"]["orchestration"]["quality_threshold"] == 0.7
    assert data["config"]["orchestration"]["cost_tracking"]["budget_limit_usd"] == "42.50"
    assert data["config"]["providers"]["ollama"]["base_url"] == "http://box:11434/v1"
    assert data["sources"]["orchestration.quality_threshold"] == "file"
    assert data["sources"]["orchestration.cost_tracking.budget_limit_usd"] == "env:PODIUM_BUDGET_LIMIT_USD"
    assert data["sources"]["orchestration.cost_tracking.alert_threshold"] == "default"
    assert data["sources"]["providers.ollama.base_url"] == "file"


def test_check_no_env_ignores_overrides(in_tmp: Path) -> None:
    result = runner.invoke(app, ["config", "check", "--json", "--no-env"], env={"PODIUM_MODE": "replay"})
    data = json.loads(result.stdout)
    assert data["config"]["mode"] == "live" and data["sources"]["mode"] == "default" and data["path"] is None


def test_check_table_shows_each_value_with_its_source(in_tmp: Path) -> None:
    (in_tmp / "podium.yaml").write_text("mode: live\nproviders:\n  ollama: {base_url: 'http://box:11434/v1'}\n")
    result = runner.invoke(app, ["config", "check"], env={**WIDE, "PODIUM_QUALITY_THRESHOLD": "0.9"})
    assert result.exit_code == 0, result.output
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│ ").split("│")]) and len(cells) == 3
    }
    assert rows["mode"] == ["live", "file"]
    assert rows["orchestration.quality_threshold"] == ["0.9", "env:PODIUM_QUALITY_THRESHOLD"]
    assert rows["orchestration.cost_tracking.budget_limit_usd"] == ["100.0", "default"]
    assert rows["providers.ollama.base_url"] == ["http://box:11434/v1", "file"]
    assert rows["providers.openai"] == ["built-in (openai, https://api.openai.com/v1)", "default"]


def test_check_honours_the_global_config_option_and_podium_config(in_tmp: Path) -> None:
    (in_tmp / "a.yaml").write_text("mode: replay\n")
    (in_tmp / "b.yaml").write_text("default_model: ollama:llama3.2\n")
    by_option = json.loads(runner.invoke(app, ["--config", "a.yaml", "config", "check", "--json"]).stdout)
    assert by_option["config"]["mode"] == "replay"
    by_env = json.loads(runner.invoke(app, ["config", "check", "--json"], env={"PODIUM_CONFIG": "b.yaml"}).stdout)
    assert by_env["config"]["default_model"] == "ollama:llama3.2"
    by_arg = json.loads(runner.invoke(app, ["--config", "a.yaml", "config", "check", "b.yaml", "--json"]).stdout)
    assert by_arg["path"] == str(in_tmp / "b.yaml")


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        (
            "orchestration:\n  quality_threshold: 7\n",
            {},
            "podium.yaml line 2: orchestration.quality_threshold = 7 is not valid",
        ),
        ("orchestration: [\n", {}, "YAML syntax error"),
        ("mode: live\n", {"PODIUM_MODE": "later"}, "environment variable PODIUM_MODE: mode = 'later' is not valid"),
    ],
)
def test_check_reports_problems_as_one_line_exit_2(in_tmp: Path, text: str, env: dict[str, str], expected: str) -> None:
    (in_tmp / "podium.yaml").write_text(text)
    result = runner.invoke(app, ["config", "check"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert expected in result.stderr


def test_config_path_lists_the_search_order(in_tmp: Path) -> None:
    (in_tmp / ".podium").mkdir()
    (in_tmp / ".podium" / "config.yaml").write_text("mode: live\n")
    result = runner.invoke(app, ["config", "path"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"  {in_tmp / 'podium.yaml'}"
    assert lines[1] == f"* {in_tmp / '.podium' / 'config.yaml'}"
    assert lines[2].endswith(str(Path(".config") / "podium" / "config.yaml"))
