"""Strategies through the injected caller: cheapest, cascade escalation, ensemble vote, auto, table, explain."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from rich.console import Console

from podium.catalog import Catalog
from podium.config.routing import RoutingSettings, TaskRoute
from podium.core.errors import AllAttemptsFailedError, NoCandidateError, ServerError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion, ImagePart, Message, TextPart
from podium.routing.strategies import build_strategy, render_explain

MCQ = "Which is a mammal?\nA) shark\nB) whale\nC) trout\nD) squid\nAnswer with one letter.\nAnswer:"


def spec(name: str, price: str, *, caps: Sequence[str] = (), window: int = 100_000) -> ModelSpec:
    return ModelSpec(
        id=f"t:{name}", provider="t", api_model=name, input_per_million=Decimal(price),
        output_per_million=Decimal(price), context_window=window, capabilities=frozenset(caps),
    )


CATALOG = Catalog([spec("tiny", "0.1"), spec("small", "0.5", caps=("json",)), spec("big", "10", caps=("json", "vision")),
                   spec("narrow", "0.05", window=300)])
MODELS = ("t:tiny", "t:small", "t:big", "t:narrow")


class FixedRouter:
    """A quality predictor with fixed answers: the strategies' injected router boundary."""

    def __init__(self, quality: dict[str, float]) -> None:
        self.quality = quality
        self.models = tuple(quality)

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: self.quality[m] for m in (models or self.models) if m in self.quality}


