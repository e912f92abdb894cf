"""`podium eval` on a small subset: JSON shape, invariants, held-out prompts, APGR, plot, and the CLI."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.eval import app as eval_app
from podium.cli.eval import eval_data
from podium.providers.recorded_data import EvalRecord, normalize_prompt
from podium.routing.datasets import load_bundled, split_records
from podium.routing.evaluation import Point, apgr, cost_to_reach, evaluate, exclude_prompts, to_json
from podium.routing.evaluation.plot import write_plot

pytestmark = pytest.mark.slow  # training, replays or many processes: the everyday run skips it


class EvalAccuracyRouter:
    """Injected router: each model's training accuracy on the prompt's benchmark (known from the record)."""

    def __init__(self, train: Sequence[EvalRecord], everything: Sequence[EvalRecord]) -> None:
        sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for r in train:
            for m, o in r.outcomes.items():
                sums[r.eval_name, m][0] += o.correct
                sums[r.eval_name, m][1] += 1
        self.acc = {k: v[0] / v[1] for k, v in sums.items()}
        self.models = tuple(sorted({m for r in train for m in r.outcomes}))
        self.eval_of = {r.prompt: r.eval_name for r in everything}

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        name = self.eval_of[prompt]
        return {m: self.acc.get((name, m), 0.0) for m in (models or self.models)}


@pytest.fixture(scope="module")
def subset() -> tuple[list[EvalRecord], list[EvalRecord]]:
    records = load_bundled()
    by_eval: dict[str, list[EvalRecord]] = defaultdict(list)
    for r in records:
        by_eval[r.eval_name].append(r)
    small = [r for rows in by_eval.values() for r in rows[:60]]
    return split_records(small, test_fraction=0.4, seed=1)


@pytest.fixture(scope="module")
def report(subset):  # type: ignore[no-untyped-def]
    train, test = subset
    return evaluate(train, test, router=EvalAccuracyRouter(train, train + test), seed=3)


def test_json_has_the_documented_shape(report) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(json.dumps(to_json(report)))
    assert {"prompts", "strongest", "oracle", "strategies", "curve"} <= set(data)
    assert data["prompts"] == report.prompts > 0
    assert set(data["strongest"]) == {"model", "quality", "cost_usd"}
    assert data["strongest"]["model"] == "openai:gpt-4-1106-preview"
    names = [s["name"] for s in data["strategies"]]
    for expected in ("always-strongest", "always-cheapest", "random", "task-best", "cheapest", "cascade",
                     "ensemble", "auto"):
        assert expected in names
    for s in data["strategies"]:
        assert set(s) == {"name", "params", "quality", "cost_usd", "quality_vs_strongest", "cost_vs_strongest"}
        assert isinstance(s["cost_usd"], str) and Decimal(s["cost_usd"]) >= 0
    for point in data["curve"]:
        assert set(point) == {"name", "threshold", "quality", "cost_usd"}
    assert {p["name"] for p in data["curve"]} == {"cheapest", "cascade", "auto"}
    assert set(data["apgr"]) == {"cheapest", "cascade", "auto"}
    assert set(data["cost_to_reach"]) == {"95%", "100%"}


def test_invariants_hold(report) -> None:  # type: ignore[no-untyped-def]
    data = to_json(report)
    strongest = next(s for s in data["strategies"] if s["name"] == "always-strongest")
    assert strongest["cost_vs_strongest"] == 1.0 and strongest["quality_vs_strongest"] == 1.0
    for s in data["strategies"] + data["curve"]:
        assert data["oracle"]["quality"] >= s["quality"]
        assert 0.0 <= s["quality"] <= 1.0
    reach = data["cost_to_reach"]["100%"]
    assert reach is not None and Decimal(reach["cost_usd"]) <= Decimal(strongest["cost_usd"])


def test_strategies_cost_what_they_called(subset, report) -> None:  # type: ignore[no-untyped-def]
    _, test = subset
    by_name = {p.name: p for p in report.strategies}
    cheapest_total = sum(min(o.cost_usd for o in r.outcomes.values()) for r in test)
    dearest_total = sum(sum(o.cost_usd for o in r.outcomes.values()) for r in test)
    for name in ("cheapest", "cascade", "ensemble", "auto"):
        assert cheapest_total <= by_name[name].cost_usd <= dearest_total
    assert by_name["ensemble"].calls >= 2 * report.prompts  # every prompt asked at least two models
    assert by_name["cheapest"].calls == report.prompts


def test_no_training_prompt_is_evaluated(subset) -> None:  # type: ignore[no-untyped-def]
    train, test = subset
    assert not {normalize_prompt(r.prompt) for r in train} & {normalize_prompt(r.prompt) for r in test}
    leaked = train + test[:5]
    kept = exclude_prompts(leaked, test)
    assert len(kept) == len(train)
    assert not {normalize_prompt(r.prompt) for r in kept} & {normalize_prompt(r.prompt) for r in test}


def test_apgr_and_cost_to_reach() -> None:
    weak = Point("weak", 0.5, Decimal(1))
    strong = Point("strong", 0.9, Decimal(11))
    # Full strong quality at 10% of the cost gap: PGR is 0 on [0, 0.1) and 1 afterwards.
    assert apgr([Point("r", 0.9, Decimal(2))], weak=weak, strong=strong) == pytest.approx(0.9)
    assert apgr([Point("r", 0.7, Decimal(6))], weak=weak, strong=strong) == pytest.approx(0.25)
    assert apgr([], weak=weak, strong=strong) == 0.0
    points = [Point("a", 0.8, Decimal(3)), Point("b", 0.9, Decimal(5)), Point("c", 0.95, Decimal(9))]
    assert cost_to_reach(points, 0.9).name == "b"  # type: ignore[union-attr]
    assert cost_to_reach(points, 0.99) is None


def test_plot_writes_a_png(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = write_plot(report, tmp_path / "curve.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000


def _write_routerbench(path: Path, records: Sequence[EvalRecord]) -> None:
    models = sorted({m for r in records for m in r.outcomes})
    header = ["sample_id", "prompt", "eval_name", *models, *(f"{m}|model_response" for m in models),
              *(f"{m}|total_cost" for m in models)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in records:
            o = r.outcomes
            writer.writerow([r.id, r.prompt, r.eval_name, *(o[m].correct if m in o else "" for m in models),
                             *(o[m].response if m in o else "" for m in models),
                             *(o[m].cost_usd if m in o else "" for m in models)])


def test_cli_dataset_mode_holds_out_evaluated_prompts(subset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, test = subset
    rb_test = [r for r in test if r.eval_name != "gsm8k"][:12]
    _write_routerbench(tmp_path / "eval.csv", rb_test)
    _write_routerbench(tmp_path / "train.csv", [r for r in train if r.eval_name != "gsm8k"] + rb_test[:4])
    training, evaluated = eval_data([tmp_path / "eval.csv"], [str(tmp_path / "train.csv")], 0.3, 0, True)
    assert len(evaluated) == 12
    assert not {normalize_prompt(r.prompt) for r in training} & {normalize_prompt(r.prompt) for r in evaluated}
    result = CliRunner().invoke(
        eval_app, ["--dataset", str(tmp_path / "eval.csv"), "--train", str(tmp_path / "train.csv"), "--json",
                   "--no-curves", "-s", "cheapest", "-s", "cascade", "--plot", str(tmp_path / "p.png")],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["prompts"] == 12
    assert [s["name"] for s in data["strategies"]][-2:] == ["cheapest", "cascade"]
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_rejects_unknown_strategy() -> None:
    result = CliRunner().invoke(eval_app, ["-s", "fastest"])
    assert result.exit_code != 0
    assert "fastest" in str(result.exception) or "fastest" in result.output
