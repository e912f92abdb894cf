"""Cascade plans learned per task type: which models to ask, in what order, and when to accept an answer.

A plan is a chain of models plus an acceptance rule applied to every answer but the last:

- ``single``: one model, its answer is kept;
- ``checks``: keep the first answer that passes the hard checks (no hedging or refusal, code parses / JSON
  matches, a final choice or number is stated, not cut off, its stated arithmetic is right);
- ``agree``: keep the first answer that passes the hard checks and states the same closed answer (choice
  letter or number) as an earlier answer that passed them; the first answer is never kept alone.

The last model's answer is always kept. ``plan_fitting`` replays candidate plans over recorded answers of the
training data and keeps, per task type, the plans on the quality/cost frontier; a trade-off then picks one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Completion
from podium.routing.gates import GateResult, final_answer_gate, format_gate, hedging_gate, normalized_answer
from podium.routing.gates.answers import text_recorded
from podium.routing.gates.consistency import arithmetic_gate, truncation_gate

PlanRule = Literal["single", "checks", "agree"]
RULES: tuple[str, ...] = ("single", "checks", "agree")
FORMAT = "podium-cascade-plans/1"
GENERAL = "general"  # the frontier fitted on every task type together: used for task types without data
ANSWER_KEY = "answer:"  # + a closed answer kind: the frontier fitted on every prompt with that kind of answer
HEDGING_THRESHOLD = 0.5
CLOSED_SHARE = "closed_share"  # info key: per task type, the share of its training prompts with a closed answer


@dataclass(frozen=True, slots=True)
class CascadePlan:
    """Models asked in order (cheapest first) and the rule deciding whether an earlier answer is kept."""

    models: tuple[str, ...]
    rule: PlanRule = "single"

    def describe(self) -> str:
        if len(self.models) == 1:
            return f"ask {self.models[0]}"
        how = "accept when two answers agree" if self.rule == "agree" else "accept the first answer passing checks"
        return f"{' -> '.join(self.models)} ({how})"


def hard_checks(request: ChatRequest, completion: Completion) -> list[GateResult]:
    """The checks every kept answer must pass: no hedging/refusal, valid format, a stated final answer,
    not cut off, and right arithmetic."""
    return [
        hedging_gate(request, completion, threshold=HEDGING_THRESHOLD),
        format_gate(request, completion),
        final_answer_gate(request, completion),
        truncation_gate(request, completion),
        arithmetic_gate(request, completion),
    ]


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    """What a plan's rule needs from one answer: whether it passed the hard checks and its closed answer."""

    passed: bool
    answer: str | None
    reason: str = ""

    @classmethod
    def of(cls, request: ChatRequest, completion: Completion) -> AnswerFacts:
        if not text_recorded(completion):
            return cls(True, None, "no answer text was recorded, so no check applies")
        results = hard_checks(request, completion)
        failed = [r for r in results if r.applicable and not r.passed]
        answer = normalized_answer(request, completion.text)
        reason = "; ".join(f"{r.name}: {r.reason}" for r in failed) if failed else "checks pass"
        return cls(not failed, answer, reason)


def accepts(rule: str, facts: AnswerFacts, earlier: Sequence[AnswerFacts]) -> tuple[bool, str]:
    """Whether a non-final answer is kept under ``rule`` (pure: replay and live calls share it)."""
    if rule == "single":
        return True, "single-model plan"
    if not facts.passed:
        return False, f"escalating: {facts.reason}"
    if rule == "checks":
        return True, f"kept: {facts.reason}"
    if facts.answer is None:
        return False, "escalating: no closed answer to compare"
    if any(e.passed and e.answer == facts.answer for e in earlier):
        return True, f"kept: answer {facts.answer} agrees with an earlier answer"
    return False, f"escalating: answer {facts.answer} agrees with no earlier answer"


@dataclass(frozen=True, slots=True)
class PlanPoint:
    """A plan's mean correctness per prompt on the training data, and its mean cost per prompt relative to the
    reference model's (a dimensionless ratio: 0.25 = a quarter of what always calling the reference costs)."""

    plan: CascadePlan
    quality: float
    cost: float
    prompts: int

    def to_dict(self) -> dict[str, Any]:
        return {"models": list(self.plan.models), "rule": self.plan.rule, "quality": round(self.quality, 6),
                "cost": round(self.cost, 6), "prompts": self.prompts}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanPoint:
        rule = data.get("rule", "single")
        if rule not in RULES:
            raise ValidationError(f"plan rule {rule!r} is not known; use one of {', '.join(RULES)}",
                                  field="rule", value=rule, valid=list(RULES))
        return cls(CascadePlan(tuple(data["models"]), rule), float(data["quality"]), float(data["cost"]),
                   int(data["prompts"]))


