"""``table`` (seed 004): the task type picks a primary model, its fallbacks and a temperature from config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from podium.config.routing import TaskRoute
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.routing.selection import Candidate
from podium.routing.strategies.base import CandidatePool, OrderedStrategy, RoutingDecision


@dataclass(slots=True)
class TableStrategy(OrderedStrategy):
    """Look the prompt's task type up in the task table; call the primary model, then its fallbacks."""

    pool: CandidatePool
    table: dict[str, TaskRoute]
    name: str = "table"

    def route_for(self, request: ChatRequest) -> tuple[str, TaskRoute]:
        from podium.routing.task_analysis import analyze

        task_type = analyze(request.last_user_text).task_type
        row = self.table.get(task_type) or self.table.get("general")
        if row is None:
            row = next(iter(self.table.values()))
        return task_type, row

    def _plan(self, request: ChatRequest, candidates: Sequence[str] | None) -> tuple[list[Candidate], RoutingDecision]:
        task_type, row = self.route_for(request)
        wanted = [row.primary, *row.fallbacks]
        allowed = [m for m in wanted if candidates is None or m in candidates] or wanted
        usable, rejected = self.pool.build(request, allowed)
        by_id = {c.id: c for c in usable}
        order = [by_id[m] for m in (self.pool.catalog.get(w).id for w in allowed) if m in by_id]
        decision = RoutingDecision(self.name, candidates=order + rejected)
        decision.note(f"task type {task_type!r} ({row.cost_tier}): {' -> '.join(c.id for c in order)}")
        return order, decision

    def _prepare(self, request: ChatRequest, meta: CallMeta, decision: RoutingDecision) -> tuple[ChatRequest, CallMeta]:
        task_type, row = self.route_for(request)
        if row.temperature is not None and request.temperature is None:
            request = replace(request, temperature=row.temperature)
            decision.note(f"temperature {row.temperature} from the task table")
        return request, replace(meta, task_type=meta.task_type or task_type)
