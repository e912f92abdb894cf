"""``ensemble``: ask 2-3 models at once, then pick by vote or judge, or have an aggregator synthesize one answer."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from podium.core.errors import AllAttemptsFailedError, BudgetExceededError, PodiumError
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.routing.gates import confidence, normalized_answer
from podium.routing.gates.judge import judge_request, parse_judge_score
from podium.routing.selection import Candidate, rank
from podium.routing.strategies.base import (
    CALL_ERRORS,
    CandidatePool,
    RoutedResult,
    RoutingDecision,
    total_cost,
    with_task_type,
)

SYNTH_SYSTEM = (
    "Several assistants answered the same request. Write the single best answer: keep what they agree on, "
    "resolve disagreements by reasoning, and do not mention the assistants."
)


def vote(request: ChatRequest, answers: Sequence[Completion], quality: dict[str, float]) -> tuple[int, float | None, str]:
    """(index of the winning answer, agreement share, why). Closed answers are voted on; free text goes to the
    answer with the best confidence x predicted quality."""
    keys = [normalized_answer(request, a.text) for a in answers]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        # Free text: answers that say the same words (case, spacing and closing punctuation aside) agree.
        keys = [_same_text_key(a.text) for a in answers]
        counts = Counter(k for k in keys if k)
        if not counts or max(counts.values()) < 2:
            counts = Counter()
    if counts:
        top = max(counts.values())
        tied = {k for k, n in counts.items() if n == top}
        # A tie goes to the answer of the model the router trusts most.
        index = max((i for i, k in enumerate(keys) if k in tied), key=lambda i: quality.get(answers[i].model, 0.0))
        share = top / len(answers)
        shown = keys[index] if len(keys[index] or "") <= 60 else "the same text"
        return index, share, f"{top} of {len(answers)} answers agree on {shown}"
    scores = [confidence(a.text) * quality.get(a.model, 0.5) for a in answers]
    index = max(range(len(answers)), key=lambda i: scores[i])
    return index, None, f"free-form answers: {answers[index].model} has the best confidence x predicted quality"


def _same_text_key(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(" .!")


@dataclass(slots=True)
class EnsembleStrategy:
    """Run ``size`` models in parallel and combine their answers with ``method`` (vote, judge or synthesize)."""

    pool: CandidatePool
    threshold: float
    size: int = 3
    method: str = "vote"
    models: tuple[str, ...] | None = None
    judge_model: str | None = None
    aggregator_model: str | None = None
    name: str = "ensemble"

    def _members(self, request: ChatRequest, override: Sequence[str] | None) -> tuple[list[Candidate], RoutingDecision]:
        usable, rejected = self.pool.build(request, self.models if self.models is not None else override)
        members = usable if self.models is not None else rank(usable, "greedy", threshold=self.threshold)
        members = members[: self.size]
        decision = self.pool.decision(self.name, usable + rejected)
        decision.note(f"ensemble of {len(members)}: {', '.join(c.id for c in members)} ({self.method})")
        return members, decision

    async def explain(
        self, request: ChatRequest, candidates: Sequence[str] | None = None, *, meta: CallMeta | None = None
    ) -> RoutingDecision:
        members, decision = self._members(request, candidates)
        decision.task_type = self.pool.task_type(request, meta)
        decision.chosen.extend(c.id for c in members)
        return decision

    async def run(
        self,
        request: ChatRequest,
        *,
        caller: ModelCaller,
        meta: CallMeta,
        candidates: Sequence[str] | None = None,
    ) -> RoutedResult:
        members, decision = self._members(request, candidates)
        meta = with_task_type(meta, decision, self.pool.task_type(request, meta))
        raw = await asyncio.gather(
            *(caller(c.id, request.with_model(c.id), meta) for c in members), return_exceptions=True
        )
        answers: list[Completion] = []
        failures: list[tuple[str, BaseException]] = []
        refusals: list[tuple[str, BudgetExceededError]] = []
        for cand, result in zip(members, raw, strict=True):
            if isinstance(result, CALL_ERRORS):
                failures.append((cand.id, result))
                decision.failed(cand.id, result)
                decision.note(f"{cand.id} failed ({type(result).__name__})")
            elif isinstance(result, BudgetExceededError):  # refused before sending: the others may still answer
                refusals.append((cand.id, result))
                decision.refused(cand.id, result)
            elif isinstance(result, BaseException):
                raise result
            else:
                answers.append(result)
                decision.step(cand.id, result, outcome="voted")
        if not answers:
            if refusals:
                raise refusals[0][1]
            raise AllAttemptsFailedError(failures)
        quality = {c.id: c.predicted_quality or 0.0 for c in members}
        index, agreement, why = vote(request, answers, quality)
        for record in decision.steps:
            if record.completion is not None:
                record.reason = why
        attempts = list(answers)
        final = answers[index]
        if self.method == "judge" and self.judge_model and len(answers) > 1:
            final = await self._judge(request, answers, caller, meta, attempts, decision) or final
        elif self.method == "synthesize" and self.aggregator_model and len(answers) > 1:
            final = await self._synthesize(request, answers, caller, meta, attempts, decision) or final
        else:
            decision.note(f"vote: {why}")
        decision.chosen.append(final.model)
        return RoutedResult(final, attempts, decision, total_cost(attempts), agreement, confidence(final.text))

    async def _judge(
        self, request: ChatRequest, answers: list[Completion], caller: ModelCaller, meta: CallMeta,
        attempts: list[Completion], decision: RoutingDecision,
    ) -> Completion | None:
        assert self.judge_model is not None
        grades = await asyncio.gather(
            *(caller(self.judge_model, judge_request(request, a.text), meta) for a in answers), return_exceptions=True
        )
        scored: list[tuple[float, Completion]] = []
        for answer, grade in zip(answers, grades, strict=True):
            if isinstance(grade, BudgetExceededError):
                decision.refused(self.judge_model, grade, role="judge")
                continue
            if isinstance(grade, PodiumError):
                decision.failed(self.judge_model, grade, role="judge")
                continue
            if isinstance(grade, BaseException):
                raise grade
            attempts.append(grade)
            score = parse_judge_score(grade.text)
            decision.step(
                self.judge_model, grade, role="judge", outcome="graded",
                reason=f"{answer.model}: " + ("no score" if score is None else f"{score:.2f}"),
            )
            if score is not None:
                scored.append((score, answer))
        if not scored:
            decision.note(f"judge {self.judge_model} gave no usable scores; falling back to the vote")
            return None
        best_score, best = max(scored, key=lambda pair: pair[0])
        decision.note(f"judge {self.judge_model}: {best.model} scored highest ({best_score:.2f})")
        return best

    async def _synthesize(
        self, request: ChatRequest, answers: list[Completion], caller: ModelCaller, meta: CallMeta,
        attempts: list[Completion], decision: RoutingDecision,
    ) -> Completion | None:
        """The aggregator's answer; None when a budget refused the aggregator or its call failed (the vote among the
        members' answers, already paid for, stands)."""
        assert self.aggregator_model is not None
        listing = "\n\n".join(f"Answer {i}:\n{a.text}" for i, a in enumerate(answers, start=1))
        prompt = f"Request:\n{request.last_user_text}\n\n{listing}"
        try:
            merged = await caller(self.aggregator_model, ChatRequest.from_prompt(prompt, system=SYNTH_SYSTEM), meta)
        except BudgetExceededError as exc:
            decision.refused(self.aggregator_model, exc, role="aggregator")
            return None
        except CALL_ERRORS as exc:
            decision.failed(self.aggregator_model, exc, role="aggregator")
            decision.note(f"aggregator {self.aggregator_model} failed ({type(exc).__name__}); falling back to the vote")
            return None
        attempts.append(merged)
        decision.step(self.aggregator_model, merged, role="aggregator", outcome="synthesized",
                      reason=f"from {len(answers)} answers")
        decision.note(f"synthesized by {self.aggregator_model} from {len(answers)} answers")
        return merged
