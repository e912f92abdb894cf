"""How far could any router get on the bundled recorded data? Upper bounds at a given share of the cost.

    python benchmarks/routing_bounds.py [--gsm8k] [--reps 8] [--plot docs/routing_bounds.png]
                                        [--eval-json eval.json]

The targets are >=100% of the strongest model's quality at <=20% of its cost and >=95% at <=8%. This script
measures, on the bundled RouterBench data (ARC-Challenge, MBPP, Winogrande; 11 models), what the best
conceivable routers of each kind reach at those budgets, all with hindsight on the very prompts they are scored
on (so every figure is an upper bound, not a result):

1. task-level: the best mix of models per benchmark (a linear program over per-benchmark model shares);
   any router whose only signal is the task type is below this line;
2. perfect detector, cheap -> strongest: per benchmark one first model, then the strongest model exactly on
   the prompts where the first answer is wrong and the strongest one's is right (a free, flawless check);
3. perfect detector, cheap -> cheap -> strongest: Podium's cascade shape with flawless gates: a flagged answer
   goes to one more model, and a flagged second answer (optionally) to the strongest;
4. imperfect detector: the best of those chains when the wrong-answer score only has a given AUC (binormal
   scores, ``--reps`` draws, thresholds picked with hindsight), next to the AUC the shipped prompt-text router
   measures within each benchmark (out of fold, 5-fold by prompt);
5. the oracle (cheapest correct model per prompt), and how much of it an oracle over random guessers matches:
   on multiple choice, ten coin-flip "models" hold a right answer for almost every prompt.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from podium.providers.recorded_data import EvalRecord
from podium.routing.datasets import load_bundled
from podium.routing.gates.answers import choice_letters, extract_choice

BUDGETS = (0.08, 0.20, 0.30)
AUCS = (0.55, 0.60, 0.70, 0.80, 0.90, 0.99)


@dataclass(frozen=True)
class Matrix:
    """Correctness and cost (records x models) over records where every model has an outcome."""

    records: list[EvalRecord]
    models: list[str]
    tasks: list[str]
    task_of: np.ndarray  # index into tasks, per record
    correct: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, records: Sequence[EvalRecord]) -> Matrix:
        models = sorted(set.intersection(*(set(r.outcomes) for r in records)))
        rows = [r for r in records if all(m in r.outcomes for m in models)]
        tasks = sorted({r.eval_name for r in rows})
        return cls(
            rows, models, tasks,
            np.asarray([tasks.index(r.eval_name) for r in rows]),
            np.asarray([[float(r.outcomes[m].correct >= 0.5) for m in models] for r in rows]),
            np.asarray([[float(r.outcomes[m].cost_usd) for m in models] for r in rows]),
        )

    @property
    def strongest(self) -> int:
        return int(np.argmax(self.correct.mean(axis=0)))

    def base(self) -> tuple[float, float]:
        s = self.strongest
        return float(self.correct[:, s].sum()), float(self.cost[:, s].sum())


def task_level_bound(mx: Matrix, budget: float) -> float:
    """Best quality (relative) of any per-benchmark model mix costing at most ``budget`` (relative)."""
    from scipy.optimize import linprog

    q0, c0 = mx.base()
    nt, nm = len(mx.tasks), len(mx.models)
    gain = np.concatenate([mx.correct[mx.task_of == t].sum(axis=0) for t in range(nt)])
    spend = np.concatenate([mx.cost[mx.task_of == t].sum(axis=0) for t in range(nt)])
    a_eq = np.zeros((nt, nt * nm))
    for t in range(nt):
        a_eq[t, t * nm:(t + 1) * nm] = 1
    res = linprog(-gain, A_ub=[spend], b_ub=[budget * c0], A_eq=a_eq, b_eq=np.ones(nt), bounds=(0, 1))
    return float(-res.fun / q0) if res.success else float("nan")


def perfect_detector_bound(mx: Matrix, budget: float) -> tuple[float, tuple[int, ...]]:
    """Best quality of "first model per benchmark, strongest model exactly where that answer is wrong and the
    strongest one's is right", cheapest escalations first, within ``budget``; with the first models used."""
    q0, c0 = mx.base()
    s = mx.strongest
    firsts = [m for m in range(len(mx.models)) if m != s]
    best, best_combo = -np.inf, ()
    for combo in itertools.product(firsts, repeat=len(mx.tasks)):
        first = np.asarray(combo)[mx.task_of]
        rows = np.arange(len(mx.records))
        quality = mx.correct[rows, first].sum()
        spent = mx.cost[rows, first].sum()
        fixable = (mx.correct[rows, first] == 0) & (mx.correct[:, s] == 1)
        extra = np.sort(mx.cost[fixable, s])
        room = budget * c0 - spent
        if room < 0:
            continue
        k = int(np.searchsorted(np.cumsum(extra), room, side="right"))
        q = (quality + k) / q0
        if q > best:
            best, best_combo = q, combo
    return (best if np.isfinite(best) else float("nan")), best_combo


