"""Does feedback from a deployment's own traffic lower routing regret? A simulation on the bundled recorded data.

Primary scenario, a model new to the deployment: the base router is trained on a training split with one model's
(M's) outcomes hidden, so it rates M from its catalog quality profile alone. It serves traffic drawn from other
prompts of the same benchmarks (ARC-Challenge, MBPP, Winogrande: the ones with all 11 models; GSM8K, two models
only, is used for training alone) with ``choose_by_utility`` over all 11 models. Each call's answer is rated
good/bad by the chosen model's recorded correctness; ``--explore`` of the calls go to a uniformly random model, so
some ratings reach models the router would not pick. Every ``--refit-every`` ratings the adjustment
(``podium.routing.feedback_adjust``) is refitted; at 0, 50, 100, 200, 400 and 800 ratings, regret is measured on a
held-out evaluation split: mean over prompts of (utility of the best model in hindsight - utility of the chosen one),
utility = correct - lambda * cost / (strongest model's mean cost per call). The reference "M seen" is the same
router trained with M's outcomes: what ideal learning about M could reach.

The adjustment's l2 is chosen on a separate tuning split (other prompts, other traffic orders), never on the
reported evaluation split. Seeds vary the data split and the traffic order; numbers are mean +- sd over seeds.
The second table re-runs the earlier scenario (base trained on ARC-Challenge + Winogrande, serving MBPP).

    python benchmarks/feedback_regret.py [--seeds 5] [--lam 0.2] [--plot docs/feedback_regret.png]

Without ``--plot`` only the tables are printed; the figure in docs/ is redrawn only when asked for by that path.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from podium.providers.recorded_data import EvalRecord
from podium.routing.datasets import load_bundled, split_records
from podium.routing.feedback_adjust import FeedbackAdjustedRouter, LabelledAnswer
from podium.routing.learned_router import choose_by_utility

CHECKPOINTS: tuple[int, ...] = (0, 50, 100, 200, 400, 800)
NEW_MODELS: tuple[str, ...] = ("anthropic:claude-v2", "together:yi-34b-chat", "openai:gpt-3.5-turbo-1106")
SERVED_EVALS: tuple[str, ...] = ("arc-challenge", "mbpp", "winogrande")
L2_GRID: tuple[float, ...] = (4.0, 16.0, 64.0, 256.0)
SHIFT = "benchmark shift: ARC+Winogrande -> MBPP"


@dataclass(frozen=True, slots=True)
class Split:
    """Prompts with the base's P(good), recorded correctness and cost as (prompts x models) arrays."""

    prompts: list[str]
    tasks: list[str]
    probs: np.ndarray
    correct: np.ndarray
    cost: np.ndarray


class MatrixRouter:
    """A base router whose predictions were computed in one batch (``predict_featurized``), looked up by prompt."""

    def __init__(self, models: Sequence[str], splits: Sequence[Split]) -> None:
        self.models = tuple(models)
        self._rows = {p: (s.probs[i], s.tasks[i]) for s in splits for i, p in enumerate(s.prompts)}

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        row = self._rows[prompt][0]
        wanted = self.models if models is None else models
        return {m: float(row[self.models.index(m)]) for m in wanted if m in self.models}

    def task_type(self, prompt: str) -> str:
        return self._rows[prompt][1]


@dataclass(slots=True)
class Scenario:
    """One simulated deployment: its base, traffic, evaluation (and tuning) splits and the reference router."""

    name: str
    new_model: str | None
    base: MatrixRouter
    traffic: Split
    evaluated: Split
    tune: Split | None = None
    seen_probs: np.ndarray | None = None  # the evaluation split as rated by a base that saw M's outcomes


@dataclass(frozen=True, slots=True)
class Rule:
    """choose_by_utility with costs scaled so that its trade-off is the utility's."""

    models: tuple[str, ...]
    mean_cost: dict[str, float]
    cost_weight: float  # per USD: lambda / strongest model's mean cost
    strongest: int

    def picks(self, probs: np.ndarray) -> np.ndarray:
        index = {m: j for j, m in enumerate(self.models)}
        return np.asarray([index[choose_by_utility(dict(zip(self.models, row, strict=True)), self.mean_cost,
                                                   self.cost_weight)] for row in probs])

    def utility(self, split: Split) -> np.ndarray:
        return split.correct - self.cost_weight * split.cost


