"""The task-router tool's flat orchestration_config.yaml is read as Podium settings, found where that tool keeps it,
and its task rows route `--task-type` calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import load_config
from podium.core.errors import ConfigError

runner = CliRunner()
FLAT = """# orchestration_config.yaml
openrouter_enabled: false
daily_budget_usd: 50.0
cost_tracking_enabled: true

task_problem_generation:
  quality_priority: true
  cost_sensitive: false

task_evaluation_grading:
  cost_sensitive: true
  quality_priority: false
"""


def test_the_flat_file_is_found_and_mapped_onto_podium_settings(tmp_path: Path) -> None:
    (tmp_path / "orchestration_config.yaml").write_text(FLAT)
    loaded = load_config(env={}, cwd=tmp_path, home=tmp_path / "home")
    config = loaded.config
    assert loaded.path == tmp_path / "orchestration_config.yaml"
    assert config.providers["openrouter"].enabled is False
    assert str(config.ledger.daily_budget_usd) == "50.0" and config.ledger.enabled is True
    table = config.routing.task_table
    assert table["problem_generation"].cost_tier == "premium"
    assert table["evaluation_grading"].cost_tier == "budget"
    assert table["code"].primary == "anthropic:claude-sonnet-4-5"  # the default rows stay


def test_a_flat_task_row_routes_the_table_strategy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "orchestration_config.yaml").write_text(FLAT)
    result = runner.invoke(app, ["ask", "Write a function to filter odd numbers.", "--strategy", "table",
                                 "--task-type", "evaluation_grading", "--replay", "--json"], env={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["routing"]["task_type"] == "evaluation_grading" and data["text"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("task_x:\n  quality_priority: yes please\n", "task_x.quality_priority = 'yes please' is not valid"),
        ("task_x:\n  fast: true\n", "task_x.fast is not a task setting; use quality_priority or cost_sensitive"),
        ("task_x:\n  quality_priority: true\n  cost_sensitive: true\n", "both true; choose one"),
    ],
)
def test_bad_task_rows_are_one_line_naming_the_key(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "orchestration_config.yaml"
    path.write_text("openrouter_enabled: true\n" + row)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env={}, cwd=tmp_path, home=tmp_path / "home")
