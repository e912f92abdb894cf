"""Replay every strategy over recorded prompts and measure quality and cost against the baselines.

The router is trained on training records only; strategies then run unchanged (same code as live calls)
through a caller that answers from the recorded responses, so gates judge real model output and the cost of
a prompt is the recorded cost of every model the strategy called.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from podium.config.routing import RoutingSettings
from podium.core.errors import ValidationError
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.providers.recorded_data import EvalRecord, normalize_prompt
from podium.routing.evaluation import baselines
from podium.routing.evaluation.metrics import Point, apgr, cost_to_reach
from podium.routing.evaluation.replay import PredictionTable, RecordCaller, RecordedCatalog
from podium.routing.strategies.base import ModelLookup, QualityPredictor, Strategy
from podium.routing.strategies.registry import build_strategy

Progress = Callable[[int], None]  # called with how many prompt runs just finished

# Which strategies run, with the settings field each one's curve sweeps and the values it takes.
STRATEGIES: tuple[str, ...] = ("cheapest", "cascade", "ensemble", "auto")
SWEEPS: dict[str, tuple[str, tuple[float, ...]]] = {
    "cheapest": ("quality_threshold", (0.3, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0)),
    "cascade": ("cascade_cost_weight", (0.0, 0.03, 0.06, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.5, 1.0, 2.0)),
    "auto": ("cost_weight", (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0)),
}


@dataclass(slots=True)
class EvalReport:
    prompts: int
    strongest: Point
    cheapest: Point
    oracle: Point
    strategies: list[Point]
    curve: list[Point]
    apgr: dict[str, float] = field(default_factory=dict)
    reach: dict[str, Point | None] = field(default_factory=dict)
    train_prompts: int = 0


def exclude_prompts(train: Sequence[EvalRecord], evaluated: Sequence[EvalRecord]) -> list[EvalRecord]:
    """Training records minus any prompt that is also evaluated (compared after normalisation)."""
    held_out = {normalize_prompt(r.prompt) for r in evaluated}
    return [r for r in train if normalize_prompt(r.prompt) not in held_out]


def _params(strategy: str, settings: RoutingSettings) -> dict[str, object]:
    if strategy == "auto":
        return {"cost_weight": settings.cost_weight}
    if strategy == "ensemble":
        return {"size": settings.ensemble_size, "method": "vote"}
    if strategy == "cascade" and settings.cascade_plans and settings.chain is None:
        if settings.quality_threshold is not None:
            return {"plans": "learned", "quality_share": settings.quality_threshold}
        return {"plans": "learned", "cost_weight": settings.cascade_cost_weight}
    if strategy == "cascade":
        return {"quality_threshold": settings.threshold, "gates": list(settings.gates)}
    return {"quality_threshold": settings.threshold}


async def _replay(
    strategy: Strategy, test: Sequence[EvalRecord], caller: RecordCaller, models: Sequence[str], progress: Progress | None
) -> tuple[float, Decimal, Counter[str], int]:
    quality, cost, chosen, calls = 0.0, ZERO, Counter[str](), 0
    for record in test:
        allowed = [m for m in models if m in record.outcomes]
        result = await strategy.run(
            ChatRequest.from_prompt(record.prompt), caller=caller, meta=CallMeta(strategy=strategy.name),
            candidates=allowed,
        )
        quality += record.outcomes[result.completion.model].correct
        cost += result.total_cost_usd
        chosen[result.completion.model] += 1
        calls += len(result.attempts)
        if progress is not None:
            progress(1)
    return quality, cost, chosen, calls


def run_strategy(
    name: str,
    test: Sequence[EvalRecord],
    *,
    settings: RoutingSettings,
    catalog: ModelLookup,
    router: QualityPredictor,
    label: str | None = None,
    progress: Progress | None = None,
    **overrides: object,
) -> Point:
    """Replay one strategy over ``test``; ``overrides`` change settings fields for this run."""
    if overrides:
        settings = RoutingSettings.model_validate({**settings.model_dump(), **overrides})
    strategy = build_strategy(name, settings=settings, catalog=catalog, router=router)
    caller = RecordCaller(test)
    quality, cost, chosen, calls = asyncio.run(_replay(strategy, test, caller, router.models, progress))
    n = max(1, len(test))
    sweep = SWEEPS.get(name)
    threshold = None
    if sweep:
        threshold = settings.threshold if sweep[0] == "quality_threshold" else float(getattr(settings, sweep[0]))
    return Point(label or name, quality / n, cost, threshold, _params(name, settings), dict(chosen), calls)


def train_on_split(
    train: Sequence[EvalRecord], *, seed: int = 0, say: Callable[[str], None] | None = None
) -> QualityPredictor:
    """Task classifier, router and cascade plans fitted on ``train`` alone: the shipped classifier saw every
    bundled prompt, so evaluation must not use it."""
    from podium.routing.router_training import TASK_CLASSIFIER_MIN_DF, fit_router
    from podium.routing.task_classifier import TaskClassifier, train_task_classifier

    say = say or (lambda _text: None)
    say(f"training the task classifier on {len(train)} prompts")
    try:
        classifier = train_task_classifier(list(train), seed=seed, min_df=TASK_CLASSIFIER_MIN_DF)
    except ValidationError:  # training data without two known benchmarks: task analysis uses rules alone
        classifier = TaskClassifier.rules_only()
    say(f"training the router and cascade plans on {len(train)} prompts")
    return fit_router(list(train), seed=seed, task_classifier=classifier)


def total_runs(n_prompts: int, strategies: Sequence[str] = STRATEGIES, curves: bool = True) -> int:
    """How many prompt runs ``evaluate`` makes (for a progress bar)."""
    per = len(strategies) + (sum(len(SWEEPS[s][1]) for s in strategies if s in SWEEPS) if curves else 0)
    return per * n_prompts


def evaluate(
    train: Sequence[EvalRecord],
    test: Sequence[EvalRecord],
    *,
    router: QualityPredictor | None = None,
    catalog: ModelLookup | None = None,
    settings: RoutingSettings | None = None,
    strategies: Sequence[str] = STRATEGIES,
    curves: bool = True,
    seed: int = 0,
    progress: Progress | None = None,
    stage: Callable[[str], None] | None = None,
) -> EvalReport:
    """Train the router on ``train`` (unless given), replay each strategy and baseline over ``test``.

    ``progress`` is called as prompt runs finish; ``stage`` with a short description of each phase.
    """
    say = stage or (lambda _text: None)
    if not test:
        raise ValidationError("no prompts to evaluate; give a dataset with at least one row", field="dataset")
    if not train:
        raise ValidationError("no training prompts left after removing evaluated prompts; give more --train data",
                              field="train")
    settings = settings or RoutingSettings()
    if router is None:
        router = train_on_split(train, seed=seed, say=say)
    say(f"replaying {len(test)} prompts")
    table = PredictionTable.from_router(router, [r.prompt for r in test])
    lookup = RecordedCatalog(list(train) + list(test), catalog)
    strongest = baselines.always("always-strongest", baselines.strongest_model(train), train, test, by_quality=True)
    cheapest = baselines.always("always-cheapest", baselines.cheapest_model(train), train, test, by_quality=False)
    points = [strongest, cheapest, baselines.random_mix(train, test, seed=seed),
              baselines.task_best(train, test), baselines.task_table(train, test)]
    agree = baselines.agree_or_strongest(train, test)
    if agree is not None:
        points.append(agree)
    curve: list[Point] = []
    for name in strategies:
        points.append(run_strategy(name, test, settings=settings, catalog=lookup, router=table, progress=progress))
        if curves and name in SWEEPS:
            field_name, values = SWEEPS[name]
            for value in values:
                curve.append(
                    run_strategy(name, test, settings=settings, catalog=lookup, router=table, progress=progress,
                                 **{field_name: value})
                )
    report = EvalReport(len(test), strongest, cheapest, baselines.oracle(test), points, curve,
                        train_prompts=len(train))
    for name in {p.name for p in curve}:
        report.apgr[name] = apgr([p for p in curve if p.name == name], weak=cheapest, strong=strongest)
    for share in (95, 100):
        report.reach[str(share)] = cost_to_reach(points + curve, strongest.quality * share / 100)
    return report
