"""Generalisation splits (a benchmark the router never saw; a model whose outcomes it never saw), the
agree-or-strongest baseline, and `podium eval` refusing a dataset it cannot score before any training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.routing.datasets import load_bundled, split_records
from podium.routing.evaluation import baselines, splits
from podium.routing.evaluation.metrics import Point

runner = CliRunner()


@pytest.fixture(scope="module")
def small() -> list:
    records = load_bundled(include_gsm8k=False)
    by_eval: dict[str, list] = {}
    for r in records:
        by_eval.setdefault(r.eval_name, []).append(r)
    return [r for rows in by_eval.values() for r in splits.sample(rows, 120)]


def test_line_quality_is_the_random_mix_of_cheapest_and_strongest() -> None:
    from decimal import Decimal

    cheap, strong = Point("c", 0.6, Decimal(1)), Point("s", 0.9, Decimal(11))
    assert splits.line_quality(cheap, strong, 1.0) == pytest.approx(0.6)
    assert splits.line_quality(cheap, strong, 6.0) == pytest.approx(0.75)
    assert splits.line_quality(cheap, strong, 20.0) == pytest.approx(0.9)


@pytest.mark.slow
def test_by_benchmark_never_trains_on_the_benchmark_it_scores(small: list) -> None:
    rows = splits.by_benchmark(small, strategies=("cheapest",), seed=0)
    assert [b.benchmark for b in rows] == ["arc-challenge", "mbpp", "winogrande"]
    for b in rows:
        assert b.prompts == 120 and b.train_prompts == 240
        names = [r["name"] for r in b.rows]
        assert "cheapest" in names and "random" in names
        cheapest = next(r for r in b.rows if r["name"] == "cheapest")
        assert cheapest["sweep_points_on_or_above_line"][1] == 11
    data = splits.benchmark_json(rows)
    assert json.loads(json.dumps(data))[0]["strongest"] == "openai:gpt-4-1106-preview"


@pytest.mark.slow
def test_by_model_predicts_a_hidden_model_from_its_profile(small: list) -> None:
    rows = splits.by_model(small, models=["together:yi-34b-chat"], seed=0)
    (row,) = rows
    assert row.model == "together:yi-34b-chat" and row.prompts > 50
    assert 0.3 < row.predicted_hidden < 0.95 and row.auc_hidden is not None and row.auc_hidden > 0.5
    table = splits.render_split({"split": "by-model", "models": splits.model_json(rows)})
    assert table.row_count == 1


def test_agree_or_strongest_picks_a_cheap_pair_and_costs_less_than_the_strongest() -> None:
    train, test = split_records(load_bundled(include_gsm8k=False), test_fraction=0.3, seed=0)
    point = baselines.agree_or_strongest(train, test)
    strong = baselines.always("s", baselines.strongest_model(train), train, test, by_quality=True)
    assert point is not None and point.name == "agree-or-strongest"
    assert point.params["strongest"] == "openai:gpt-4-1106-preview"
    assert point.cost_usd < strong.cost_usd and point.quality > 0.9 * strong.quality


def test_eval_refuses_a_dataset_whose_models_it_has_no_outcomes_for_at_once(tmp_path: Path) -> None:
    data = tmp_path / "mine.csv"
    data.write_text("prompt,acme/model-a,acme/model-a_response\nWhat is 2+2?,True,4\n")
    result = runner.invoke(app, ["eval", "--dataset", str(data)])
    assert result.exit_code == 2
    assert "its model columns (acme/model-a) have no recorded outcomes in the training data" in result.output


def test_eval_split_names_the_valid_values() -> None:
    result = runner.invoke(app, ["eval", "--split", "by-vibes"])
    assert result.exit_code == 2
    assert "use one of fixed, by-benchmark, by-model" in result.output
