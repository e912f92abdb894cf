"""``auto``: the learned router picks per prompt by expected utility, quality minus a price for cost (its weight is
``routing.cost_weight``: 0.25 x ``routing.cost_preference`` unless set itself)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from podium.core.types import ChatRequest
from podium.routing.selection import Candidate
from podium.routing.strategies.base import CandidatePool, OrderedStrategy, RoutingDecision, describe


def utilities(candidates: Sequence[Candidate], cost_weight: float) -> list[float]:
    """``p - cost_weight * cost / (cost of the dearest candidate)``: 0 weight = best quality, large = cheapest."""
    known = [c.estimated_cost for c in candidates if c.estimated_cost is not None]
    dearest = max(known) if known else Decimal(0)
    out = []
    for c in candidates:
        share = float(c.estimated_cost / dearest) if c.estimated_cost is not None and dearest > 0 else 1.0
        out.append((c.predicted_quality or 0.0) - cost_weight * share)
    return out


@dataclass(slots=True)
class AutoStrategy(OrderedStrategy):
    """Call the candidate with the highest expected utility; the rest are fallbacks in utility order."""

    pool: CandidatePool
    cost_weight: float
    name: str = "auto"

    def _plan(
        self, request: ChatRequest, candidates: Sequence[str] | None, task_type: str
    ) -> tuple[list[Candidate], RoutingDecision]:
        usable, rejected = self.pool.build(request, candidates)
        scores = utilities(usable, self.cost_weight)
        order = [usable[i] for i in sorted(range(len(usable)), key=lambda i: -scores[i])]
        decision = self.pool.decision(self.name, order + rejected)
        best = max(scores)
        decision.note(f"utility = quality - {self.cost_weight:g} x relative cost; best {best:.3f}: {describe(order[0])}")
        return order, decision
