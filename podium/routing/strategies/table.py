"""``table`` (seed 004): the task type picks a primary model, its fallbacks and a temperature from config.

The task type is the caller's (``CallMeta.task_type``, ``podium ask --task-type``) when given, else the prompt's
task analysis. Custom task types in ``routing.task_table`` can only be reached by naming them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from podium.config.routing import TaskRoute
from podium.core.errors import ValidationError
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.routing.selection import Candidate
from podium.routing.strategies.base import CandidatePool, OrderedStrategy, RoutingDecision

GENERAL_ROW = "general"  # the row for any task type the table has no row for


def known_task_types(table: Iterable[str]) -> list[str]:
    """Task analysis's task types, then the task table's own (custom) ones."""
    from podium.routing.task_analysis import TASK_TYPES

    return list(dict.fromkeys([*TASK_TYPES, *table]))


def task_type_name(name: str, table: Iterable[str]) -> str:
    """``name`` as a known task type (exact, else case-insensitive), or a ValidationError listing them."""
    known = known_task_types(table)
    key = name.strip()
    if key in known:
        return key
    folded = {k.lower(): k for k in known}
    if key.lower() in folded:
        return folded[key.lower()]
    raise ValidationError(
        f"unknown task type {name!r}; known task types: {', '.join(known)} (add more under `routing.task_table`)",
        field="task_type",
        value=name,
        valid=known,
    )


@dataclass(slots=True)
class TableStrategy(OrderedStrategy):
    """Look the task type up in the task table; call the primary model, then its fallbacks."""

    pool: CandidatePool
    table: dict[str, TaskRoute]
    name: str = "table"

    def row_for(self, task_type: str) -> tuple[str, TaskRoute]:
        """(the row's key, the row) for a task type: its own row, else ``general``, else the first row."""
        for key in (task_type, GENERAL_ROW):
            if key in self.table:
                return key, self.table[key]
        key = next(iter(self.table))
        return key, self.table[key]

    def _plan(
        self, request: ChatRequest, candidates: Sequence[str] | None, task_type: str
    ) -> tuple[list[Candidate], RoutingDecision]:
        key, row = self.row_for(task_type)
        wanted = [row.primary, *row.fallbacks]
        allowed = [m for m in wanted if candidates is None or m in candidates] or wanted
        usable, rejected = self.pool.build(request, allowed)
        by_id = {c.id: c for c in usable}
        order = [by_id[m] for m in (self.pool.catalog.get(w).id for w in allowed) if m in by_id]
        decision = RoutingDecision(self.name, candidates=order + rejected)
        via = "" if key == task_type else f", no row of its own: row {key!r}"
        decision.note(f"task type {task_type!r} ({row.cost_tier}{via}): {' -> '.join(c.id for c in order)}")
        return order, decision

    def _prepare(self, request: ChatRequest, meta: CallMeta, decision: RoutingDecision) -> tuple[ChatRequest, CallMeta]:
        _, row = self.row_for(decision.task_type or GENERAL_ROW)
        if row.temperature is not None and request.temperature is None:
            request = replace(request, temperature=row.temperature)
            decision.note(f"temperature {row.temperature} from the task table")
        return request, meta
