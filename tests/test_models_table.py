"""`podium models` stays readable in a narrow terminal: no column is cut off, and a model takes at most two lines."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("columns", [80, 100])
def test_the_models_table_keeps_every_column_whole_in_a_narrow_terminal(columns: int, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines)
    for name in ("$/1M in", "$/1M out", "context", "quality", "flags"):
        assert name in result.stdout
    catalog = Catalog.default(tmp_path / "home")
    assert len(lines) <= 2 * len(catalog) + 6  # was about six lines a model at 80 columns
    assert "legacy" in result.stdout and "200,000" in result.stdout  # flags and numbers are never cut
    starts = {line.split()[0] for line in lines if line.strip()}
    assert {spec.id for spec in catalog} <= starts  # every id whole at the start of its line, never wrapped


def test_a_wide_terminal_also_shows_provider_tags_and_price_source(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models", "-p", "openai"], env={"COLUMNS": "180"})
    assert result.exit_code == 0, result.output
    assert "price source" in result.stdout and "openai:gpt-5-nano" in result.stdout
