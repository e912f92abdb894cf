"""Routing strategies: cheapest, cascade (fallback), ensemble, auto and table, all behind one protocol."""

from podium.routing.strategies.auto import AutoStrategy
from podium.routing.strategies.base import (
    CandidatePool,
    QualityPredictor,
    RoutedResult,
    RouteStep,
    RoutingDecision,
    Strategy,
    estimate_prompt_tokens,
    required_capabilities,
)
from podium.routing.strategies.cascade import CascadeStrategy, derive_chain, verdict
from podium.routing.strategies.cheapest import CheapestStrategy
from podium.routing.strategies.ensemble import EnsembleStrategy, vote
from podium.routing.strategies.explain import budget_note, render_explain, render_routed
from podium.routing.strategies.registry import (
    BUILDERS,
    STRATEGY_ALIASES,
    build_strategy,
    strategy_listing,
    strategy_name,
)
from podium.routing.strategies.table import TableStrategy, known_task_types, task_type_name

STRATEGY_NAMES: tuple[str, ...] = tuple(BUILDERS)

__all__ = [
    "STRATEGY_ALIASES",
    "STRATEGY_NAMES",
    "AutoStrategy",
    "CandidatePool",
    "CascadeStrategy",
    "CheapestStrategy",
    "EnsembleStrategy",
    "QualityPredictor",
    "RouteStep",
    "RoutedResult",
    "RoutingDecision",
    "Strategy",
    "TableStrategy",
    "budget_note",
    "build_strategy",
    "derive_chain",
    "estimate_prompt_tokens",
    "known_task_types",
    "render_explain",
    "render_routed",
    "required_capabilities",
    "strategy_listing",
    "strategy_name",
    "task_type_name",
    "verdict",
    "vote",
]
