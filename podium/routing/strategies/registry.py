"""Build a strategy by name from settings: one place that knows every strategy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podium.config.routing import DEFAULT_CASCADE_COST_WEIGHT, DEFAULT_QUALITY_THRESHOLD, RoutingSettings
from podium.core.errors import ValidationError
from podium.routing.strategies.auto import AutoStrategy
from podium.routing.strategies.base import CandidatePool, ModelLookup, QualityPredictor, Strategy
from podium.routing.strategies.cascade import CascadeStrategy
from podium.routing.strategies.cheapest import CheapestStrategy
from podium.routing.strategies.ensemble import EnsembleStrategy
from podium.routing.strategies.planned import PlannedCascade
from podium.routing.strategies.table import TableStrategy

# A derived cascade skips models predicted this far below the quality threshold: they rarely pass a gate.
CASCADE_FLOOR_MARGIN = 0.2
# Prompts the learned plans do not cover (free-form ones above all) go to a derived cascade. Its quality bar follows
# the learned cascade's cost weight (0.15 x routing.cost_preference unless set), so the one cost knob trades quality
# for cost on every prompt: at the default weight the bar is the default quality threshold, and each 0.1 of weight
# above it lowers the bar by 0.05 (weight 0 asks for about the best candidate, 1.0 takes nearly the cheapest). A
# design constant: no judged answers are bundled.
HANDOVER_SLOPE = 0.5


def handover_threshold(cost_weight: float) -> float:
    """The quality bar of the derived cascade the learned cascade hands over to, at ``cost_weight``."""
    bar = DEFAULT_QUALITY_THRESHOLD - HANDOVER_SLOPE * (cost_weight - DEFAULT_CASCADE_COST_WEIGHT)
    return min(0.99, max(0.05, bar))


def _cheapest(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    return CheapestStrategy(pool, s.threshold, s.selection)


def _cascade(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    plans = getattr(pool.router, "plans", None)
    if s.chain is not None or not s.cascade_plans or plans is None:
        return _fixed_cascade(pool, s)
    task_of = getattr(pool.router, "task_type", None) or _analyzed_task_type
    # Without a quality threshold of the user's, the cost weight is the trade-off: it sets the hand-over's bar too.
    bar = handover_threshold(s.cascade_cost_weight) if s.quality_threshold is None else None
    derived = _fixed_cascade(pool, s, threshold=bar)
    return PlannedCascade(pool, plans, task_of, derived, s.cascade_cost_weight, s.quality_threshold)


def _analyzed_task_type(prompt: str) -> str:
    from podium.routing.task_analysis import analyze

    return analyze(prompt).task_type


def _fixed_cascade(pool: CandidatePool, s: RoutingSettings, threshold: float | None = None) -> CascadeStrategy:
    """A named chain, or one derived from the router's predictions (at ``threshold``, default the settings')."""
    chain = None
    if s.chain is not None:
        if s.chain not in s.chains:
            raise ValidationError(
                f"chain {s.chain!r} is not defined; use one of {', '.join(sorted(s.chains))} or add it under "
                "`routing.chains` in podium.yaml",
                field="chain",
                value=s.chain,
                valid=sorted(s.chains),
            )
        chain = tuple(pool.catalog.get(m).id for m in s.chains[s.chain])
    bar = s.threshold if threshold is None else threshold
    return CascadeStrategy(
        pool,
        s.gates,
        bar,
        chain=chain,
        chain_name=s.chain,
        max_steps=s.max_steps,
        floor=max(0.0, bar - CASCADE_FLOOR_MARGIN),
        confidence_threshold=s.confidence_threshold,
        judge_model=s.judge_model,
        judge_threshold=s.judge_threshold,
    )


def _ensemble(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    models = tuple(pool.catalog.get(m).id for m in s.ensemble_models) if s.ensemble_models else None
    return EnsembleStrategy(
        pool, s.threshold, s.ensemble_size, s.ensemble_method, models, s.judge_model, s.aggregator_model
    )


def _auto(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    if pool.router is None:
        raise ValidationError(
            "strategy 'auto' needs a trained router; run `podium router train` or pick cheapest, cascade or table",
            field="strategy",
            value="auto",
        )
    return AutoStrategy(pool, s.cost_weight)


def _table(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    return TableStrategy(pool, dict(s.task_table))


BUILDERS: dict[str, Callable[[CandidatePool, RoutingSettings], Strategy]] = {
    "cheapest": _cheapest,
    "cascade": _cascade,
    "fallback": _cascade,
    "ensemble": _ensemble,
    "auto": _auto,
    "table": _table,
}


STRATEGY_ALIASES: dict[str, str] = {"fallback": "cascade"}  # the model orchestrator's name for a cascade


def strategy_listing() -> str:
    """Every accepted strategy name, aliases marked: ``cheapest, cascade, fallback (same as cascade), ...``."""
    return ", ".join(f"{n} (same as {STRATEGY_ALIASES[n]})" if n in STRATEGY_ALIASES else n for n in BUILDERS)


def strategy_name(name: str) -> str:
    """``name`` normalised (case, spaces), or a ValidationError listing every accepted name."""
    key = name.strip().lower()
    if key not in BUILDERS:
        raise ValidationError(
            f"unknown strategy {name!r}; valid strategies: {strategy_listing()}",
            field="strategy",
            value=name,
            valid=list(BUILDERS),
        )
    return key


def build_strategy(
    name: str,
    *,
    settings: RoutingSettings,
    catalog: ModelLookup,
    router: QualityPredictor | None = None,
    candidates: Sequence[str] | None = None,
    **overrides: object,
) -> Strategy:
    """The strategy called ``name``; ``overrides`` replace settings fields (e.g. ``quality_threshold=0.8``)."""
    name = strategy_name(name)
    builder = BUILDERS[name]
    if overrides:
        settings = settings.with_overrides(overrides)
    models = tuple(catalog.get(m).id for m in candidates) if candidates is not None else None
    # The engine's candidate list says why it was narrowed (podium.engine.candidates.CandidateList): --explain shows it.
    pool = CandidatePool(catalog, settings, router, models, tuple(getattr(candidates, "narrowed_by", ())))
    strategy = builder(pool, settings)
    if name == "fallback":
        strategy.name = "fallback"
    return strategy
