"""Router benchmark: decision latency, training time, and cross-validated / held-out cost and quality.

Run: python benchmarks/router.py [--folds 5] [--c 0.3] [--min-df 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from podium.routing.datasets import load_bundled, split_records
from podium.routing.learned_router import QualityRouter
from podium.routing.router_training import _model_ids, cross_validate, fit_router, routing_curve
from podium.routing.task_analysis import analyze

USER_PROMPTS = (
    "Write a function to reverse a linked list in Python.",
    "What is the capital of Australia?",
    "Summarize this paragraph in one sentence: The quick brown fox jumps over the lazy dog.",
    "A train travels 120 km in 1.5 hours. What is its average speed?",
    "Write a haiku about the sea.",
    "Plan a three-day trip to Rome for a family with two kids.",
)


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def latency(router: QualityRouter, prompts: list[str], models: list[str] | None = None) -> dict[str, float]:
    for p in prompts[:5]:
        router.predict(p, models)  # warm caches (task classifier load)
    decide, prof = [], []
    for p in prompts:
        t = time.perf_counter()
        router.predict(p, models)
        decide.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        analyze(p)
        prof.append((time.perf_counter() - t) * 1000)
    return {
        "decide_p50": statistics.median(decide),
        "decide_p95": _pct(decide, 0.95),
        "analyze_p50": statistics.median(prof),
        "analyze_p95": _pct(prof, 0.95),
    }


def print_curve(title: str, curve: dict[str, Any]) -> None:
    print(
        f"\n{title}: {curve['prompts']} prompts; strongest single model {curve['strongest']} "
        f"(accuracy {curve['strongest_accuracy']:.3f}, "
        f"${curve['strongest_cost_usd']:.5f} per call)"
    )
    print(f"  {'rule':<16} {'quality':>9} {'cost':>8}   (both relative to the strongest model)")
    print(f"  {'strongest':<16} {1.0:>9.1%} {1.0:>8.1%}")
    print(f"  {'oracle':<16} {curve['oracle']['quality']:>9.1%} {curve['oracle']['cost']:>8.1%}")
    for p in curve["points"]:
        print(f"  {p['rule']:<16} {p['quality']:>9.1%} {p['cost']:>8.1%}")
    for cap in (0.08, 0.20, 0.30):
        best = max((p["quality"] for p in curve["points"] if p["cost"] <= cap), default=float("nan"))
        print(f"  best quality at cost <= {cap:.0%}: {best:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--c", type=float, default=0.1)
    ap.add_argument("--min-df", type=int, default=5)
    args = ap.parse_args()

    records = load_bundled()
    routerbench = [r for r in records if r.eval_name != "gsm8k"]
    train, test = split_records(records, test_fraction=0.3, seed=0)

    t = time.perf_counter()
    router = fit_router(train, c=args.c, min_df=args.min_df)
    fit_s = time.perf_counter() - t
    t = time.perf_counter()
    _, cv = cross_validate(routerbench, k=args.folds, c=args.c, min_df=args.min_df)
    cv_s = time.perf_counter() - t

    from podium.catalog import Catalog

    current = [s.id for s in Catalog.bundled() if s.current and s.quality is not None]
    router = router.with_catalog(Catalog.bundled())
    lat_data = latency(router, [r.prompt for r in test])
    lat_user = latency(router, list(USER_PROMPTS) * 20)
    lat_current = latency(router, list(USER_PROMPTS) * 20, current)
    print(f"{'measure':<44} {'value':>10}")
    print(f"{'train (fit on 70% split, ' + str(len(train)) + ' prompts) s':<44} {fit_s:>10.2f}")
    print(f"{str(args.folds) + '-fold CV on RouterBench (' + str(len(routerbench)) + ' prompts) s':<44} {cv_s:>10.2f}")
    for name, lat in (("recorded prompts", lat_data), ("short user prompts", lat_user),
                      (f"short prompts, {len(current)} current models", lat_current)):
        print(f"{'decision latency p50 ms, ' + name:<44} {lat['decide_p50']:>10.3f}")
        print(f"{'decision latency p95 ms, ' + name:<44} {lat['decide_p95']:>10.3f}")
        print(f"{'task analysis p50 ms, ' + name:<44} {lat['analyze_p50']:>10.3f}")

    aucs = [m["auc"] for m in cv["per_model"].values() if m["auc"] is not None]
    briers = [m["brier"] for m in cv["per_model"].values() if m["brier"] is not None]
    print(
        f"\nCV per-model AUC: mean {np.mean(aucs):.3f} (min {min(aucs):.3f}, max {max(aucs):.3f}); "
        f"mean Brier {np.mean(briers):.3f}"
    )
    print_curve(f"{args.folds}-fold CV by prompt, RouterBench (ARC, MBPP, Winogrande)", cv["routing"])

    held_out = [r for r in test if r.eval_name != "gsm8k"]
    models = _model_ids(held_out)
    probs = router.predict_many([r.prompt for r in held_out])
    cols = [router.models.index(m) for m in models]
    print_curve(
        "held-out 30% split (trained on the other 70%, GSM8K included in training)",
        routing_curve(held_out, models, probs[:, cols]),
    )


if __name__ == "__main__":
    main()
