"""``cheapest``: one call to the cheapest model predicted to answer well (the model orchestrator's first strategy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from podium.core.types import ChatRequest
from podium.routing.selection import Candidate, rank
from podium.routing.strategies.base import CandidatePool, OrderedStrategy, RoutingDecision, describe


@dataclass(slots=True)
class CheapestStrategy(OrderedStrategy):
    """Cheapest model whose predicted quality reaches the threshold; else the best predicted model."""

    pool: CandidatePool
    threshold: float
    selection: str = "greedy"
    name: str = "cheapest"

    def _plan(
        self, request: ChatRequest, candidates: Sequence[str] | None, task_type: str
    ) -> tuple[list[Candidate], RoutingDecision]:
        usable, rejected = self.pool.build(request, candidates)
        order = rank(usable, self.selection, threshold=self.threshold, weights=self.pool.settings.weights)
        decision = self.pool.decision(self.name, order + rejected)
        top = order[0]
        if (top.predicted_quality or 0.0) >= self.threshold:
            decision.note(f"{self.selection}: {describe(top)} is the best pick reaching quality {self.threshold:.2f}")
        else:
            decision.note(f"no model is predicted to reach {self.threshold:.2f}; taking the best: {describe(top)}")
        for cand in rejected:
            decision.note(f"skipped {cand.id}: {cand.reason}")
        return order, decision
