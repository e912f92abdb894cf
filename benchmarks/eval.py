"""Routing quality and cost under 5-fold cross-validation by prompt, plus the time `podium eval` takes.

    python benchmarks/eval.py [--folds 5] [--no-gsm8k] [--seed 0]

For each fold the router is trained on the other folds only; every strategy is replayed on the fold's prompts.
Prints one row per fold and strategy (quality and cost relative to the strongest single model on the training
folds), the mean over folds, APGR per swept strategy and the cost to reach 95% / 100% of the strongest quality.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict

from rich.console import Console
from rich.table import Table

from podium.routing.datasets import kfold, load_bundled, split_records
from podium.routing.evaluation import evaluate
from podium.routing.evaluation.metrics import ratio


def _fold_rows(report) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    s = report.strongest
    rows = {p.name: (ratio(p.quality, s.quality) or 0.0, ratio(p.cost_usd, s.cost_usd) or 0.0)
            for p in [*report.strategies, report.oracle]}
    for name, value in report.apgr.items():
        rows[f"APGR {name}"] = (value, float("nan"))
    for share, p in report.reach.items():
        rows[f"cost to {share}%"] = (float("nan"), float("nan") if p is None else ratio(p.cost_usd, s.cost_usd) or 0.0)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-gsm8k", action="store_true")
    args = parser.parse_args()
    records = load_bundled(include_gsm8k=not args.no_gsm8k)

    started = time.perf_counter()
    train, test = split_records(records, test_fraction=0.3, seed=args.seed)
    fixed = evaluate(train, test, seed=args.seed)
    one_run = time.perf_counter() - started

    per_name: dict[str, list[tuple[float, float]]] = defaultdict(list)
    table = Table(title=f"{args.folds}-fold cross-validation by prompt ({len(records)} records)")
    for col in ("fold", "row", "quality vs strongest", "cost vs strongest"):
        table.add_column(col, justify="left" if col in ("fold", "row") else "right")
    for fold, (tr, te) in enumerate(kfold(records, k=args.folds, seed=args.seed), start=1):
        rows = _fold_rows(evaluate(tr, te, seed=args.seed))
        for name, (q, c) in rows.items():
            per_name[name].append((q, c))
            table.add_row(str(fold), name, _pct(q, name), _pct(c, name))
        table.add_section()
    for name, values in per_name.items():
        q = statistics.fmean(v[0] for v in values)
        c = statistics.fmean(v[1] for v in values)
        table.add_row("mean", name, _pct(q, name), _pct(c, name))
    console = Console(width=120)
    console.print(table)
    fixed_rows = _fold_rows(fixed)
    summary = Table(title=f"fixed split: {fixed.prompts} held-out prompts; evaluate() took {one_run:.1f}s")
    summary.add_column("row")
    summary.add_column("quality vs strongest", justify="right")
    summary.add_column("cost vs strongest", justify="right")
    for name, (q, c) in fixed_rows.items():
        summary.add_row(name, _pct(q, name), _pct(c, name))
    console.print(summary)


def _pct(value: float, name: str) -> str:
    if math.isnan(value):  # not meaningful for this row
        return "-"
    return f"{value:.3f}" if name.startswith("APGR") else f"{value:.1%}"


if __name__ == "__main__":
    main()