def adjusted(router: Any, split: Split) -> np.ndarray:
    """``router.predict`` over a whole split at once (same arithmetic as FeedbackAdjustedRouter.predict)."""
    if not isinstance(router, FeedbackAdjustedRouter) or not router.offsets:
        return split.probs
    models = router.models
    offsets = {t: np.asarray([router.offset(m, t) for m in models]) for t in set(split.tasks)}
    shift = np.vstack([offsets[t] for t in split.tasks])
    p = np.clip(split.probs, 1e-6, 1 - 1e-6)
    return 1.0 / (1.0 + np.exp(-(np.log(p / (1 - p)) + shift)))


def measure(rule: Rule, split: Split, probs: np.ndarray, new_model: str | None) -> dict[str, float]:
    """Regret, quality and cost vs the strongest model, and the share of calls routed to the new model."""
    picks = rule.picks(probs)
    rows = np.arange(len(picks))
    u = rule.utility(split)
    s = rule.strongest
    return {
        "regret": float(np.mean(u.max(axis=1) - u[rows, picks])),
        "quality": float(split.correct[rows, picks].mean() / split.correct[:, s].mean()),
        "cost": float(split.cost[rows, picks].mean() / split.cost[:, s].mean()),
        "new_share": float(np.mean(picks == rule.models.index(new_model))) if new_model else float("nan"),
    }


def simulate(
    sc: Scenario, rule: Rule, evaluated: Split, *, seed: int, l2: float, explore: float, policy: str,
    refit_every: int, tick: Callable[[], None],
) -> list[dict[str, float]]:
    """Metrics on ``evaluated`` at each checkpoint, for one random order of the scenario's traffic.

    ``policy`` says where exploring calls go: "uniform" (a random model of all) or "new" (the new model: a
    trial share, as a deployment adding a model would give it).
    """
    rng = np.random.default_rng(seed)
    trial = rule.models.index(sc.new_model) if policy == "new" and sc.new_model else None
    traffic, models = sc.traffic, rule.models
    router: Any = sc.base
    picks = rule.picks(traffic.probs)
    examples: list[LabelledAnswer] = []
    out: list[dict[str, float]] = []
    for n in range(CHECKPOINTS[-1] + 1):
        if n and n % refit_every == 0:
            router = FeedbackAdjustedRouter.fit(sc.base, examples, l2=l2)
            picks = rule.picks(adjusted(router, traffic))
        if n in CHECKPOINTS:
            row = measure(rule, evaluated, adjusted(router, evaluated), sc.new_model)
            row["new_ratings"] = float(sum(e.model == sc.new_model for e in examples))
            out.append(row)
            tick()
        if n == CHECKPOINTS[-1]:
            break
        i = int(rng.integers(len(traffic.prompts)))  # traffic repeats prompts, as real traffic does
        if rng.random() < explore:
            j = trial if trial is not None else int(rng.integers(len(models)))
        else:
            j = int(picks[i])
        good = 1.0 if traffic.correct[i, j] >= 0.5 else 0.0
        examples.append(LabelledAnswer(models[j], traffic.tasks[i], good, 1.0, traffic.prompts[i]))
    return out


# -- data ------------------------------------------------------------------------------------------------------


def _split(data: Any, rows: Sequence[int], router: Any, models: tuple[str, ...]) -> Split:
    from podium.routing.router_training import predict_featurized

    sub = data.subset(rows)
    recs = sub.records
    return Split([r.prompt for r in recs], list(sub.task_types), predict_featurized(router, sub, list(models)),
                 np.asarray([[r.outcomes[m].correct for m in models] for r in recs], dtype=float),
                 np.asarray([[float(r.outcomes[m].cost_usd) for m in models] for r in recs], dtype=float))


def _without(data: Any, model: str) -> Any:
    return replace(data, records=[replace(r, outcomes={m: o for m, o in r.outcomes.items() if m != model})
                                  for r in data.records])


