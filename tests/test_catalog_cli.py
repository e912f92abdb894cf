"""`podium models` through typer's CliRunner: table, --json, filters, sorting and `import`.

Errors go through the root command (`podium models ...`), which reports them the shared way (podium.cli.errors).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.catalog.mapping import SPEC_FIELDS
from podium.cli.errors import EXIT_USAGE
from podium.cli.main import app as podium
from podium.cli.models import app

runner = CliRunner()


def test_json_lists_every_field() -> None:
    result = runner.invoke(app, ["--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data) == len(Catalog.bundled())
    assert all(set(entry) == set(SPEC_FIELDS) for entry in data)
    mini = next(e for e in data if e["id"] == "openai:gpt-4o-mini")
    assert (mini["input_per_million"], mini["output_per_million"]) == ("0.15", "0.6")
    assert mini["price_as_of"] == "2025-11-01" and mini["price_source"].startswith("litellm 1.109.1")


def test_filters_and_price_sort() -> None:
    result = runner.invoke(
        app, ["--json", "--provider", "anthropic", "--capability", "vision", "-c", "reasoning", "--sort", "price"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data and {e["provider"] for e in data} == {"anthropic"}
    assert all({"vision", "reasoning"} <= set(e["capabilities"]) for e in data)
    totals = [Decimal(e["input_per_million"]) + Decimal(e["output_per_million"]) for e in data]
    assert totals == sorted(totals)
    assert data[0]["id"] == "anthropic:claude-haiku-4-5"


def test_table_shows_prices_and_sources() -> None:
    result = runner.invoke(app, ["--provider", "groq"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "groq:llama-3.3-70b-versatile" in result.stdout
    assert "0.59" in result.stdout and "0.79" in result.stdout
    assert "groq.com 2025-11-01" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capability", "telepathy"], "capability 'telepathy' is not known"),
        (["--provider", "nowhere"], "no models for provider 'nowhere'"),
        (["--sort", "speed"], "--sort 'speed' is not valid"),
    ],
)
def test_bad_options_give_one_line_errors(args: list[str], message: str) -> None:
    result = runner.invoke(podium, ["models", *args])
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_errors_take_the_shared_path_so_verbose_shows_the_traceback() -> None:
    result = runner.invoke(podium, ["--verbose", "models", "--sort", "speed"])
    assert result.exit_code == EXIT_USAGE
    assert "Traceback" in result.stderr and "ValidationError" in result.stderr
    assert "error: --sort 'speed' is not valid" in result.stderr


def test_import_saves_to_podium_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("PODIUM_HOME", str(home))
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "mistral/brand-new-model": {
                    "litellm_provider": "mistral",
                    "mode": "chat",
                    "input_cost_per_token": 2e-07,
                    "output_cost_per_token": 6e-07,
                    "max_input_tokens": 32000,
                },
                "gpt-4o-mini": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 1e-07,
                    "output_cost_per_token": 4e-07,
                },
                "cohere/command": {"litellm_provider": "cohere", "mode": "chat", "input_cost_per_token": 1e-06},
            }
        )
    )
    result = runner.invoke(app, ["import", str(prices), "--as-of", "2026-01-15"])
    assert result.exit_code == 0, result.output
    assert "2 imported, 1 skipped: 1 provider Podium cannot call (cohere 1" in result.stdout
    assert str(home / "models.json") in result.stdout
    catalog = Catalog.default(home)
    new = catalog.get("brand-new-model")
    assert new.input_per_million == Decimal("0.2") and new.price_as_of.isoformat() == "2026-01-15"  # type: ignore[union-attr]
    mini = catalog.get("gpt-4o-mini")
    assert mini.input_per_million == Decimal("0.1")  # price refreshed ...
    assert "gpt-4o-mini-2024-07-18" in mini.aliases and mini.quality_tier == "standard"  # ... curation kept
    listed = json.loads(runner.invoke(app, ["--json", "--provider", "mistral"]).stdout)
    assert "mistral:brand-new-model" in {e["id"] for e in listed}


def test_import_errors(tmp_path: Path) -> None:
    missing = runner.invoke(podium, ["models", "import", str(tmp_path / "nope.json")])
    assert missing.exit_code == EXIT_USAGE and "nope.json does not exist" in missing.stderr  # a usage error: 2
    good = tmp_path / "p.json"
    good.write_text("{}")
    bad_date = runner.invoke(podium, ["models", "import", str(good), "--as-of", "soon"])
    assert bad_date.exit_code == EXIT_USAGE and "use YYYY-MM-DD" in bad_date.stderr
