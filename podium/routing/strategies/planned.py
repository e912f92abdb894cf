"""The learned cascade: per task type, the plan (models, order, acceptance rule) fitted on recorded outcomes.

The router file carries a plan frontier per task type (``podium.routing.plans``). For a request, task
analysis names the task type, the trade-off picks a plan from that frontier, and the plan runs: cheap models
first, an answer kept as soon as the plan's rule accepts it, the last model's answer kept otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from podium.core.errors import AllAttemptsFailedError
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.routing.gates.answers import answer_kind
from podium.routing.plans import AnswerFacts, PlanPoint, PlanTable, accepts
from podium.routing.selection import Candidate
from podium.routing.strategies.base import (
    CandidatePool,
    RoutedResult,
    RoutingDecision,
    Strategy,
    total_cost,
)
from podium.routing.strategies.steps import StepRefused, call_step

TaskOf = Callable[[str], str]


@dataclass(slots=True)
class PlannedCascade:
    """Run the learned plan for the prompt's task type; without a usable plan, the ``fallback`` strategy."""

    pool: CandidatePool
    plans: PlanTable
    task_of: TaskOf
    fallback: Strategy
    cost_weight: float = 0.15
    quality_share: float | None = None
    name: str = "cascade"

    def _choose(
        self, request: ChatRequest, override: Sequence[str] | None, meta: CallMeta | None
    ) -> tuple[PlanPoint | None, list[Candidate], RoutingDecision]:
        usable, rejected = self.pool.build(request, override)
        # A caller-given task type wins; a type without learned plans uses the general plans.
        task = meta.task_type if meta is not None and meta.task_type else self.task_of(request.last_user_text)
        kind = answer_kind(request)
        # Plans fitted on closed questions compare final answers: code and free text get the derived cascade.
        point, why = self.plans.choose(
            task, cost_weight=self.cost_weight, quality_share=self.quality_share,
            available=[c.id for c in usable], kind=kind, free_form=kind not in ("choice", "number"),
        )
        if point is None:
            decision = self.pool.decision(self.name, usable + rejected)
            decision.task_type = task
            decision.note(why)
            return None, [], decision
        by_id = {c.id: c for c in usable}
        order = [by_id[m] for m in point.plan.models]
        for cand in order:
            cand.reason = "in the learned plan"
        decision = self.pool.decision(self.name, order + [c for c in usable if c not in order] + rejected)
        decision.task_type = task
        decision.note(f"task type {task!r}: {why}")
        decision.note(
            f"plan: {point.plan.describe()}; on {point.prompts} training prompts it scored {point.quality:.3f} "
            f"at {point.cost:.1%} of the cost of always calling {self.plans.reference_model}"
        )
        return point, order, decision

    def _handed_over(self, mine: RoutingDecision, theirs: RoutingDecision) -> RoutingDecision:
        """The derived cascade's decision, opening with why this cascade handed over (said once, with the pool's
        narrowing notes both decisions start with)."""
        own = theirs.explanation[len(self.pool.narrowed_by):]
        theirs.explanation[:] = [*mine.explanation, "using the router-derived cascade instead", *own]
        return theirs

    async def explain(
        self, request: ChatRequest, candidates: Sequence[str] | None = None, *, meta: CallMeta | None = None
    ) -> RoutingDecision:
        point, order, decision = self._choose(request, candidates, meta)
        if point is None:
            return self._handed_over(decision, await self.fallback.explain(request, candidates, meta=_typed(meta, decision)))
        decision.chosen.extend(c.id for c in order)
        decision.note("the cascade calls these in order and stops as soon as the plan's rule keeps an answer")
        return decision

    async def run(
        self,
        request: ChatRequest,
        *,
        caller: ModelCaller,
        meta: CallMeta,
        candidates: Sequence[str] | None = None,
    ) -> RoutedResult:
        point, order, decision = self._choose(request, candidates, meta)
        if point is None:
            result = await self.fallback.run(request, caller=caller, meta=_typed(meta, decision), candidates=candidates)
            self._handed_over(decision, result.decision)
            return result
        meta = _typed(meta, decision)
        attempts: list[Completion] = []
        earlier: list[AnswerFacts] = []
        failures: list[tuple[str, BaseException]] = []
        for step, cand in enumerate(order, start=1):
            try:
                completion = await call_step(step, cand.id, request, caller=caller, meta=meta, decision=decision,
                                             failures=failures, paid=bool(attempts))
            except StepRefused:
                return _keep_latest(attempts, decision, "budget-limited")
            if completion is None:
                continue
            attempts.append(completion)
            if step == len(order):
                decision.step(cand.id, completion, outcome="end of chain", reason="last in the plan")
                decision.note(f"step {step}: {cand.id}: last in the plan; keeping its answer")
                decision.chosen.append(cand.id)
                return RoutedResult(completion, attempts, decision, total_cost(attempts))
            facts = AnswerFacts.of(request, completion)
            kept, why = accepts(point.plan.rule, facts, earlier)
            decision.step(cand.id, completion, outcome="kept" if kept else "escalated", reason=why)
            decision.note(f"step {step}: {cand.id}: {why}")
            if kept:
                decision.chosen.append(cand.id)
                return RoutedResult(completion, attempts, decision, total_cost(attempts))
            earlier.append(facts)
        if attempts:  # the last model failed outright: keep the latest answer we have
            return _keep_latest(attempts, decision, "the last model failed")
        raise AllAttemptsFailedError(failures)


def _keep_latest(attempts: list[Completion], decision: RoutingDecision, stop: str) -> RoutedResult:
    """The run ends before the plan does: the latest answer paid for is the answer."""
    latest = attempts[-1]
    why = f"{stop}: keeping the answer of {latest.model}, the latest one paid for"
    decision.note(why)
    for record in decision.steps:
        if record.completion is latest:
            record.outcome, record.reason = "kept", why
    decision.chosen.append(latest.model)
    return RoutedResult(latest, attempts, decision, total_cost(attempts))


def _typed(meta: CallMeta | None, decision: RoutingDecision) -> CallMeta:
    """``meta`` carrying the task type this cascade settled on, for the derived cascade it hands over to."""
    meta = meta or CallMeta()
    return meta if meta.task_type or decision.task_type is None else replace(meta, task_type=decision.task_type)
