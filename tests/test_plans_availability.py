"""Learned cascade plans stay useful when only some models are available, and plans fitted on closed questions
are not applied to free text or code."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal

from podium.catalog import Catalog
from podium.config.routing import RoutingSettings
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion
from podium.providers.recorded_data import EvalRecord, Outcome
from podium.routing.plan_fitting import fit_plan_table
from podium.routing.plans import GENERAL, PlanTable
from podium.routing.strategies import build_strategy

QUESTION = "Tom has {n} boxes of 4 apples each. How many apples does he have?"
MCQ = "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) squid\nAnswer:"


def _worked(n: int, right: bool) -> str:
    stated = 4 * n if right else 5 * n  # a wrong answer states a wrong calculation
    return f"He has {n} * 4 = <<{n}*4={stated}>>{stated} apples.\n#### {stated}"


def _number_records() -> list[EvalRecord]:
    """cheap1 is wrong on every third question (with visibly wrong arithmetic); cheap2 is always right and cheap;
    strong is always right and dear."""
    out = []
    for i in range(60):
        right = i % 3 != 0
        answers = {"cheap1": (_worked(i + 2, right), float(right), "0.01"),
                   "cheap2": (_worked(i + 2, True), 1.0, "0.02"),
                   "strong": (_worked(i + 2, True), 1.0, "0.05")}
        outcomes = {m: Outcome(correct=c, cost_usd=Decimal(cost), response=t) for m, (t, c, cost) in answers.items()}
        out.append(EvalRecord(id=f"math.{i}", prompt=QUESTION.format(n=i + 2), eval_name="math", outcomes=outcomes))
    return out


def test_a_plan_pruned_by_a_model_the_caller_lacks_is_still_chosen_among_the_available_ones() -> None:
    table = fit_plan_table(_number_records(), lambda prompt: "math")
    # With every model: cheap1, checked, then cheap2 when cheap1's arithmetic is wrong.
    point, _ = table.choose("math", cost_weight=0.1, available=["cheap1", "cheap2", "strong"], kind="number")
    assert point is not None and point.plan.models == ("cheap1", "cheap2")
    # Without cheap2, escalating to strong instead is best: a single frontier over all models had pruned both that
    # plan and strong alone (plans with cheap2 beat them), leaving only "ask cheap1".
    point, _ = table.choose("math", cost_weight=0.1, available=["cheap1", "strong"], kind="number")
    assert point is not None
    assert point.plan.models == ("cheap1", "strong") and point.plan.rule == "checks"
    assert point.quality == 1.0 and 1.3 < point.cost < 1.4  # in calls of cheap2, the reference


def test_a_plan_dominated_by_one_using_a_subset_of_its_models_is_dropped() -> None:
    table = fit_plan_table(_number_records(), lambda prompt: "math")
    for key, points in table.frontiers.items():
        for p in points:
            assert not any(
                q is not p and set(q.plan.models) < set(p.plan.models) and q.quality >= p.quality and q.cost <= p.cost
                for q in points
            ), (key, p.plan)


def _spec(name: str, price: str) -> ModelSpec:
    return ModelSpec(id=f"t:{name}", provider="t", api_model=name, input_per_million=Decimal(price),
                     output_per_million=Decimal(price), context_window=100_000)


def _choice_records() -> list[EvalRecord]:
    out = []
    for i in range(60):
        right = i % 3 != 0
        answers = {"t:a": ("B" if right else "C", float(right), "0.01"), "t:b": ("B" if right else "D", float(right), "0.02"),
                   "t:big": ("B", 1.0, "1")}
        outcomes = {m: Outcome(correct=c, cost_usd=Decimal(cost), response=t) for m, (t, c, cost) in answers.items()}
        out.append(EvalRecord(id=f"k.{i}", prompt=f"{MCQ} (#{i})", eval_name="k", outcomes=outcomes))
    return out


class _Router:
    models = ("t:a", "t:b", "t:big")

    def __init__(self, plans: PlanTable) -> None:
        self.plans = plans

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: (0.9 if m == "t:big" else 0.4) for m in (models or self.models)}

    def task_type(self, prompt: str) -> str:
        return "knowledge_qa"  # every prompt, code included, is classed as a knowledge question


class _Caller:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        self.calls.append(model)
        return Completion(text="```python\ndef f(x):\n    return x\n```", model=model, provider="t",
                          cost_usd=Decimal("0.01"))


def test_a_code_prompt_never_runs_plans_fitted_on_closed_questions() -> None:
    table = fit_plan_table(_choice_records(), lambda prompt: "knowledge_qa")
    assert table.fitted_on_closed("knowledge_qa") and table.fitted_on_closed(GENERAL)
    catalog = Catalog([_spec("a", "0.1"), _spec("b", "0.2"), _spec("big", "10")])
    strategy = build_strategy("cascade", settings=RoutingSettings(), catalog=catalog, router=_Router(table))
    caller = _Caller()
    request = ChatRequest.from_prompt("Write a Python function that reverses a list.")
    result = asyncio.run(strategy.run(request, caller=caller, meta=CallMeta(strategy="cascade")))
    text = "\n".join(result.decision.explanation)
    assert "fitted on closed questions" in text and "router-derived cascade" in text
    # The agreement plans would have paid for two cheap answers they cannot compare; the derived cascade asks
    # only the model predicted good enough.
    assert caller.calls == ["t:big"]
    # A closed question of the same task type still runs its learned plan.
    mcq = asyncio.run(strategy.explain(ChatRequest.from_prompt(MCQ)))
    assert any(line.startswith("plan: ") for line in mcq.explanation)


def test_router_files_without_the_closed_share_keep_their_plans_for_free_text() -> None:
    table = fit_plan_table(_choice_records(), lambda prompt: "knowledge_qa")
    old = PlanTable(table.frontiers, table.reference_model, {})
    assert not old.fitted_on_closed("knowledge_qa") and old.fitted_on_closed(GENERAL)


def test_answers_without_recorded_text_are_judged_by_prediction_not_by_checks_that_cannot_read_them() -> None:
    from podium.routing.evaluation.replay import RecordCaller
    from podium.routing.plans import AnswerFacts

    mcq = ChatRequest.from_prompt(MCQ)
    outcomes = {"t:a": Outcome(correct=1.0, cost_usd=Decimal("0.01"), response="", text_recorded=False)}
    record = EvalRecord(id="m.1", prompt=MCQ, eval_name="mmlu", outcomes=outcomes)
    completion = asyncio.run(RecordCaller([record])("t:a", mcq, CallMeta()))
    facts = AnswerFacts.of(mcq, completion)
    assert facts.passed and facts.answer is None and "no answer text was recorded" in facts.reason
    # A recorded empty answer is a real failure: it is checked as usual.
    empty = Completion(text="", model="t:a", provider="t")
    assert not AnswerFacts.of(mcq, empty).passed
