"""Escalation after a failed validation: the retry goes to a model the strategy predicts does better.

The strategy's decision lists every model it considered with a predicted quality for this request (the router's
prediction, or the prior of the model's quality tier). The retry is routed among the models predicted better than
every model whose answer already failed the task's checks; when there is none, it goes where the strategy sends
it, with the failures quoted as before.
"""

from __future__ import annotations

from collections.abc import Collection

from podium.core.routed import Candidate, RoutingDecision
from podium.routing.strategies.base import TIER_PRIOR


def _quality(candidate: Candidate) -> float:
    if candidate.predicted_quality is not None:
        return float(candidate.predicted_quality)
    return TIER_PRIOR.get(candidate.model.quality_tier, 0.0)


def stronger_candidates(decision: RoutingDecision, failed: Collection[str]) -> tuple[str, ...] | None:
    """The models in ``decision`` predicted better than each of ``failed``, best first; None when there is none."""
    quality = {c.id: _quality(c) for c in decision.candidates}
    bar = max((quality[m] for m in failed if m in quality), default=None)
    if bar is None:
        return None
    better = sorted((m for m, q in quality.items() if m not in failed and q > bar), key=lambda m: -quality[m])
    return tuple(better) or None