@dataclass(frozen=True)
class Chain:
    """Per benchmark: first model, the model asked when its answer is flagged (None: none), and whether the
    strongest model is asked when that answer is flagged too."""

    steps: tuple[tuple[int, int | None, bool], ...]

    def describe(self, mx: Matrix) -> str:
        parts = []
        for t, (m1, m2, final) in enumerate(self.steps):
            names = [mx.models[m1]] + ([mx.models[m2]] if m2 is not None else []) + (["strongest"] if final else [])
            parts.append(f"{mx.tasks[t]}: {' -> '.join(names)}")
        return "; ".join(parts)


def _chain_options(mx: Matrix, t: int) -> list[tuple[float, float, tuple[int, int | None, bool]]]:
    """(cost, correct, steps) of every chain on benchmark ``t`` under a perfect detector, Pareto-pruned."""
    s = mx.strongest
    rows = mx.task_of == t
    c, k = mx.correct[rows], mx.cost[rows]
    options = []
    for m1 in range(len(mx.models)):
        for m2 in [None, *range(len(mx.models))]:
            if m2 == m1:
                continue
            for final in (False, True):
                if final and s in (m1, m2):
                    continue
                wrong = c[:, m1] == 0
                q, spent = c[:, m1].sum(), k[:, m1].sum()
                if m2 is not None:
                    q, spent = q + c[wrong, m2].sum(), spent + k[wrong, m2].sum()
                    wrong = wrong & (c[:, m2] == 0)
                if final:
                    fixed = wrong & (c[:, s] == 1)
                    q, spent = q + fixed.sum(), spent + k[fixed, s].sum()
                options.append((float(spent), float(q), (m1, m2, final)))
    options.sort()
    front, best = [], -1.0
    for option in options:
        if option[1] > best:
            front.append(option)
            best = option[1]
    return front


def perfect_chain_bound(mx: Matrix, budget: float) -> tuple[float, Chain | None]:
    """Best quality when a flawless detector flags every wrong answer and a flagged prompt goes to one more
    model per benchmark (then, optionally, the strongest): the same cascade Podium runs, with perfect gates."""
    q0, c0 = mx.base()
    best, chain = -np.inf, None
    for combo in itertools.product(*(_chain_options(mx, t) for t in range(len(mx.tasks)))):
        if sum(o[0] for o in combo) <= budget * c0:
            q = sum(o[1] for o in combo) / q0
            if q > best:
                best, chain = q, Chain(tuple(o[2] for o in combo))
    return (best if np.isfinite(best) else float("nan")), chain


def _candidate_chains(mx: Matrix, single: dict[float, tuple[float, tuple[int, ...]]]) -> list[Chain]:
    """Chains worth simulating with an imperfect detector: the perfect-detector optima over a range of budgets
    and the one-step cascades (first model, then the strongest)."""
    out: dict[Chain, None] = {}
    for b in (0.06, 0.08, 0.12, 0.20, 0.30, 0.50):
        chain = perfect_chain_bound(mx, b)[1]
        if chain is not None:
            out[chain] = None
    for _, combo in single.values():
        if combo:
            out[Chain(tuple((m, None, True) for m in combo))] = None
    return list(out)