def build(records: Sequence[EvalRecord], seed: int, new_models: Sequence[str], lam: float,
          say: Callable[[str], None]) -> tuple[list[Scenario], Rule]:
    """One seed's data split, base routers and scenarios: train 40%, tuning 15%, traffic 25%, evaluation 20%."""
    from podium.routing.evaluation.splits import _classifier
    from podium.routing.router_training import DEFAULT_C, DEFAULT_MIN_DF, _Featurized, _fit, catalog_scores

    served = [r for r in records if r.eval_name in SERVED_EVALS]
    models = tuple(sorted(set.intersection(*(set(r.outcomes) for r in served))))
    train, rest = split_records(served, test_fraction=0.6, seed=seed)
    evaluated, rest = split_records(rest, test_fraction=2 / 3, seed=seed + 1)
    tune, traffic = split_records(rest, test_fraction=0.625, seed=seed + 2)
    train = train + [r for r in records if r.eval_name not in SERVED_EVALS]
    say(f"seed {seed}: task classifier and features")
    everything = train + tune + traffic + evaluated
    data = _Featurized.of(everything, _classifier(train, seed))
    bounds = np.cumsum([0, len(train), len(tune), len(traffic), len(evaluated)])
    part = [list(range(bounds[k], bounds[k + 1])) for k in range(4)]
    tr = data.subset(part[0])
    scores = catalog_scores()

    def fit(d: Any) -> Any:
        return _fit(d, seed=seed, c=DEFAULT_C, min_df=DEFAULT_MIN_DF, progress=None, stage="", scores=scores)

    def splits(router: Any, parts: Sequence[list[int]]) -> list[Split]:
        return [_split(data, p, router, models) for p in parts]

    say(f"seed {seed}: router with every model seen")
    seen = fit(tr)
    seen_eval = _split(data, part[3], seen, models).probs
    out: list[Scenario] = []
    for m in new_models:
        say(f"seed {seed}: router with {m} hidden")
        t, f, e = splits(fit(_without(tr, m)), part[1:])
        out.append(Scenario(f"new model: {m}", m, MatrixRouter(models, (t, f, e)), f, e, t, seen_eval))
    say(f"seed {seed}: router trained on ARC-Challenge + Winogrande only")
    shift_train = [i for i in part[0] if everything[i].eval_name in ("arc-challenge", "winogrande")]
    mbpp = [[i for i in p if everything[i].eval_name == "mbpp"] for p in part[1:]]
    f, e = splits(fit(data.subset(shift_train)), [mbpp[1], mbpp[0] + mbpp[2]])  # nothing tuned on this one
    out.append(Scenario(SHIFT, None, MatrixRouter(models, (f, e)), f, e))
    return out, _rule(train, models, lam)


def _rule(train: Sequence[EvalRecord], models: tuple[str, ...], lam: float) -> Rule:
    rows = [r for r in train if all(m in r.outcomes for m in models)]
    acc = {m: np.mean([r.outcomes[m].correct for r in rows]) for m in models}
    cost = {m: float(np.mean([float(r.outcomes[m].cost_usd) for r in rows])) for m in models}
    strongest = max(models, key=lambda m: acc[m])
    return Rule(models, cost, lam / cost[strongest], models.index(strongest))


# -- running ---------------------------------------------------------------------------------------------------


POLICIES: dict[str, str] = {"uniform": "explore: any model", "new": "explore: new model"}
Key = tuple[str, str]  # (scenario, exploration policy)
Runs = dict[Key, list[list[dict[str, float]]]]  # one list of checkpoint rows per seed
World = tuple[list[Scenario], Rule]


def run_all(worlds: Sequence[World], *, l2: float, explore: float, refit_every: int, tuning: bool,
            tick: Callable[[], None]) -> Runs:
    """Every scenario and exploration policy under every seed; ``tuning`` measures on the tuning split, with
    other traffic orders."""
    out: Runs = {}
    for seed, (scenarios, rule) in enumerate(worlds):
        for sc in scenarios:
            if tuning and sc.tune is None:
                continue
            for policy in POLICIES if sc.new_model else ("uniform",):
                rows = simulate(sc, rule, sc.tune if tuning and sc.tune else sc.evaluated,
                                seed=(1000 + seed) if tuning else seed, l2=l2, explore=explore, policy=policy,
                                refit_every=refit_every, tick=tick)
                out.setdefault((sc.name, policy), []).append(rows)
    return out


def tune_l2(worlds: Sequence[World], grid: Sequence[float], tick: Callable[[], None],
            **kw: Any) -> tuple[float, dict[float, float]]:
    """The l2 with the lowest mean regret on the tuning split (over checkpoints with feedback, every new-model
    scenario and both exploration policies)."""
    score: dict[float, float] = {}
    for l2 in grid:
        runs = run_all(worlds, l2=l2, tuning=True, tick=tick, **kw)
        score[l2] = float(np.mean([row["regret"] for seeds in runs.values() for rows in seeds for row in rows[1:]]))
    return min(score, key=lambda v: (score[v], v)), score