class ScriptedCaller:
    """Answers per model from a script; records every call. Raises when the script says so."""

    def __init__(self, answers: dict[str, str | BaseException]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        self.calls.append(model)
        answer = self.answers[model]
        if isinstance(answer, BaseException):
            raise answer
        return Completion(text=answer, model=model, provider="t", cost_usd=Decimal("0.001") * (1 + len(self.calls)))


ROUTER = FixedRouter({"t:tiny": 0.55, "t:small": 0.75, "t:big": 0.95, "t:narrow": 0.5})


def strategy(name: str, **overrides: object):  # type: ignore[no-untyped-def]
    return build_strategy(name, settings=RoutingSettings(**overrides), catalog=CATALOG, router=ROUTER)  # type: ignore[arg-type]


async def test_cheapest_picks_cheapest_model_reaching_threshold() -> None:
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    result = await strategy("cheapest", quality_threshold=0.7).run(
        ChatRequest.from_prompt("hello"), caller=caller, meta=CallMeta()
    )
    assert caller.calls == ["t:small"]
    assert result.decision.chosen == ["t:small"]
    assert result.total_cost_usd == result.completion.cost_usd
    best = await strategy("cheapest", quality_threshold=0.99).run(
        ChatRequest.from_prompt("hello"), caller=ScriptedCaller({m: "ok" for m in MODELS}), meta=CallMeta()
    )
    assert best.completion.model == "t:big"  # nobody reaches 0.99: the best predicted model


async def test_cheapest_honours_capabilities_context_window_and_allow_list() -> None:
    image = ChatRequest(messages=(Message("user", (TextPart("what is this?"), ImagePart("data:image/png;base64,AA"))),))
    caller = ScriptedCaller({m: "a cat" for m in MODELS})
    result = await strategy("cheapest", quality_threshold=0.5).run(image, caller=caller, meta=CallMeta())
    assert caller.calls == ["t:big"]
    assert any("lacks vision" in line for line in result.decision.explanation)
    long_prompt = ChatRequest.from_prompt("word " * 400)
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    result = await strategy("cheapest", quality_threshold=0.0).run(long_prompt, caller=caller, meta=CallMeta())
    assert "t:narrow" not in caller.calls and caller.calls == ["t:tiny"]
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    await strategy("cheapest", quality_threshold=0.0).run(
        ChatRequest.from_prompt("hi"), caller=caller, meta=CallMeta(), candidates=["t:big"]
    )
    assert caller.calls == ["t:big"]
    with pytest.raises(NoCandidateError, match="lacks vision"):
        await strategy("cheapest").run(image, caller=caller, meta=CallMeta(), candidates=["t:tiny"])


async def test_cascade_escalates_exactly_when_a_gate_fails() -> None:
    chain = {"trio": ("t:tiny", "t:small", "t:big")}
    s = strategy("cascade", chain="trio", chains=chain, gates=("hedging", "final_answer"))
    good = ScriptedCaller({"t:tiny": "B", "t:small": "B", "t:big": "B"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=good, meta=CallMeta())
    assert good.calls == ["t:tiny"] and result.completion.model == "t:tiny"

    hedged = ScriptedCaller({"t:tiny": "I'm not sure, I don't know.", "t:small": "Okay, hmm.", "t:big": "B"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=hedged, meta=CallMeta())
    assert hedged.calls == ["t:tiny", "t:small", "t:big"]
    assert result.completion.model == "t:big" and len(result.attempts) == 3
    assert result.total_cost_usd == sum(a.cost_usd for a in result.attempts)  # type: ignore[misc]
    assert any("hedging gate failed" in line for line in result.decision.explanation)
    assert any("final_answer gate failed" in line for line in result.decision.explanation)


async def test_cascade_agreement_and_prediction_decide_escalation() -> None:
    s = strategy("cascade", quality_threshold=0.8, chain="trio", chains={"trio": ("t:tiny", "t:small", "t:big")})
    agree = ScriptedCaller({"t:tiny": "B", "t:small": "B", "t:big": "A"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=agree, meta=CallMeta())
    assert agree.calls == ["t:tiny", "t:small"]  # tiny alone is doubted (0.55); agreement vouches for B
    assert result.completion.model == "t:small"
    disagree = ScriptedCaller({"t:tiny": "B", "t:small": "C", "t:big": "B"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=disagree, meta=CallMeta())
    assert disagree.calls == ["t:tiny", "t:small", "t:big"]
    assert result.completion.text == "B"


async def test_cascade_derives_chain_from_router_and_skips_failed_models() -> None:
    s = strategy("cascade", quality_threshold=0.7, gates=("final_answer", "predicted"))
    caller = ScriptedCaller({"t:tiny": ServerError("down", provider="t"), "t:small": "B", "t:big": "B",
                             "t:narrow": "B"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=caller, meta=CallMeta())
    assert caller.calls == ["t:tiny", "t:small"]
    assert result.completion.model == "t:small"
    dead = ScriptedCaller({m: ServerError("down", provider="t") for m in MODELS})
    with pytest.raises(AllAttemptsFailedError):
        await s.run(ChatRequest.from_prompt(MCQ), caller=dead, meta=CallMeta())


async def test_derived_cascade_never_pays_for_a_free_form_answer_it_would_reject() -> None:
    # A free-form answer passes the predicted gate on its prediction alone: tiny (0.55 < 0.7) would be paid for and
    # then rejected, so the chain opens with small, the cheapest model predicted to reach the threshold.
    s = strategy("cascade", quality_threshold=0.7, gates=("final_answer", "predicted"))
    caller = ScriptedCaller({"t:tiny": "x", "t:small": "A haiku.", "t:big": "y", "t:narrow": "z"})
    result = await s.run(ChatRequest.from_prompt("Write a haiku about rain."), caller=caller, meta=CallMeta())
    assert caller.calls == ["t:small"] and result.completion.model == "t:small"
    # A closed question keeps tiny: its answer can be confirmed by agreement with the next one.
    closed = await s.explain(ChatRequest.from_prompt(MCQ))
    assert [c.id for c in closed.candidates][:2] == ["t:tiny", "t:small"]


async def test_ensemble_votes_and_reports_agreement() -> None:
    s = strategy("ensemble", ensemble_models=("t:tiny", "t:small", "t:big"))
    caller = ScriptedCaller({"t:tiny": "B", "t:small": "B) whale", "t:big": "A"})
    result = await s.run(ChatRequest.from_prompt(MCQ), caller=caller, meta=CallMeta())
    assert sorted(caller.calls) == ["t:big", "t:small", "t:tiny"]
    assert result.completion.text.startswith("B")
    assert result.agreement == pytest.approx(2 / 3)
    assert len(result.attempts) == 3


async def test_ensemble_synthesizes_with_aggregator() -> None:
    s = strategy("ensemble", ensemble_models=("t:tiny", "t:small"), ensemble_method="synthesize",
                 aggregator_model="t:big")
    caller = ScriptedCaller({"t:tiny": "one", "t:small": "two", "t:big": "merged"})
    result = await s.run(ChatRequest.from_prompt("Write a haiku"), caller=caller, meta=CallMeta())
    assert result.completion.text == "merged" and caller.calls[-1] == "t:big"
    assert len(result.attempts) == 3


async def test_auto_trades_quality_for_cost() -> None:
    request = ChatRequest.from_prompt("hello")
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    await strategy("auto", cost_weight=0.0).run(request, caller=caller, meta=CallMeta())
    assert caller.calls == ["t:big"]
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    await strategy("auto", cost_weight=5.0).run(request, caller=caller, meta=CallMeta(), candidates=list(MODELS[:3]))
    assert caller.calls == ["t:tiny"]
    with pytest.raises(ValidationError, match="trained router"):
        build_strategy("auto", settings=RoutingSettings(), catalog=CATALOG, router=None)


async def test_table_strategy_uses_task_type_row_and_temperature() -> None:
    table = {"code": TaskRoute(primary="t:big", fallbacks=("t:small",), temperature=0.1),
             "general": TaskRoute(primary="t:tiny")}
    seen: list[float | None] = []

    async def caller(model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        seen.append(request.temperature)
        if model == "t:big":
            raise ServerError("down", provider="t")
        return Completion(text="def f(): pass", model=model, provider="t", cost_usd=Decimal(0))

    result = await strategy("table", task_table=table).run(
        ChatRequest.from_prompt("Write a python function that debugs this stack trace"), caller=caller, meta=CallMeta()
    )
    assert result.completion.model == "t:small" and seen == [0.1, 0.1]
    assert "'code'" in result.decision.explanation[0]


def test_unknown_strategy_and_chain_are_reported() -> None:
    with pytest.raises(ValidationError, match="cheapest"):
        build_strategy("fastest", settings=RoutingSettings(), catalog=CATALOG, router=ROUTER)
    with pytest.raises(ValidationError, match="chain 'nope'"):
        strategy("cascade", chain="nope")


async def test_render_explain_lists_candidates_and_reasons() -> None:
    caller = ScriptedCaller({m: "ok" for m in MODELS})
    result = await strategy("cheapest").run(ChatRequest.from_prompt("hi"), caller=caller, meta=CallMeta())
    console = Console(record=True, width=140)
    console.print(render_explain(result.decision))
    text = console.export_text()
    assert "t:small" in text and "0.75" in text and "routing: cheapest" in text and "✓" in text


@pytest.mark.parametrize("name", ["cheapest", "cascade", "ensemble", "auto"])
async def test_explain_plans_without_calling_any_model(name: str) -> None:
    decision = await strategy(name).explain(ChatRequest.from_prompt(MCQ))
    assert decision.strategy == name and decision.chosen
    assert set(decision.chosen) <= set(MODELS) and decision.explanation


async def test_derived_cascade_escalates_a_cut_off_answer_or_a_false_calculation_by_default() -> None:
    s = strategy("cascade", quality_threshold=0.7)  # the default gates
    word = "Sam buys 3 boxes of 12 eggs and uses 5. How many eggs are left?"
    wrong = ScriptedCaller({"t:small": "3 x 12 = 38 eggs, and 38 - 5 = 33.\n#### 33",
                            "t:big": "3 x 12 = 36 eggs, and 36 - 5 = 31.\n#### 31", "t:tiny": "x", "t:narrow": "x"})
    result = await s.run(ChatRequest.from_prompt(word), caller=wrong, meta=CallMeta())
    assert result.completion.model == "t:big" and "t:small" in wrong.calls
    assert any("arithmetic gate failed" in line and "3 x 12=38" in line for line in result.decision.explanation)
    right = ScriptedCaller({"t:small": "3 x 12 = 36 eggs, and 36 - 5 = 31.\n#### 31", "t:big": "31", "t:tiny": "x",
                            "t:narrow": "x"})
    result = await s.run(ChatRequest.from_prompt(word), caller=right, meta=CallMeta())
    assert result.completion.model == "t:small" and "t:big" not in right.calls
    cut = ScriptedCaller({"t:small": "Rain taps on the window,\nthe wet street shines under the lamps, and the long night goes on and on until =",
                          "t:big": "A haiku.", "t:tiny": "x", "t:narrow": "x"})
    result = await s.run(ChatRequest.from_prompt("Write a haiku about rain."), caller=cut, meta=CallMeta())
    assert cut.calls == ["t:small", "t:big"] and result.completion.model == "t:big"
    assert any("truncation gate failed" in line for line in result.decision.explanation)
