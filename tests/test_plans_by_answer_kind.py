"""A closed question whose task type was learned from two models only still gets agreement plans: the frontier
fitted on every prompt with the same kind of answer competes with the task type's."""

from __future__ import annotations

from decimal import Decimal

from podium.providers.recorded_data import EvalRecord, Outcome
from podium.routing.plan_fitting import fit_plan_table
from podium.routing.plans import ANSWER_KEY

QUESTION = "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) squid\nAnswer:"


def _choice(i: int, task: str, answers: dict[str, tuple[str, float, str]]) -> EvalRecord:
    outcomes = {m: Outcome(correct=c, cost_usd=Decimal(cost), response=t) for m, (t, c, cost) in answers.items()}
    return EvalRecord(id=f"{task}.{i}", prompt=f"{QUESTION} ({task} #{i})", eval_name=task, outcomes=outcomes)


def _records() -> list[EvalRecord]:
    out = []
    for i in range(60):  # "knowledge": a benchmark with a cheap and a strong model only
        cheap_right = i % 3 != 0
        out.append(_choice(i, "knowledge", {"cheap1": ("B" if cheap_right else "C", float(cheap_right), "0.01"),
                                            "strong": ("B", 1.0, "1")}))
    for i in range(60):  # "reasoning": three models, the two cheap ones agree when right
        right = i % 4 != 0
        out.append(_choice(i, "reasoning", {"cheap1": ("B" if right else "C", float(right), "0.01"),
                                            "cheap2": ("B" if right else "D", float(right), "0.02"),
                                            "strong": ("B", 1.0, "1")}))
    return out


def test_the_choice_frontier_is_fitted_on_the_rows_the_most_models_answered() -> None:
    records = _records()
    table = fit_plan_table(records, lambda prompt: "knowledge" if "knowledge" in prompt else "reasoning")
    kind_plans = table.frontiers[ANSWER_KEY + "choice"]
    assert all(p.prompts == 60 for p in kind_plans)  # the three-model rows only
    assert any(p.plan.rule == "agree" and {"cheap1", "cheap2"} <= set(p.plan.models) for p in kind_plans)


def test_a_choice_question_of_a_two_model_task_type_uses_agreement_among_the_available_cheap_models() -> None:
    records = _records()
    table = fit_plan_table(records, lambda prompt: "knowledge" if "knowledge" in prompt else "reasoning")
    available = ["cheap1", "cheap2", "strong"]
    key, _ = table.frontier("knowledge", "choice", available)
    assert key == ANSWER_KEY + "choice"
    point, why = table.choose("knowledge", cost_weight=0.5, available=available, kind="choice")
    assert point is not None and point.plan.rule == "agree" and "answer:choice" in why
    # Without the third model the task type's own frontier is at least as rich, and it is kept.
    assert table.frontier("knowledge", "choice", ["cheap1", "strong"])[0] == "knowledge"
    # A question without a closed answer never uses it.
    assert table.frontier("knowledge", None, available)[0] == "knowledge"
