"""`podium init` writes a file that changes no routing: the README's replay cascade answers the same with or without
it. And the settings of the original orchestration tools load as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config import load_config

runner = CliRunner()
CASCADE = ["ask", "Write a function to filter odd numbers.", "--strategy", "cascade", "--replay", "--json"]


def _tried(folder: Path) -> list[str]:
    result = runner.invoke(app, CASCADE)
    assert result.exit_code == 0, result.output
    return [t["model"] for t in json.loads(result.stdout)["routing"]["tried"]]


def test_init_changes_no_routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    without = _tried(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    loaded = load_config(tmp_path / "podium.yaml", env={}, cwd=tmp_path, home=tmp_path)
    assert loaded.config.routing.quality_threshold is None
    assert _tried(tmp_path) == without
