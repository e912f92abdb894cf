"""The one cost knob, ``routing.cost_preference``, and the cost weight each strategy derives from it.

``cost_preference`` says how much cost matters against quality: 0 ignores cost, 1 (the default) is the built-in
trade-off, 2 makes cost count twice as much. Each strategy prices cost on its own scale, so each takes its own
weight from the knob by one linear map, ``weight = scale x cost_preference``: monotone, 0 at 0, and at the default 1
exactly the weight the strategy has always used.

=============================  =============================================  ===========================
strategy                       its weight (scale x cost_preference)            its own key (override)
=============================  =============================================  ===========================
auto                           p - w x cost / dearest candidate's; 0.25 x c    routing.cost_weight
weighted selection             w_cost over normalised objectives; 0.3 x c      routing.weights.w_cost
learned cascade (default)      quality - w x cost in strongest-model calls;    routing.cascade_cost_weight
                               0.15 x c
=============================  =============================================  ===========================

The learned cascade's weight also sets the quality bar of the derived cascade it hands prompts without a plan to
(``podium.routing.strategies.registry.handover_threshold``: 0.7 - 0.5 x (weight - 0.15), within 0.05..0.99), so the
bar falls as ``cost_preference`` rises. A strategy's own key, set alone, changes that strategy only; set together
with ``cost_preference`` to a value the knob does not give, loading fails naming both (``podium.config.aliases``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_COST_PREFERENCE = 1.0
COST_PREFERENCE_KEY = "routing.cost_preference"


@dataclass(frozen=True, slots=True)
class CostWeight:
    """One strategy's cost weight: its own key, who uses it, and its value at ``cost_preference`` 1."""

    key: str
    strategy: str
    scale: float

    def at(self, preference: float) -> float:
        """The weight ``cost_preference`` gives this strategy."""
        return self.scale * preference

    def agrees(self, value: float, preference: float) -> bool:
        """Whether ``value`` is the weight ``preference`` gives (up to float rounding)."""
        return math.isclose(value, self.at(preference), rel_tol=1e-9, abs_tol=1e-12)

    def describe(self, value: float) -> str:
        """``value`` as the preference it stands for, for ``podium config check``."""
        return f"{self.strategy} only: {value:g}, what cost_preference {value / self.scale:g} would give it"


AUTO_COST = CostWeight("routing.cost_weight", "auto strategy", 0.25)
WEIGHTED_COST = CostWeight("routing.weights.w_cost", "weighted selection", 0.3)
CASCADE_COST = CostWeight("routing.cascade_cost_weight", "learned cascade", 0.15)
COST_WEIGHTS: tuple[CostWeight, ...] = (AUTO_COST, WEIGHTED_COST, CASCADE_COST)


def conflict_message(weight: CostWeight, value: float, preference: float) -> str:
    """The load error when a strategy's own key and ``cost_preference`` disagree; it names both keys."""
    given = weight.at(preference)
    return (
        f"{weight.key} = {value:g} (the {weight.strategy}'s own cost weight) disagrees with "
        f"{COST_PREFERENCE_KEY} = {preference:g}, which gives it {weight.scale:g} x {preference:g} = {given:g}; "
        f"keep only {COST_PREFERENCE_KEY} (canonical) or set {weight.key} to {given:g}"
    )
