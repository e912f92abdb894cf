"""The cascade's live gates end to end: the real engine and ledger (SQLite), the fake upstream on loopback.

Each extra signal is charged: the n-sample call is one ledger row with the prompt billed once, a second math sample
from a provider without ``n`` is its own row. Each gate's verdict (kept, failed, skipped) is in the decision's notes
and steps, which ``--explain`` and ``ask --json`` show, and in the ledger's ``gates`` column.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from podium import Podium
from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.core.errors import ConfigError
from podium.core.types import ChatRequest, Usage
from podium.ledger import LedgerReader
from podium.testing import FakeUpstream, serve

KEY = "test-key-0123456789"
KEYS = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY, "GOOGLE_API_KEY": KEY}
MINI, GPT4O = "openai:gpt-4o-mini", "openai:gpt-4o"
HAIKU, FLASH = "anthropic:claude-haiku-4-5", "gemini:gemini-2.5-flash"
CATALOG = Catalog.bundled()
CHOICE = "Which planet is largest?\nA) Mars\nB) Jupiter\nC) Venus\nD) Earth"
MATH = "What is the total of 12 apples and 30 apples?"
CODE = (
    "Write a Python function add(a, b) that returns the sum of a and b.\n"
    "Your code should pass these tests:\n\nassert add(1, 2) == 3\nassert add(-1, 1) == 0\n"
)


def _wire(model_id: str) -> str:
    return CATALOG.get(model_id).api_model


def _config(base: str, chain: list[str], gates: list[str], **routing: Any) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base},
                      "gemini": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": {"chain": "c", "chains": {"c": chain}, "gates": gates, **routing},
    })


def _rows(home: Path) -> list[dict[str, Any]]:
    return LedgerReader(PodiumConfig().ledger.database_url(home)).rows()


async def _route(fake: FakeUpstream, home: Path, chain: list[str], gates: list[str], prompt: str | ChatRequest,
                 **routing: Any) -> Any:
    async with serve(fake.app) as base, Podium.from_config(
        _config(base, chain, gates, **routing), env=KEYS, home=home
    ) as client:
        return await client.route(prompt, strategy="cascade")


def _notes(routed: Any) -> str:
    return "\n".join(routed.decision.explanation)


# -- logprobs ------------------------------------------------------------------------------------------------------


async def test_a_low_logprob_cheap_answer_escalates(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Paris, maybe", usage=Usage(20, 3), logprobs=[-1.5, -2.0, -2.5])
    fake.script(_wire(GPT4O), "Paris.", usage=Usage(20, 2))
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["logprob"], "What is the capital of France?")
    assert routed.completion.model == GPT4O
    cheap, strong = fake.requests
    assert cheap.json["logprobs"] is True and "logprobs" not in strong.json  # the last step is never gated
    verdict = routed.decision.steps[0].gates["logprob"]
    assert verdict.startswith("failed: low confidence: mean token probability 0.14")
    assert "step 1: openai:gpt-4o-mini: escalating: logprob gate failed" in _notes(routed)
    rows = _rows(tmp_path)
    assert [r["model"] for r in rows] == [MINI, GPT4O]
    assert rows[0]["gates"]["logprob"] == verdict and Decimal(str(rows[0]["cost_usd"])) > 0


async def test_a_confident_cheap_answer_is_kept(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Paris.", usage=Usage(20, 2), logprobs=[-0.05, -0.1])
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["logprob"], "What is the capital of France?",
                          logprob_threshold=0.9)
    assert routed.completion.model == MINI and fake.count() == 1
    assert routed.decision.steps[0].gates["logprob"].startswith("passed: mean token probability 0.93")
    assert [t["outcome"] for t in routed.summary()["tried"]] == ["kept"]


async def test_gemini_logprobs_feed_the_gate_too(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(FLASH), "Paris, maybe", logprobs=[-3.0, -3.0])
    fake.script(_wire(GPT4O), "Paris.")
    routed = await _route(fake, tmp_path, [FLASH, GPT4O], ["logprob"], "What is the capital of France?")
    assert fake.requests[0].json["generationConfig"]["responseLogprobs"] is True
    assert routed.completion.model == GPT4O


async def test_anthropic_offers_no_logprobs_so_the_gate_says_so_and_does_not_fail(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(HAIKU), "Paris.", logprobs=[-9.0])
    routed = await _route(fake, tmp_path, [HAIKU, GPT4O], ["logprob"], "What is the capital of France?")
    assert routed.completion.model == HAIKU and fake.count() == 1
    assert "logprobs" not in fake.requests[0].json
    verdict = routed.decision.steps[0].gates["logprob"]
    assert verdict == "skipped: no logprobs from this provider (anthropic)"
    notes = _notes(routed)
    assert "live signals from anthropic:claude-haiku-4-5: no logprobs (the provider offers none)" in notes
    assert "logprob gate skipped: no logprobs from this provider" in notes
    assert _rows(tmp_path)[0]["gates"]["logprob"] == verdict


# -- n samples in one call -----------------------------------------------------------------------------------------


async def test_consistent_samples_come_from_one_call_billed_once_and_are_kept(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    for text in ("B) Jupiter", "The answer is B", "C"):
        fake.script(_wire(MINI), text, usage=Usage(40, 5), times=1)
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["consistency"], CHOICE)
    assert fake.count() == 1 and fake.requests[0].json["n"] == 3
    assert routed.completion.model == MINI and routed.completion.samples == ("B) Jupiter", "The answer is B", "C")
    assert routed.decision.steps[0].gates["consistency"] == "passed: 2/3 samples agree on answer B (0.67 >= 0.60)"
    [row] = _rows(tmp_path)
    assert (row["input_tokens"], row["output_tokens"]) == (40, 15)  # the prompt billed once for three answers
    assert Decimal(str(row["cost_usd"])) == CATALOG.get(MINI).cost(Usage(40, 15))
    assert "live signals from openai:gpt-4o-mini: 3 answers in one call, prompt billed once" in _notes(routed)


async def test_disagreeing_samples_escalate(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    for text in ("A", "B", "C"):
        fake.script(_wire(MINI), text, times=1)
    fake.script(_wire(GPT4O), "B")
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["consistency"], CHOICE, consistency_samples=3)
    assert routed.completion.model == GPT4O
    assert routed.decision.steps[0].gates["consistency"] == "failed: 1/3 samples agree on answer A (0.33 < 0.60)"
    assert "n" not in fake.requests[1].json


async def test_without_n_support_the_consistency_gate_is_skipped(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(HAIKU), "B")
    routed = await _route(fake, tmp_path, [HAIKU, GPT4O], ["consistency"], CHOICE)
    assert routed.completion.model == HAIKU and "n" not in fake.requests[0].json
    assert routed.decision.steps[0].gates["consistency"].startswith(
        "skipped: anthropic:claude-haiku-4-5's provider cannot sample several answers in one call"
    )


# -- verifiers -----------------------------------------------------------------------------------------------------


async def test_code_failing_the_prompts_asserts_escalates(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "```python\ndef add(a, b):\n    return a - b\n```")
    fake.script(_wire(GPT4O), "```python\ndef add(a, b):\n    return a + b\n```")
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["verify"], CODE)
    assert routed.completion.model == GPT4O
    verdict = routed.decision.steps[0].gates["verify"]
    assert verdict.startswith("failed: code: 2 of 2 prompt test(s) failed in the sandbox: assert add(1, 2) == 3")


async def test_code_passing_the_prompts_asserts_is_kept(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "```python\ndef add(a, b):\n    return a + b\n```")
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["verify"], CODE)
    assert routed.completion.model == MINI and fake.count() == 1
    assert routed.decision.steps[0].gates["verify"] == "passed: code: all 2 prompt test(s) pass in the sandbox"


async def test_math_answer_disagreeing_with_its_second_sample_escalates(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "12 + 30 = 42. The answer is 42", times=1)
    fake.script(_wire(MINI), "The answer is 41", times=1)
    fake.script(_wire(GPT4O), "The answer is 42")
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["verify"], MATH)
    assert fake.requests[0].json["n"] == 2 and routed.completion.model == GPT4O
    assert routed.decision.steps[0].gates["verify"] == (
        "failed: math: final answer 42 but a second sample of the same call says 41"
    )


async def test_math_second_sample_from_a_provider_without_n_is_a_charged_call(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(HAIKU), "The answer is 42", usage=Usage(30, 6))
    routed = await _route(fake, tmp_path, [HAIKU, GPT4O], ["verify"], MATH)
    assert routed.completion.model == HAIKU and fake.count(_wire(HAIKU)) == 2
    assert [(s.role, s.outcome) for s in routed.decision.steps] == [("answer", "kept"), ("verifier", "passed")]
    rows = _rows(tmp_path)
    assert [r["model"] for r in rows] == [HAIKU, HAIKU]
    assert all(Decimal(str(r["cost_usd"])) == CATALOG.get(HAIKU).cost(Usage(30, 6)) for r in rows)
    assert routed.total_cost_usd == 2 * CATALOG.get(HAIKU).cost(Usage(30, 6))


async def test_json_not_matching_the_response_schema_escalates(tmp_path: Path) -> None:
    schema = {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
    request = ChatRequest.from_prompt(
        "Name the capital of France as JSON.",
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    )
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), '{"town": "Paris"}')
    fake.script(_wire(GPT4O), '{"city": "Paris"}')
    routed = await _route(fake, tmp_path, [MINI, GPT4O], ["verify"], request)
    assert routed.completion.model == GPT4O
    assert "missing required property 'city'" in routed.decision.steps[0].gates["verify"]


# -- explain, defaults and config ----------------------------------------------------------------------------------


async def test_explain_names_the_signals_each_step_will_ask_for(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    async with serve(fake.app) as base, Podium.from_config(
        _config(base, [MINI, HAIKU, GPT4O], ["logprob", "consistency", "verify"]), env=KEYS, home=tmp_path
    ) as client:
        decision = await client.explain(CHOICE, strategy="cascade")
    notes = "\n".join(decision.explanation)
    assert "live signals from openai:gpt-4o-mini: token logprobs; 3 answers in one call, prompt billed once" in notes
    assert ("live signals from anthropic:claude-haiku-4-5: no logprobs (the provider offers none); "
            "one answer (the provider cannot sample 3 in one call)") in notes
    assert "live signals from openai:gpt-4o:" not in notes and fake.count() == 0


async def test_the_default_gates_ask_for_no_live_signal(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "B")
    async with serve(fake.app) as base, Podium.from_config(
        PodiumConfig.from_mapping({
            "orchestration": {"enabled": False},
            "providers": {"openai": {"base_url": f"{base}/v1"}},
            "routing": {"chain": "c", "chains": {"c": [MINI, GPT4O]}},
        }), env=KEYS, home=tmp_path,
    ) as client:
        routed = await client.route(CHOICE, strategy="cascade")
    assert not {"logprobs", "n", "top_logprobs"} & set(fake.requests[0].json)
    assert "live signals" not in _notes(routed)


@pytest.mark.parametrize(
    ("routing", "needle"),
    [
        ({"gates": ["logprobs"]}, "'logprob', 'consistency' or 'verify'"),
        ({"consistency_samples": 1}, "routing.consistency_samples"),
        ({"logprob_threshold": 1.5}, "routing.logprob_threshold"),
    ],
)
def test_bad_gate_settings_are_refused_naming_the_field(routing: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        PodiumConfig.from_mapping({"routing": routing})
    assert needle in str(info.value)
