"""Generalisation splits: a benchmark the router never saw (``by-benchmark``) and a model whose outcomes it never
saw (``by-model``), the two things a user's own traffic and today's models depend on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.config.routing import RoutingSettings
from podium.providers.recorded_data import EvalRecord
from podium.routing.evaluation.harness import EvalReport, evaluate
from podium.routing.evaluation.metrics import Point, ratio

# Held-out and training MMLU prompts are sampled (deterministically) so a split runs in minutes, not tens.
MMLU_TEST_SAMPLE = 1000
MMLU_TRAIN_SAMPLE = 3000
SPLIT_STRATEGIES: tuple[str, ...] = ("cheapest", "cascade", "auto")
Stage = Callable[[str], None]

if TYPE_CHECKING:
    from rich.table import Table

    from podium.core.model_spec import ModelSpec
    from podium.routing.task_classifier import TaskClassifier


def _rank(record: EvalRecord, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{record.prompt}".encode(), digest_size=8).digest()


def sample(records: Sequence[EvalRecord], n: int, seed: int = 0) -> list[EvalRecord]:
    """A deterministic sample of ``n`` records (all of them when there are fewer)."""
    return list(records) if len(records) <= n else sorted(records, key=lambda r: _rank(r, seed))[:n]


def _capped(records: Sequence[EvalRecord], cap: int, seed: int) -> list[EvalRecord]:
    """``records`` with the MMLU part sampled down to ``cap``."""
    mmlu = [r for r in records if r.eval_name == "mmlu"]
    return [r for r in records if r.eval_name != "mmlu"] + sample(mmlu, cap, seed)


def line_quality(cheap: Point, strong: Point, cost: float) -> float:
    """Quality of a random mix of the cheapest and the strongest model that costs ``cost``."""
    c0, c1 = float(cheap.cost_usd), float(strong.cost_usd)
    if c1 <= c0:
        return strong.quality
    share = min(1.0, max(0.0, (cost - c0) / (c1 - c0)))
    return cheap.quality + share * (strong.quality - cheap.quality)


@dataclass(slots=True)
class BenchmarkRow:
    """One held-out benchmark: each strategy against the random-mix line of cheapest and strongest."""

    benchmark: str
    prompts: int
    train_prompts: int
    report: EvalReport
    rows: list[dict[str, Any]] = field(default_factory=list)


def by_benchmark(
    records: Sequence[EvalRecord],
    *,
    settings: RoutingSettings | None = None,
    strategies: Sequence[str] = SPLIT_STRATEGIES,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    stage: Stage | None = None,
) -> list[BenchmarkRow]:
    """For each benchmark: train on every other one, replay the strategies on it (with their sweeps)."""
    say = stage or (lambda _t: None)
    out: list[BenchmarkRow] = []
    for name in sorted({r.eval_name for r in records}):
        test = sample([r for r in records if r.eval_name == name], MMLU_TEST_SAMPLE, seed)
        train = _capped([r for r in records if r.eval_name != name], MMLU_TRAIN_SAMPLE, seed)
        say(f"held-out {name}: training on {len(train)} prompts of other benchmarks")
        report = evaluate(train, test, settings=settings, strategies=strategies, curves=True, seed=seed,
                          progress=progress, stage=lambda t, n=name: say(f"held-out {n}: {t}"))
        out.append(BenchmarkRow(name, len(test), len(train), report, _rows(report, strategies)))
    return out


def _rows(report: EvalReport, strategies: Sequence[str]) -> list[dict[str, Any]]:
    s, c = report.strongest, report.cheapest

    def margin(p: Point) -> float:
        return (p.quality - line_quality(c, s, float(p.cost_usd))) / s.quality if s.quality else 0.0

    rows = []
    for p in report.strategies:
        if p.name not in (*strategies, "agree-or-strongest", "task-table", "random"):
            continue
        sweep = [q for q in report.curve if q.name == p.name]
        rows.append({
            "name": p.name,
            "quality_vs_strongest": _r(ratio(p.quality, s.quality)),
            "cost_vs_strongest": _r(ratio(p.cost_usd, s.cost_usd)),
            "above_random_line": _r(margin(p)),
            "sweep_points_on_or_above_line": [sum(margin(q) >= -1e-9 for q in sweep), len(sweep)] if sweep else None,
            "worst_sweep_margin": _r(min(margin(q) for q in sweep)) if sweep else None,
            "apgr": _r(report.apgr.get(p.name)),
        })
    return rows


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


@dataclass(slots=True)
class HiddenModelRow:
    """How well a model's outcomes are predicted from its quality profile alone, against having seen them."""

    model: str
    prompts: int
    accuracy: float
    predicted_hidden: float
    predicted_seen: float
    auc_hidden: float | None
    auc_seen: float | None


