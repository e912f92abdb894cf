"""Routing: strategies that pick models per prompt, quality gates, selection backends and offline evaluation.

The learned router (``podium.routing.learned_router``) and evaluation (``podium.routing.evaluation``) are
imported from their modules; they pull in numpy / scikit-learn, which ``import podium.routing`` avoids.
"""

from podium.routing.gates import GateResult
from podium.routing.selection import Candidate, greedy, pareto, pareto_front, rank, weighted
from podium.routing.strategies import (
    STRATEGY_ALIASES,
    STRATEGY_NAMES,
    AutoStrategy,
    CascadeStrategy,
    CheapestStrategy,
    EnsembleStrategy,
    QualityPredictor,
    RoutedResult,
    RoutingDecision,
    Strategy,
    TableStrategy,
    build_strategy,
    render_explain,
    strategy_name,
)

__all__ = [
    "STRATEGY_ALIASES",
    "STRATEGY_NAMES",
    "AutoStrategy",
    "Candidate",
    "CascadeStrategy",
    "CheapestStrategy",
    "EnsembleStrategy",
    "GateResult",
    "QualityPredictor",
    "RoutedResult",
    "RoutingDecision",
    "Strategy",
    "TableStrategy",
    "build_strategy",
    "greedy",
    "pareto",
    "pareto_front",
    "rank",
    "render_explain",
    "strategy_name",
    "weighted",
]