def noisy_chain(mx: Matrix, chain: Chain, auc: float, budget: float, rng: np.random.Generator) -> float:
    """``chain`` with a detector whose wrong-answer score has the given AUC (binormal, unit variance): flag the
    answers scoring above a threshold per step, thresholds chosen (with hindsight) as the best within budget."""
    from scipy.stats import norm

    q0, c0 = mx.base()
    s, n, shift = mx.strongest, len(mx.records), np.sqrt(2) * norm.ppf(auc)
    rows = np.arange(n)
    steps = [chain.steps[t] for t in mx.task_of]
    m1 = np.asarray([st[0] for st in steps])
    m2 = np.asarray([st[1] if st[1] is not None else -1 for st in steps])
    final = np.asarray([st[2] for st in steps])
    c1 = mx.correct[rows, m1]
    c2 = np.where(m2 >= 0, mx.correct[rows, np.maximum(m2, 0)], c1)
    k2 = np.where(m2 >= 0, mx.cost[rows, np.maximum(m2, 0)], 0.0)
    score1 = rng.normal(shift * (1 - c1), 1.0)
    score2 = rng.normal(shift * (1 - c2), 1.0)
    base_cost = mx.cost[rows, m1].sum()
    best = c1.sum() / q0 if base_cost <= budget * c0 else -np.inf
    for z1 in np.quantile(score1, np.linspace(0, 1, 21)):
        flag1 = (score1 >= z1) & ((m2 >= 0) | final)
        direct = flag1 & (m2 < 0)  # no second model: a flagged answer goes straight to the strongest
        second = flag1 & (m2 >= 0)
        cost1 = base_cost + k2[second].sum() + mx.cost[direct, s].sum()
        if cost1 > budget * c0:
            continue
        answer = np.where(second, c2, np.where(direct, mx.correct[:, s], c1))
        best = max(best, answer.sum() / q0)
        for z2 in np.quantile(score2, np.linspace(0, 1, 21)):
            flag2 = second & final & (score2 >= z2)
            if cost1 + mx.cost[flag2, s].sum() > budget * c0:
                continue
            best = max(best, np.where(flag2, mx.correct[:, s], answer).sum() / q0)
    return float(best) if np.isfinite(best) else float("nan")


def measured_auc(mx: Matrix, combo: tuple[int, ...]) -> dict[str, float]:
    """Within-benchmark AUC of the shipped router's out-of-fold P(good) for each benchmark's first model."""
    from sklearn.metrics import roc_auc_score

    from podium.routing.router_training import cross_validate

    probs, _ = cross_validate(mx.records, k=5, seed=0)
    out: dict[str, float] = {}
    for t, name in enumerate(mx.tasks):
        rows = mx.task_of == t
        m = combo[t]
        y = mx.correct[rows, m]
        out[name] = float(roc_auc_score(y, probs[rows, m])) if 0 < y.sum() < len(y) else float("nan")
    return out


def agreement_auc(mx: Matrix) -> list[tuple[str, str, str, float, float, float]]:
    """The answer-side detector a cascade can buy: per multiple-choice benchmark and each of its three most
    accurate cheap models (at most a fifth of the strongest model's cost), the AUC of "one peer states the same choice" (peer: the next most accurate cheap
    model) and of "how many of all other cheap models agree", with what the peer call costs (relative)."""
    from sklearn.metrics import roc_auc_score

    s = mx.strongest
    out = []
    for t, name in enumerate(mx.tasks):
        rows = np.flatnonzero(mx.task_of == t)
        letters = [choice_letters(mx.records[i].prompt) for i in rows]
        if not all(letters):
            continue
        picks = np.asarray([[extract_choice(mx.records[i].outcomes[m].response, ls) or "" for m in mx.models]
                            for i, ls in zip(rows, letters, strict=True)])
        limit = 0.2 * mx.cost[rows, s].sum()  # "cheap": at most a fifth of the strongest model's cost
        cheap = sorted((m for m in range(len(mx.models)) if m != s and mx.cost[rows, m].sum() <= limit),
                       key=lambda m: -mx.correct[rows, m].mean())
        for m in cheap[:3]:
            peer = next(p for p in cheap if p != m)
            y = mx.correct[rows, m]
            same = (picks[:, m] == picks[:, peer]) & (picks[:, m] != "")
            votes = sum((picks[:, m] == picks[:, o]) & (picks[:, m] != "") for o in cheap if o != m)
            share = mx.cost[rows, peer].sum() / mx.cost[rows, s].sum()
            out.append((name, mx.models[m], mx.models[peer], float(roc_auc_score(y, same)),
                        float(roc_auc_score(y, votes)), float(share)))
    return out


