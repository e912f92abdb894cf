"""Build a strategy by name from settings: one place that knows every strategy."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from podium.config.routing import RoutingSettings
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


def _cheapest(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    return CheapestStrategy(pool, s.threshold, s.selection)


def _cascade(pool: CandidatePool, s: RoutingSettings) -> Strategy:
    derived = _fixed_cascade(pool, s)
    plans = getattr(pool.router, "plans", None)
    if s.chain is not None or not s.cascade_plans or plans is None:
        return derived
    task_of = getattr(pool.router, "task_type", None) or _analyzed_task_type
    return PlannedCascade(pool, plans, task_of, derived, s.cascade_cost_weight, s.quality_threshold)


def _analyzed_task_type(prompt: str) -> str:
    from podium.routing.task_analysis import analyze

    return analyze(prompt).task_type


def _fixed_cascade(pool: CandidatePool, s: RoutingSettings) -> CascadeStrategy:
    """A named chain, or one derived from the router's predictions."""
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
    return CascadeStrategy(
        pool,
        s.gates,
        s.threshold,
        chain=chain,
        chain_name=s.chain,
        max_steps=s.max_steps,
        floor=max(0.0, s.threshold - CASCADE_FLOOR_MARGIN),
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
        settings = RoutingSettings.model_validate({**settings.model_dump(), **overrides})
    models = tuple(catalog.get(m).id for m in candidates) if candidates is not None else None
    # The engine's candidate list says why it was narrowed (podium.engine.candidates.CandidateList): --explain shows it.
    pool = CandidatePool(catalog, settings, router, models, tuple(getattr(candidates, "narrowed_by", ())))
    strategy = builder(pool, settings)
    if name == "fallback":
        strategy.name = "fallback"
    return strategy