def stats(runs: list[list[dict[str, float]]], key: str) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray([[row[key] for row in rows] for rows in runs])
    return m.mean(axis=0), m.std(axis=0)


def seen_stats(worlds: Sequence[World]) -> dict[str, dict[str, float]]:
    """Each new-model scenario measured with the base that saw M's outcomes (mean over seeds, and sd of regret)."""
    rows: dict[str, list[dict[str, float]]] = {}
    for scenarios, rule in worlds:
        for sc in scenarios:
            if sc.seen_probs is not None:
                rows.setdefault(sc.name, []).append(measure(rule, sc.evaluated, sc.seen_probs, sc.new_model))
    return {name: {**{k: float(np.mean([r[k] for r in rs])) for k in rs[0]},
                   "regret_sd": float(np.std([r["regret"] for r in rs]))} for name, rs in rows.items()}


def regret_table(runs: Runs, seen: dict[str, dict[str, float]], title: str) -> Any:
    from rich.table import Table

    t = Table("scenario", "exploration", *(f"{n} ratings" for n in CHECKPOINTS), "change 0->800 (paired)", "M seen",
              title=title)
    for (name, policy), scenario_runs in runs.items():
        mean, sd = stats(scenario_runs, "regret")
        ref = seen.get(name)
        t.add_row(name.removeprefix("new model: "), POLICIES[policy].removeprefix("explore: "), *(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, sd)),
                  _paired_change(scenario_runs),
                  f"{ref['regret']:.3f} ± {ref['regret_sd']:.3f}" if ref else "-")
    return t


def _paired_change(runs: list[list[dict[str, float]]]) -> str:
    """Regret at 800 minus at 0 within each seed (same split and evaluation prompts), mean +- sd."""
    d = np.asarray([rows[-1]["regret"] - rows[0]["regret"] for rows in runs])
    return f"{d.mean():+.3f} ± {d.std():.3f}"


def detail_table(runs: Runs, seen: dict[str, dict[str, float]], title: str) -> Any:
    from rich.table import Table

    t = Table("scenario", "exploration", "quality vs strongest 0 -> 800", "cost vs strongest 0 -> 800",
              "calls to M 0 -> 800", "ratings of M by 800", "M seen: quality / cost / calls to M", title=title)
    pct = (lambda v: "-" if np.isnan(v) else f"{v:.1%}")
    for (name, policy), scenario_runs in runs.items():
        q, c, share, rated = (stats(scenario_runs, k)[0] for k in ("quality", "cost", "new_share", "new_ratings"))
        ref = seen.get(name)
        t.add_row(name.removeprefix("new model: "), POLICIES[policy].removeprefix("explore: "), f"{q[0]:.1%} -> {q[-1]:.1%}",
                  f"{c[0]:.1%} -> {c[-1]:.1%}", f"{pct(share[0])} -> {pct(share[-1])}",
                  "-" if np.isnan(share[0]) else f"{rated[-1]:.0f}",
                  f"{ref['quality']:.1%} / {ref['cost']:.1%} / {ref['new_share']:.1%}" if ref else "-")
    return t


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="data splits and traffic orders to average over")
    ap.add_argument("--lam", type=float, default=0.2,
                    help="utility = correct - lam * cost / strongest model's mean cost")
    ap.add_argument("--explore", type=float, default=0.1, help="share of calls sent to an exploratory model")
    ap.add_argument("--refit-every", type=int, default=50, help="ratings between refits of the adjustment")
    ap.add_argument("--l2", type=float, default=None, help="fixed l2 (default: chosen on the tuning split)")
    ap.add_argument("--models", default=",".join(NEW_MODELS), help="the models simulated as new, comma-separated")
    ap.add_argument("--plot", type=Path, help="write a PNG of regret against ratings here (the docs' figure: "
                    "--plot docs/feedback_regret.png)")
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(width=190)
    records = load_bundled()
    new_models = args.models.split(",")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    kw = {"explore": args.explore, "refit_every": args.refit_every}
    with Progress(*columns, console=console, transient=True) as bar:
        job = bar.add_task("base routers", total=args.seeds * (len(new_models) + 2))
        worlds = [build(records, seed, new_models, args.lam,
                        lambda text: (bar.update(job, description=text), bar.advance(job)))
                  for seed in range(args.seeds)]
        grid = () if args.l2 is not None else L2_GRID
        per_grid = len(new_models) * len(POLICIES)
        job = bar.add_task("simulated checkpoints",
                           total=len(CHECKPOINTS) * args.seeds * (per_grid * len(grid) + per_grid + 1))
        tick = (lambda: bar.advance(job))
        bar.update(job, description="tuning l2 on the tuning split")
        l2, tuned = (args.l2, {}) if args.l2 is not None else tune_l2(worlds, grid, tick, **kw)
        bar.update(job, description=f"simulating with l2 = {l2:g}")
        runs = run_all(worlds, l2=l2, tuning=False, tick=tick, **kw)
    _report(console, args, worlds, runs, l2, tuned)
    return 0