def by_model(
    records: Sequence[EvalRecord],
    *,
    catalog: Iterable[ModelSpec] | None = None,
    test_fraction: float = 0.3,
    seed: int = 0,
    models: Sequence[str] | None = None,
    stage: Stage | None = None,
) -> list[HiddenModelRow]:
    """For each model: train without its outcomes, predict them on held-out prompts from its catalog profile.

    The ``seen`` figures come from a router trained with every model's outcomes on the same training prompts.
    """
    from podium.routing.datasets import split_records
    from podium.routing.router_training import _Featurized, _fit, catalog_scores, predict_featurized

    say = stage or (lambda _t: None)
    train, test = split_records(_capped(records, MMLU_TRAIN_SAMPLE + MMLU_TEST_SAMPLE, seed),
                                test_fraction=test_fraction, seed=seed)
    scores = catalog_scores(catalog)
    say(f"features of {len(train)} training and {len(test)} held-out prompts")
    classifier = _classifier(train, seed)
    data, held = _Featurized.of(train, classifier), _Featurized.of(test, classifier)
    wanted = [m for m in (models or _models(records)) if m in scores]
    say("router trained on every model")
    seen = predict_featurized(_fit(data, seed=seed, c=_c(), min_df=5, progress=None, stage="", scores=scores),
                              held, wanted)
    out: list[HiddenModelRow] = []
    for j, model in enumerate(wanted):
        say(f"router trained without {model}")
        without = replace(data, records=[_drop(r, model) for r in data.records])
        hidden = predict_featurized(_fit(without, seed=seed, c=_c(), min_df=5, progress=None, stage="",
                                         scores=scores), held, [model])[:, 0]
        rows = [i for i, r in enumerate(test) if model in r.outcomes]
        y = np.asarray([test[i].outcomes[model].correct >= 0.5 for i in rows], dtype=float)
        out.append(HiddenModelRow(model, len(rows), float(y.mean()) if rows else 0.0,
                                  float(np.mean(hidden[rows])) if rows else 0.0,
                                  float(np.mean(seen[rows, j])) if rows else 0.0,
                                  _auc(y, hidden[rows]), _auc(y, seen[rows, j])))
    return out


def _classifier(train: Sequence[EvalRecord], seed: int) -> TaskClassifier | None:
    from podium.core.errors import ValidationError
    from podium.routing.router_training import TASK_CLASSIFIER_MIN_DF
    from podium.routing.task_classifier import TaskClassifier, train_task_classifier

    try:
        return train_task_classifier(list(train), seed=seed, min_df=TASK_CLASSIFIER_MIN_DF)
    except ValidationError:
        return TaskClassifier.rules_only()


def _c() -> float:
    from podium.routing.router_training import DEFAULT_C

    return DEFAULT_C


def _models(records: Sequence[EvalRecord]) -> list[str]:
    return sorted({m for r in records for m in r.outcomes})


def _drop(record: EvalRecord, model: str) -> EvalRecord:
    return replace(record, outcomes={m: o for m, o in record.outcomes.items() if m != model})


def _auc(y: np.ndarray, p: np.ndarray) -> float | None:
    if not 0 < y.sum() < len(y):
        return None
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, p)), 4)


def benchmark_json(rows: Sequence[BenchmarkRow]) -> list[dict[str, Any]]:
    return [{"benchmark": b.benchmark, "prompts": b.prompts, "train_prompts": b.train_prompts,
             "strongest": b.report.strongest.params.get("model"), "cheapest": b.report.cheapest.params.get("model"),
             "strategies": b.rows} for b in rows]


def model_json(rows: Sequence[HiddenModelRow]) -> list[dict[str, Any]]:
    return [{"model": r.model, "prompts": r.prompts, "accuracy": round(r.accuracy, 4),
             "predicted_hidden": round(r.predicted_hidden, 4), "predicted_seen": round(r.predicted_seen, 4),
             "auc_hidden": r.auc_hidden, "auc_seen": r.auc_seen} for r in rows]


def render_split(data: dict[str, Any]) -> Table:
    """A rich table of a split's JSON object."""
    from rich.table import Table

    if data["split"] == "by-benchmark":
        table = Table(title="podium eval --split by-benchmark: the router never saw the benchmark it is scored on")
        for col in ("held-out benchmark", "strategy", "quality vs strongest", "cost vs strongest",
                    "vs random-mix line", "sweep on/above line", "worst sweep point", "APGR"):
            table.add_column(col, justify="left" if col in ("held-out benchmark", "strategy") else "right")
        for b in data["benchmarks"]:
            for i, row in enumerate(b["strategies"]):
                table.add_row(
                    f"{b['benchmark']} ({b['prompts']})" if i == 0 else "", row["name"],
                    _pct(row["quality_vs_strongest"]), _pct(row["cost_vs_strongest"]),
                    _pp(row["above_random_line"]),
                    "-" if not row["sweep_points_on_or_above_line"] else "{}/{}".format(
                        *row["sweep_points_on_or_above_line"]),
                    _pp(row["worst_sweep_margin"]), "-" if row["apgr"] is None else f"{row['apgr']:.3f}",
                )
        table.caption = ("vs random-mix line: quality above (+) or below (-) a random mix of the cheapest and the "
                         "strongest model at the same cost, in points of the strongest model's quality; sweep: the "
                         "strategy's threshold or cost-weight settings")
        return table
    table = Table(title="podium eval --split by-model: a model's outcomes predicted from its quality profile alone")
    for col in ("hidden model", "prompts", "accuracy", "predicted (hidden)", "predicted (seen)", "AUC (hidden)",
                "AUC (seen)"):
        table.add_column(col, justify="left" if col == "hidden model" else "right")
    for r in data["models"]:
        table.add_row(r["model"], str(r["prompts"]), f"{r['accuracy']:.3f}", f"{r['predicted_hidden']:.3f}",
                      f"{r['predicted_seen']:.3f}", _num(r["auc_hidden"]), _num(r["auc_seen"]))
    return table


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1%}"


def _pp(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:+.1f} pp"


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
