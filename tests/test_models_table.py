"""`podium models` stays readable in a narrow terminal: no column is cut off, and a model takes at most two lines."""

from __future__ import annotations

from pathlib import Path

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


def _readme_models_comment() -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    return next(line.split("#", 1)[1] for line in readme.splitlines() if line.startswith("podium models   "))


@pytest.mark.parametrize("columns", [80, 200])
def test_the_readme_words_for_models_are_the_tables_words(columns: int, tmp_path, monkeypatch) -> None:
    """The README says superseded models are tagged `legacy` and retired ones `retired`: both layouts say so."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    words = result.stdout.split()
    assert "legacy" in words and "retired" in words and "deprecated" not in words
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "are tagged `legacy` and retired ones `retired` in `podium models`" in readme


def test_the_readme_names_the_columns_each_width_shows(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    narrow, wide = _readme_models_comment().split(";")
    shown = {80: runner.invoke(app, ["models"], env={"COLUMNS": "80"}).stdout,
             200: runner.invoke(app, ["models"], env={"COLUMNS": "200"}).stdout}
    for name in ("$/1M in", "$/1M out", "context", "quality", "flags"):
        assert name.split("/")[-1].split()[0] in narrow and name in shown[80], name
    for name in ("provider", "tags", "price source"):
        assert name in wide and name in shown[200] and name not in shown[80], name
    assert "140" in wide
