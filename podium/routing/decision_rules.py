"""Pure decision rules over predicted quality and cost: which model a router's predictions pick."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from podium.core.errors import NoCandidateError


def _as_float(cost: Decimal | float | None) -> float:
    return float("inf") if cost is None else float(cost)


def choose_cheapest(probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], threshold: float) -> str:
    """The cheapest model whose P(good) >= threshold; if none reaches it, the most likely good model."""
    candidates = [m for m in probs if m in costs]
    if not candidates:
        raise NoCandidateError("no model has both a predicted quality and a known cost", models=sorted(probs))
    passing = [m for m in candidates if probs[m] >= threshold]
    if passing:
        return min(passing, key=lambda m: (_as_float(costs[m]), -probs[m], m))
    return max(candidates, key=lambda m: (probs[m], -_as_float(costs[m]), m))


def choose_by_utility(
    probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], cost_weight: float
) -> str:
    """argmax P(good) - cost_weight * cost (cost in USD per call): one knob trading quality for money."""
    candidates = [m for m in probs if m in costs and costs[m] is not None]
    if not candidates:
        raise NoCandidateError("no model has both a predicted quality and a known cost", models=sorted(probs))
    return max(candidates, key=lambda m: (probs[m] - cost_weight * _as_float(costs[m]), -_as_float(costs[m]), m))


def choose(probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], threshold: float) -> str:
    """The default rule: ``choose_cheapest``."""
    return choose_cheapest(probs, costs, threshold)
