"""A budget crossing its alert threshold on a call says so on stderr (the threshold was visible only as a metric)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app

runner = CliRunner()
PROMPT = "Write a function to filter odd numbers."  # a recorded prompt: replay answers it


def test_crossing_the_alert_threshold_is_a_note_on_stderr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(
        "orchestration:\n  cost_tracking:\n    budget_limit_usd: 0.001\n    alert_threshold: 0.2\n"
    )
    result = runner.invoke(app, ["ask", PROMPT, "--model", "openai:gpt-3.5-turbo-1106", "--max-tokens", "200",
                                 "--replay"], env={})
    assert result.exit_code == 0, result.output
    note = next(line for line in result.stderr.splitlines() if line.startswith("note: budget"))
    assert "has spent $0.00035 of $0.001 (35%, alert threshold 20%)" in note


def test_no_note_below_the_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text("orchestration:\n  cost_tracking:\n    budget_limit_usd: 100\n")
    result = runner.invoke(app, ["ask", PROMPT, "--model", "openai:gpt-3.5-turbo-1106", "--replay"], env={})
    assert result.exit_code == 0, result.output
    assert "note: budget" not in result.stderr