def _report(console: Any, args: Any, worlds: Sequence[World], runs: Runs, l2: float,
            tuned: dict[float, float]) -> None:
    rule = worlds[0][1]
    sizes = {sc.name: len(sc.evaluated.prompts) for sc in worlds[0][0]}
    console.print(f"utility = correct - {args.lam:g} * cost / mean cost of {rule.models[rule.strongest]} (the strongest "
                  f"model); rule: choose_by_utility over {len(rule.models)} models; {args.explore:.0%} of calls "
                  f"explore; adjustment refitted every {args.refit_every} ratings; {args.seeds} seeds")
    if tuned:
        console.print("l2 on the tuning split (mean regret over 50..800 ratings): "
                      + ", ".join(f"{k:g}: {v:.4f}" for k, v in tuned.items()) + f" -> l2 = {l2:g}")
    seen = seen_stats(worlds)
    primary = {k: v for k, v in runs.items() if k[0] != SHIFT}
    shift = {k: v for k, v in runs.items() if k[0] == SHIFT}
    n_new = sizes[next(iter(primary))[0]] if primary else 0
    console.print(regret_table(primary, seen, f"Regret per call, a model M new to the deployment ({n_new} "
                                              "evaluation prompts per seed; M seen = base trained with M's outcomes)"))
    console.print(detail_table(primary, seen, "Quality and cost vs the strongest model, calls routed to M"))
    if shift:
        console.print(regret_table(shift, {}, f"Earlier scenario, re-run with this utility: base trained on "
                                              f"ARC-Challenge + Winogrande, serving MBPP ({sizes[SHIFT]} evaluation "
                                              "prompts per seed)"))
        console.print(detail_table(shift, {}, "Earlier scenario: quality and cost vs the strongest model"))
    if args.plot is not None:
        _plot(args.plot, runs, seen, args, l2)
        console.print(f"plot -> {args.plot}")


def _plot(path: Path, runs: Runs, seen: dict[str, dict[str, float]], args: Any, l2: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.4), gridspec_kw={"width_ratios": [2.2, 1]})
    xs = np.asarray(CHECKPOINTS)
    colors: dict[str, str] = {}
    for (name, policy), scenario_runs in runs.items():
        ax = axes[1] if name == SHIFT else axes[0]
        mean, sd = stats(scenario_runs, "regret")
        label = f"{name.removeprefix('new model: ')} ({POLICIES[policy]})" if name != SHIFT else POLICIES[policy]
        line, = ax.plot(xs, mean, marker="o" if policy == "uniform" else "s", ls="-" if policy == "uniform" else "--",
                        label=label, color=colors.get(name))
        colors[name] = line.get_color()
        ax.fill_between(xs, mean - sd, mean + sd, alpha=0.15, color=line.get_color())
    if seen:  # every scenario's "M seen" base is the same router: trained with every model's outcomes
        axes[0].axhline(float(np.mean([v["regret"] for v in seen.values()])), ls=":", lw=1.5, color="black",
                        label="base trained with M's outcomes")
    axes[0].set_title("A model M new to the deployment (solid: 10% explore any model; dashed: 10% to M)", fontsize=9)
    axes[1].set_title("Earlier scenario: base on ARC+Winogrande,\nserving MBPP", fontsize=9)
    for ax in axes:
        ax.set_xscale("symlog", linthresh=50)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("feedback ratings received")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.18), ncol=2, frameon=False)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.18), frameon=False)
    axes[0].set_ylabel(f"regret per call (utility, λ={args.lam:g})")
    fig.suptitle(f"Routing regret vs feedback: mean ± sd over {args.seeds} seeds; {args.explore:.0%} of calls explore; "
                 f"l2 = {l2:g} (chosen on a tuning split)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
