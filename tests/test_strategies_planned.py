"""The learned cascade through the injected caller: plan choice per task type, early acceptance, escalation,
fallback to the derived cascade, explain; and seed 001's quality_threshold mapping."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from podium.catalog import Catalog
from podium.config.orchestration import OrchestrationConfig
from podium.config.routing import RoutingSettings
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion
from podium.routing.plans import GENERAL, CascadePlan, PlanPoint, PlanTable
from podium.routing.strategies import build_strategy

MCQ = "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) squid\nAnswer:"


def spec(name: str, price: str) -> ModelSpec:
    return ModelSpec(id=f"t:{name}", provider="t", api_model=name, input_per_million=Decimal(price),
                     output_per_million=Decimal(price), context_window=100_000)


CATALOG = Catalog([spec("a", "0.1"), spec("b", "0.2"), spec("big", "10")])
AGREE = CascadePlan(("t:a", "t:b", "t:big"), "agree")
PLANS = PlanTable(
    {
        "knowledge_qa": (PlanPoint(CascadePlan(("t:a",)), 0.7, 0.02, 100), PlanPoint(AGREE, 0.9, 0.3, 100),
                         PlanPoint(CascadePlan(("t:big",)), 0.92, 1.0, 100)),
        GENERAL: (PlanPoint(CascadePlan(("t:big",)), 0.9, 1.0, 100),),
    },
    "t:big",
)


class PlannedRouter:
    models = ("t:a", "t:b", "t:big")
    plans = PLANS

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: 0.8 for m in (models or self.models)}

    def task_type(self, prompt: str) -> str:
        return "knowledge_qa" if "mammal" in prompt else "chat"


class Caller:
    def __init__(self, answers: dict[str, str]) -> None:
        self.answers, self.calls = answers, []

    async def __call__(self, model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        self.calls.append(model)
        return Completion(text=self.answers[model], model=model, provider="t", cost_usd=Decimal("0.01"))


def strategy(**overrides: object):  # type: ignore[no-untyped-def]
    return build_strategy("cascade", settings=RoutingSettings(), catalog=CATALOG, router=PlannedRouter(), **overrides)


async def test_agreeing_cheap_answers_are_kept_without_the_strong_model() -> None:
    caller = Caller({"t:a": "B", "t:b": "B) whale", "t:big": "B"})
    result = await strategy(cascade_cost_weight=0.15).run(ChatRequest.from_prompt(MCQ), caller=caller, meta=CallMeta())
    assert caller.calls == ["t:a", "t:b"] and result.completion.model == "t:b"
    assert result.total_cost_usd == Decimal("0.02")
    assert any("agrees with an earlier answer" in line for line in result.decision.explanation)


async def test_disagreement_escalates_and_trade_off_changes_the_plan() -> None:
    caller = Caller({"t:a": "B", "t:b": "C", "t:big": "B"})
    result = await strategy().run(ChatRequest.from_prompt(MCQ), caller=caller, meta=CallMeta())
    assert caller.calls == ["t:a", "t:b", "t:big"] and result.completion.model == "t:big"
    cheap = Caller({"t:a": "D"})
    await strategy(cascade_cost_weight=5.0).run(ChatRequest.from_prompt(MCQ), caller=cheap, meta=CallMeta())
    assert cheap.calls == ["t:a"]
    best = Caller({"t:big": "B"})
    await strategy(quality_threshold=0.99).run(ChatRequest.from_prompt(MCQ), caller=best, meta=CallMeta())
    assert best.calls == ["t:big"]  # keeping 99% of the best quality needs the strong model


async def test_explain_names_task_plan_and_general_frontier() -> None:
    decision = await strategy().explain(ChatRequest.from_prompt(MCQ))
    assert decision.chosen == ["t:a", "t:b", "t:big"]
    assert any("knowledge_qa" in line for line in decision.explanation)
    # A closed question of a task type without plans uses the general frontier; free text the derived cascade.
    numeric = await strategy().explain(ChatRequest.from_prompt("hello there, how many is 3 plus 4?"), meta=CallMeta(
        task_type="planning"))
    assert any("'general'" in line for line in numeric.explanation)
    chat = await strategy().explain(ChatRequest.from_prompt("hello there"))
    assert any("were fitted on closed questions" in line for line in chat.explanation)
    assert any("router-derived cascade" in line for line in chat.explanation)


async def test_without_plan_models_or_with_a_named_chain_the_fixed_cascade_runs() -> None:
    caller = Caller({"t:b": "B"})
    result = await strategy().run(ChatRequest.from_prompt(MCQ), caller=caller, meta=CallMeta(), candidates=["t:b"])
    assert caller.calls == ["t:b"]  # no learned plan uses only t:b
    assert any("router-derived cascade" in line for line in result.decision.explanation)
    named = strategy(chain="mine", chains={"mine": ("t:b", "t:big")})
    assert type(named).__name__ == "CascadeStrategy"


def test_seed_quality_threshold_is_an_alias_applied_only_when_set() -> None:
    from podium.config import PodiumConfig

    routing = RoutingSettings()
    assert PodiumConfig().routing.quality_threshold is None
    seeded = PodiumConfig(orchestration=OrchestrationConfig(quality_threshold=0.9))
    assert seeded.routing.quality_threshold == 0.9
    explicit = RoutingSettings(quality_threshold=0.6)
    assert routing.threshold == 0.7 and explicit.threshold == 0.6


def test_the_cost_weight_sets_the_bar_of_the_hand_over_for_prompts_without_a_plan() -> None:
    from podium.routing.strategies.registry import handover_threshold

    assert handover_threshold(0.15) == 0.7  # the default weight keeps the default quality threshold
    assert handover_threshold(0.0) > 0.7 > handover_threshold(0.5) > handover_threshold(1.0)
    assert handover_threshold(100.0) == 0.05 and handover_threshold(-100.0) == 0.99


class GradedRouter(PlannedRouter):
    """Plans for closed questions only; free text is rated by model (big best, a cheapest)."""

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        quality = {"t:a": 0.55, "t:b": 0.72, "t:big": 0.9}
        return {m: quality[m] for m in (models or self.models)}


def graded(**overrides: object):  # type: ignore[no-untyped-def]
    return build_strategy("cascade", settings=RoutingSettings(), catalog=CATALOG, router=GradedRouter(),
                          gates=("predicted",), **overrides)


async def test_a_free_form_prompt_gets_cheaper_as_the_cost_weight_grows() -> None:
    haiku = ChatRequest.from_prompt("Write a haiku about rain.")
    for weight, first in ((0.0, "t:big"), (0.15, "t:b"), (1.0, "t:a")):
        caller = Caller({"t:a": "A haiku.", "t:b": "A haiku.", "t:big": "A haiku."})
        result = await graded(cascade_cost_weight=weight).run(haiku, caller=caller, meta=CallMeta())
        assert caller.calls == [first] and result.completion.model == first, (weight, caller.calls)
    # A quality threshold of the user's wins over the cost weight.
    caller = Caller({"t:big": "A haiku."})
    await graded(cascade_cost_weight=1.0, quality_threshold=0.8).run(haiku, caller=caller, meta=CallMeta())
    assert caller.calls == ["t:big"]
