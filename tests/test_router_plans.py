"""Learned cascade plans: acceptance rules, the plan search and frontier, serialization, and held-out value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Completion
from podium.providers.recorded_data import EvalRecord
from podium.routing.datasets import load_bundled, split_records
from podium.routing.evaluation import baselines
from podium.routing.plan_fitting import _facts, candidate_plans, fit_plan_table, frontier, replay_plan
from podium.routing.plans import GENERAL, AnswerFacts, CascadePlan, PlanPoint, PlanTable, accepts
from podium.routing.task_classifier import EVAL_TASK_TYPES

pytestmark = pytest.mark.slow  # training, replays or many processes: the everyday run skips it

MCQ = "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) squid\nAnswer:"


def facts(text: str, prompt: str = MCQ) -> AnswerFacts:
    return AnswerFacts.of(ChatRequest.from_prompt(prompt), Completion(text=text, model="m", provider="t"))


def test_acceptance_rules() -> None:
    b, b2, c, hedge = facts("B"), facts("B) whale"), facts("C"), facts("I don't know, I'm not sure.")
    assert b.passed and b.answer == "B" and not hedge.passed
    assert accepts("single", hedge, [])[0]
    assert accepts("checks", b, [])[0] and not accepts("checks", hedge, [])[0]
    assert not accepts("agree", b, [])[0]  # a first answer is never kept alone
    assert accepts("agree", b2, [b])[0]
    kept, why = accepts("agree", c, [b])
    assert not kept and "agrees with no earlier answer" in why
    assert not accepts("agree", b, [hedge])[0]  # agreeing with an answer that failed its checks does not count


def test_checks_catch_wrong_arithmetic_and_cut_off_answers() -> None:
    question = "Tom has 3 bags of 4 apples. How many apples does he have?"
    assert facts("3 * 4 = <<3*4=12>>12 apples.\n#### 12", question).passed
    wrong = facts("He has 3 * 4 = <<3*4=13>>13 apples.\n#### 13", question)
    assert not wrong.passed and "3*4=13" in wrong.reason
    cut = facts("First he counts the bags, then he counts the apples in every single bag: 3 * 4 = <<3*4", question)
    assert not cut.passed and "truncation" in cut.reason


def _record(i: int, answers: dict[str, tuple[str, float, str]]) -> EvalRecord:
    from podium.providers.recorded_data import Outcome

    outcomes = {m: Outcome(correct=c, response=t, cost_usd=Decimal(cost)) for m, (t, c, cost) in answers.items()}
    return EvalRecord(id=str(i), prompt=f"{MCQ} #{i}", eval_name="toy", outcomes=outcomes)


def test_replay_plan_charges_every_call_and_keeps_the_agreed_answer() -> None:
    rec = _record(0, {"a": ("B", 1.0, "0.01"), "b": ("B", 1.0, "0.02"), "s": ("C", 0.0, "1")})
    f = _facts([rec])[0]
    assert replay_plan(CascadePlan(("a", "b", "s"), "agree"), rec, f) == (1.0, Decimal("0.03"))
    rec2 = _record(1, {"a": ("B", 1.0, "0.01"), "b": ("D", 0.0, "0.02"), "s": ("C", 0.5, "1")})
    assert replay_plan(CascadePlan(("a", "b", "s"), "agree"), rec2, _facts([rec2])[0]) == (0.5, Decimal("1.03"))
    assert replay_plan(CascadePlan(("a", "s"), "checks"), rec2, _facts([rec2])[0]) == (1.0, Decimal("0.01"))


def test_candidate_plans_and_frontier() -> None:
    acc = {"cheap1": 0.6, "cheap2": 0.7, "mid": 0.8, "best": 0.9}
    cost = {"cheap1": Decimal(1), "cheap2": Decimal(2), "mid": Decimal(5), "best": Decimal(50)}
    plans = candidate_plans(acc, cost)
    assert CascadePlan(("cheap1", "cheap2", "best"), "agree") in plans
    assert all(p.models[-1] != p.models[0] for p in plans if len(p.models) > 1)
    assert len(plans) == len(set(plans))
    pts = [PlanPoint(CascadePlan(("x",)), 0.5, 0.1, 10), PlanPoint(CascadePlan(("y",)), 0.4, 0.2, 10),
           PlanPoint(CascadePlan(("z",)), 0.9, 1.0, 10)]
    assert [p.plan.models for p in frontier(pts)] == [("x",), ("z",)]


@pytest.fixture(scope="module")
def split() -> tuple[list[EvalRecord], list[EvalRecord]]:
    return split_records(load_bundled(include_gsm8k=False), test_fraction=0.3, seed=0)


@pytest.fixture(scope="module")
def table(split) -> PlanTable:  # type: ignore[no-untyped-def]
    train, _ = split
    return fit_plan_table(train, lambda prompt: TASK_OF[prompt])


TASK_OF = {r.prompt: EVAL_TASK_TYPES[r.eval_name] for r in load_bundled(include_gsm8k=False)}


def test_fitted_table_roundtrips_and_chooses_by_trade_off(table: PlanTable) -> None:
    assert {"knowledge_qa", "reasoning", "code", GENERAL} <= set(table.frontiers)
    assert table.reference_model == "openai:gpt-4-1106-preview"
    again = PlanTable.from_dict(table.to_dict())
    assert again.frontiers == table.frontiers
    costs = [table.choose("knowledge_qa", cost_weight=w)[0].cost for w in (0.0, 0.1, 0.3, 1.0, 5.0)]
    assert costs == sorted(costs, reverse=True)  # a higher cost weight never picks a dearer plan
    point, why = table.choose("writing", cost_weight=0.1)  # no data for writing: the general frontier
    assert point is not None and "'general'" in why
    share, _ = table.choose("knowledge_qa", quality_share=0.97)
    best = max(p.quality for p in table.frontiers["knowledge_qa"])
    assert share.quality >= 0.97 * best
    none, why = table.choose("knowledge_qa", available=["nobody:else"])
    assert none is None and "allowed" in why
    with pytest.raises(ValidationError, match="format"):
        PlanTable.from_dict({"format": "other"})


def _replay(table: PlanTable, test: list[EvalRecord], weight: float) -> tuple[float, Decimal]:
    quality, cost = 0.0, Decimal(0)
    for record, f in zip(test, _facts(test), strict=True):
        point, _ = table.choose(TASK_OF[record.prompt], cost_weight=weight)
        q, c = replay_plan(point.plan, record, f)
        quality, cost = quality + q, cost + c
    return quality / len(test), cost


def test_learned_plans_beat_the_per_task_table_on_held_out_prompts(split, table: PlanTable) -> None:  # type: ignore[no-untyped-def]
    train, test = split
    base = baselines.task_table(train, test)
    strongest = baselines.always("s", baselines.strongest_model(train), train, test, by_quality=True)
    # Some trade-off reaches the table's held-out quality at no more than its cost: the plans dominate it.
    points = [_replay(table, test, w) for w in (0.05, 0.1, 0.15, 0.2, 0.3)]
    assert any(q >= base.quality and c <= base.cost_usd for q, c in points), (points, base)
    # And the learned cascade keeps >= 95% of the strongest model's quality at under half its cost.
    assert any(q >= 0.95 * strongest.quality and c <= strongest.cost_usd / 2 for q, c in points)