@dataclass(frozen=True, slots=True)
class PlanTable:
    """Per task type, the frontier of plans (cheapest first), and the reference (strongest) model.

    Plan costs are relative to the reference model's mean cost per prompt over all training data, so
    ``cost_weight`` 1.0 means one reference-model call must buy a whole correct answer to be worth it.
    """

    frontiers: dict[str, tuple[PlanPoint, ...]]
    reference_model: str
    info: dict[str, Any] = field(default_factory=dict)

    def frontier(
        self, task_type: str, kind: str | None = None, available: Sequence[str] | None = None
    ) -> tuple[str, tuple[PlanPoint, ...]]:
        """(key used, frontier) for a task type; task types without data use the general frontier. For a closed
        answer ``kind`` the frontier fitted on every prompt of that kind competes: whichever plans more of the
        ``available`` models wins (the task type's on a tie), so a task type learned from two models does not keep
        agreement among the other cheap models out."""
        key = task_type if task_type in self.frontiers else GENERAL
        by_kind = ANSWER_KEY + kind if kind else None
        if by_kind in self.frontiers and _models_planned(self.frontiers[by_kind], available) > _models_planned(
            self.frontiers.get(key, ()), available
        ):
            key = by_kind
        return key, self.frontiers.get(key, ())

    def fitted_on_closed(self, key: str) -> bool:
        """Whether the frontier ``key`` was fitted mostly on closed questions (choice or number answers), so its
        figures do not carry over to free text, code or JSON. Router files without that record say no."""
        if key == GENERAL or key.startswith(ANSWER_KEY):
            return True
        share = self.info.get(CLOSED_SHARE, {}).get(key)
        return share is not None and float(share) > 0.5

    def choose(
        self,
        task_type: str,
        *,
        cost_weight: float | None = None,
        quality_share: float | None = None,
        available: Sequence[str] | None = None,
        kind: str | None = None,
        free_form: bool = False,
    ) -> tuple[PlanPoint | None, str]:
        """The plan for a task type and why; ``None`` when no plan's models are all ``available``, or when
        ``free_form`` (the prompt has no closed answer) and the frontier was fitted on closed questions.

        With ``quality_share`` the cheapest plan keeping that share of the frontier's best quality wins;
        otherwise the plan maximizing ``quality - cost_weight * relative cost``.
        """
        key, points = self.frontier(task_type, kind, available)
        if free_form and self.fitted_on_closed(key):
            return None, f"the learned plans for {key!r} were fitted on closed questions, not on free text or code"
        allowed = set(available) if available is not None else None
        usable = [p for p in points if allowed is None or set(p.plan.models) <= allowed]
        if not usable:
            return None, f"no learned plan for {task_type!r} uses only the allowed models"
        if quality_share is not None:
            target = quality_share * max(p.quality for p in usable)
            best = min((p for p in usable if p.quality >= target - 1e-12), key=lambda p: (p.cost, -p.quality))
            why = f"cheapest plan keeping {quality_share:.0%} of the best learned quality for {key!r}"
        else:
            weight = 0.0 if cost_weight is None else cost_weight
            best = max(usable, key=lambda p: (p.quality - weight * p.cost, -p.cost))
            why = f"best quality - {weight:g} x cost (in {self.reference_model} calls) for {key!r}"
        return best, why

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "reference_model": self.reference_model,
            "frontiers": {k: [p.to_dict() for p in v] for k, v in self.frontiers.items()},
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanTable:
        if data.get("format") != FORMAT:
            raise ValidationError(f"cascade plans have format {data.get('format')!r}; this Podium reads {FORMAT!r}",
                                  field="format", value=data.get("format"))
        frontiers = {k: tuple(PlanPoint.from_dict(p) for p in v) for k, v in data["frontiers"].items()}
        return cls(frontiers, str(data["reference_model"]), dict(data.get("info", {})))


def _models_planned(points: Sequence[PlanPoint], available: Sequence[str] | None) -> int:
    """How many distinct models the usable plans of a frontier call."""
    allowed = set(available) if available is not None else None
    return len({m for p in points if allowed is None or set(p.plan.models) <= allowed for m in p.plan.models})