def guesser_oracle(mx: Matrix) -> dict[str, float]:
    """Per multiple-choice benchmark: chance that at least one of (models - 1) uniform random guessers is right."""
    out: dict[str, float] = {}
    guessers = len(mx.models) - 1
    for t, name in enumerate(mx.tasks):
        options = [len(choice_letters(r.prompt)) for r, k in zip(mx.records, mx.task_of, strict=True) if k == t]
        if options and all(options):
            out[name] = float(np.mean([1 - (1 - 1 / n) ** guessers for n in options]))
    return out


def _pct(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gsm8k", action="store_true", help="also keep GSM8K (only two models recorded there)")
    ap.add_argument("--reps", type=int, default=8, help="random draws per simulated AUC")
    ap.add_argument("--plot", type=Path, help="write a PNG of the bounds against the budgets")
    ap.add_argument("--eval-json", type=Path, help="`podium eval --json` output whose cascade curve to overlay")
    args = ap.parse_args()

    records = load_bundled(include_gsm8k=args.gsm8k)
    mx = Matrix.of(records)
    q0, c0 = mx.base()
    strongest = mx.models[mx.strongest]
    console = Console(width=150)
    console.print(f"{len(mx.records)} prompts ({', '.join(mx.tasks)}), {len(mx.models)} models; "
                  f"strongest: {strongest} ({q0 / len(mx.records):.3f} accuracy)")

    rng = np.random.default_rng(0)
    single = {b: perfect_detector_bound(mx, b) for b in BUDGETS}
    chains = {b: perfect_chain_bound(mx, b) for b in BUDGETS}
    table = Table(title="Upper bounds (hindsight on the scored prompts) vs the targets")
    table.add_column("router kind")
    for b in BUDGETS:
        table.add_column(f"quality at <= {b:.0%} cost", justify="right")
    table.add_row("task-level (best per-benchmark mix)", *(_pct(task_level_bound(mx, b)) for b in BUDGETS))
    table.add_row("perfect detector, cheap -> strongest", *(_pct(single[b][0]) for b in BUDGETS))
    table.add_row("perfect detector, cheap -> cheap -> strongest", *(_pct(chains[b][0]) for b in BUDGETS))
    candidates = _candidate_chains(mx, single)
    for auc in AUCS:
        cells = []
        for b in BUDGETS:
            runs = [float(np.mean([noisy_chain(mx, ch, auc, b, rng) for _ in range(args.reps)])) for ch in candidates]
            cells.append(_pct(np.nanmax(runs)))
        table.add_row(f"  best of those chains, detector AUC {auc:.2f}", *cells)
    table.add_row("target (95% at 8%, 100% at 20%)", "95.0%", "100.0%", "—")
    console.print(table)
    for b in BUDGETS:
        chain = chains[b][1]
        console.print(f"chains of the perfect-detector bound at {b:.0%}: {chain.describe(mx) if chain else '—'}")
    combo = tuple(st[0] for st in chains[0.08][1].steps) if chains[0.08][1] else single[0.08][1]
    auc = measured_auc(mx, combo)
    console.print("measured within-benchmark AUC of the shipped prompt-text router (5-fold, out of fold): "
                  + ", ".join(f"{t} / {mx.models[m]}: {auc[t]:.3f}" for t, m in zip(mx.tasks, combo, strict=True)))

    agree = Table(title="Answer-side detector: AUC of agreement for a cheap answer being right")
    for col in ("benchmark", "answer of", "peer", "AUC peer agrees", "AUC votes of all cheap", "peer call cost"):
        agree.add_column(col, justify="right" if col.startswith(("AUC", "peer call")) else "left")
    for name, m, peer, one, votes, share in agreement_auc(mx):
        agree.add_row(name, m, peer, f"{one:.3f}", f"{votes:.3f}", f"{share:.1%}")
    console.print(agree)

    oracle_cost = np.where(mx.correct > 0, mx.cost, np.inf).min(axis=1)
    oracle_cost = np.where(np.isfinite(oracle_cost), oracle_cost, mx.cost.min(axis=1))
    console.print(f"oracle: {mx.correct.max(axis=1).sum() / q0:.1%} at {oracle_cost.sum() / c0:.1%}")
    s = mx.strongest
    for t, p in guesser_oracle(mx).items():
        rows = mx.task_of == mx.tasks.index(t)
        console.print(f"  {t}: the oracle picks a right answer on {mx.correct[rows].max(axis=1).mean():.1%} of prompts "
                      f"(strongest model {mx.correct[rows, s].mean():.1%}); an oracle over {len(mx.models) - 1} "
                      f"random guessers would on {p:.1%}")

    if args.plot:
        _plot(mx, args.plot, rng, args.reps, args.eval_json)
        console.print(f"plot written to {args.plot}")


def _plot(mx: Matrix, path: Path, rng: np.random.Generator, reps: int, eval_json: Path | None) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    budgets = np.geomspace(0.03, 1.0, 16)
    fig = Figure(figsize=(9, 6), dpi=110)
    ax = fig.add_subplot()
    ax.plot(budgets, [task_level_bound(mx, b) for b in budgets], label="task-level bound (best per-benchmark mix)")
    ax.plot(budgets, [perfect_detector_bound(mx, b)[0] for b in budgets], label="perfect detector, cheap -> strongest")
    ax.plot(budgets, [perfect_chain_bound(mx, b)[0] for b in budgets],
            label="perfect detector, cheap -> cheap -> strongest")
    single = {b: perfect_detector_bound(mx, b) for b in BUDGETS}
    candidates = _candidate_chains(mx, single)
    for auc in (0.55, 0.70, 0.90):
        ys = [np.nanmax([float(np.mean([noisy_chain(mx, ch, auc, b, rng) for _ in range(max(1, reps // 4))]))
                         for ch in candidates]) for b in budgets]
        ax.plot(budgets, ys, linestyle="--", label=f"best chain, detector AUC {auc:.2f}")
    if eval_json is not None:
        report = json.loads(eval_json.read_text())
        base_q, base_c = report["strongest"]["quality"], float(report["strongest"]["cost_usd"])
        pts = sorted((float(p["cost_usd"]) / base_c, p["quality"] / base_q)
                     for p in report["curve"] if p["name"] == "cascade")
        ax.plot([x for x, _ in pts], [y for _, y in pts], color="black", marker="o",
                label="podium learned cascade (podium eval --json)")
    ax.scatter(
        [0.08, 0.20], [0.95, 1.00], marker="*", s=160, color="red", zorder=4,
        label="targets: 95% at 8%, 100% at 20% of cost",
    )
    ax.set_xscale("log")
    pct = FuncFormatter(lambda v, _p: f"{v:.0%}")
    ax.xaxis.set_major_formatter(pct)
    ax.yaxis.set_major_formatter(pct)
    ax.set_xlabel(f"cost relative to always calling {mx.models[mx.strongest]} (log scale)")
    ax.set_ylabel("quality relative to the strongest model")
    ax.set_title(f"Upper bounds on {len(mx.records)} RouterBench prompts (hindsight on the scored prompts)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(path, format="png", bbox_inches="tight")


if __name__ == "__main__":
    sys.exit(main())
