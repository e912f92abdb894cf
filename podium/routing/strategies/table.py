"""``table`` (the task router's table): the task type picks a primary model, its fallbacks and a temperature from config.

The task type is the caller's (``CallMeta.task_type``, ``podium ask --task-type``) when given, else the prompt's
task analysis. Custom task types in ``routing.task_table`` can only be reached by naming them. Like every strategy,
the table calls only candidate models (``--models``, ``routing.candidates``, the reachable models, in replay the
recorded ones): row models outside that list are skipped, and when none is left the candidates are ranked by the
row's cost tier instead (premium: best predicted quality first; else the cheapest predicted good enough).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from podium.config.routing import TaskRoute
from podium.core.errors import NoCandidateError, ValidationError
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.routing.selection import Candidate, rank
from podium.routing.strategies.base import CandidatePool, OrderedStrategy, RoutingDecision, describe

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
        via = "" if key == task_type else f", no row of its own: row {key!r}"
        wanted = list(dict.fromkeys(self.pool.catalog.get(m).id for m in (row.primary, *row.fallbacks)))
        allowed = self._candidate_ids(candidates)
        listed = wanted if allowed is None else [m for m in wanted if m in allowed]
        if not listed:  # the row names no candidate (e.g. replay, or no key set): never call a model outside the list
            return self._among_candidates(request, candidates, task_type, row, via, wanted)
        usable, rejected = self.pool.build(request, listed)
        by_id = {c.id: c for c in usable}
        order = [by_id[m] for m in listed if m in by_id]
        decision = self.pool.decision(self.name, order + rejected)
        decision.note(f"task type {task_type!r} ({row.cost_tier}{via}): {' -> '.join(c.id for c in order)}")
        skipped = [m for m in wanted if m not in listed]
        if skipped:
            decision.note(f"skipped {', '.join(skipped)}: not among the candidate models")
        return order, decision

    def _candidate_ids(self, candidates: Sequence[str] | None) -> set[str] | None:
        """The models this call may use (the caller's list, ``routing.candidates`` or the router's), or None."""
        try:
            return {self.pool.catalog.get(m).id for m in self.pool.model_ids(candidates)}
        except NoCandidateError:
            return None  # no list at all: the table's own models are the list

    def _among_candidates(
        self, request: ChatRequest, candidates: Sequence[str] | None, task_type: str, row: TaskRoute, via: str,
        wanted: list[str],
    ) -> tuple[list[Candidate], RoutingDecision]:
        """The row's models are all outside the candidate list: rank the candidates by the row's cost tier instead."""
        usable, rejected = self.pool.build(request, candidates)
        if row.cost_tier == "premium":
            order, how = sorted(usable, key=lambda c: -(c.predicted_quality or 0.0)), "best predicted quality first"
        else:
            threshold = self.pool.settings.threshold
            order, how = rank(usable, "greedy", threshold=threshold), f"cheapest predicted to reach {threshold:.2f} first"
        decision = self.pool.decision(self.name, order + rejected)
        decision.note(
            f"task type {task_type!r} ({row.cost_tier}{via}): the row's models ({', '.join(wanted)}) are not among "
            f"the candidate models, so choosing among the candidates, {how}: {describe(order[0])}"
        )
        return order, decision

    def _prepare(self, request: ChatRequest, meta: CallMeta, decision: RoutingDecision) -> tuple[ChatRequest, CallMeta]:
        _, row = self.row_for(decision.task_type or GENERAL_ROW)
        if row.temperature is not None and request.temperature is None:
            request = replace(request, temperature=row.temperature)
            decision.note(f"temperature {row.temperature} from the task table")
        return request, meta
