"""Each quality gate on clear positive and negative examples."""

from __future__ import annotations

import pytest

from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion
from podium.routing.gates import (
    agreement_gate,
    code_gate,
    confidence,
    extract_choice,
    extract_number,
    final_answer_gate,
    format_gate,
    hedging_gate,
    json_gate,
    judge_gate,
    normalized_answer,
    parse_judge_score,
    predicted_gate,
    schema_errors,
)
from podium.routing.gates.evidence import answer_posteriors, best_supported, posterior_gate

MCQ = (
    "Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nC) helium\nD) neon\n"
    'Print only a single choice from "A" or "B" or "C" or "D" without explanation.\nAnswer:'
)
MATH = "Tom has 3 boxes with 12 apples each. He eats 5. How many apples are left?"
CODE = "Write a python function to reverse a string."


def done(text: str, model: str = "m:a") -> Completion:
    return Completion(text=text, model=model, provider="m")


def ask(prompt: str, **kw: object) -> ChatRequest:
    return ChatRequest.from_prompt(prompt, **kw)  # type: ignore[arg-type]


def test_hedging_gate_passes_plain_answer_and_fails_hedges_and_refusals() -> None:
    req = ask("What is the capital of France?")
    ok = hedging_gate(req, done("The capital of France is Paris."))
    assert ok.passed and ok.score == 1.0
    unsure = hedging_gate(req, done("I'm not sure, but I think it might be Lyon. I don't know for certain."))
    assert not unsure.passed and unsure.score is not None and unsure.score < 0.5
    refusal = hedging_gate(req, done("I'm sorry, I cannot help with that."))
    assert not refusal.passed
    assert not hedging_gate(req, done("   ")).passed
    assert confidence("") == 0.0


def test_code_gate_parses_python_and_rejects_broken_or_wrong_language() -> None:
    req = ask(CODE)
    good = code_gate(req, done("Here you go:\n```python\ndef rev(s):\n    return s[::-1]\n```"))
    assert good.passed and good.applicable
    broken = code_gate(req, done("```python\ndef rev(s)\n    return s[::-1]\n```"))
    assert not broken.passed and "does not parse" in broken.reason
    js = code_gate(req, done("```javascript\nfunction rev(s) { return s.split('').reverse().join('') }\n```"))
    assert not js.passed and "javascript" in js.reason
    prose = code_gate(req, done("Just reverse it with slicing."))
    assert not prose.passed
    tagged = code_gate(req, done("[PYTHON]\ndef rev(s):\n    return s[::-1]\n[/PYTHON]"))
    assert tagged.passed
    not_code = code_gate(ask("What is the capital of France?"), done("Paris"))
    assert not_code.passed and not not_code.applicable


def test_json_gate_checks_parse_object_and_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    req = ask("Give me a person.", response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": schema}})
    assert json_gate(req, done('{"name": "Ada", "age": 36}')).passed
    assert json_gate(req, done('```json\n{"name": "Ada", "age": 36}\n```')).passed
    bad_type = json_gate(req, done('{"name": "Ada", "age": "old"}'))
    assert not bad_type.passed and "$.age" in bad_type.reason
    missing = json_gate(req, done('{"name": "Ada"}'))
    assert not missing.passed and "age" in missing.reason
    assert not json_gate(req, done("not json at all")).passed
    obj_req = ask("Give me JSON.", response_format={"type": "json_object"})
    assert not json_gate(obj_req, done("[1, 2]")).passed
    assert not json_gate(ask("hi"), done("{}")).applicable
    assert format_gate(req, done('{"name": "Ada", "age": 36}')).name == "json"


@pytest.mark.parametrize(
    ("value", "schema", "problems"),
    [
        ([1, 2, 3], {"type": "array", "items": {"type": "integer"}, "maxItems": 2}, 1),
        ("red", {"enum": ["green", "blue"]}, 1),
        (5, {"anyOf": [{"type": "string"}, {"type": "integer", "maximum": 3}]}, 1),
        (5, {"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1),
        ({"a": True}, {"type": "object", "additionalProperties": {"type": "boolean"}}, 0),
        (True, {"type": "integer"}, 1),
        (2.0, {"type": "integer"}, 0),
        ("x", False, 1),
    ],
)
def test_schema_validator_subset(value: object, schema: object, problems: int) -> None:
    assert len(schema_errors(value, schema)) == problems


def test_final_answer_gate_for_choice_and_number() -> None:
    assert final_answer_gate(ask(MCQ), done("B")).passed
    assert final_answer_gate(ask(MCQ), done("The answer is (B).")).passed
    missing = final_answer_gate(ask(MCQ), done("Okay, let me think about photosynthesis."))
    assert not missing.passed and "A/B/C/D" in missing.reason
    assert final_answer_gate(ask(MATH), done("3*12 = 36, minus 5 leaves 31.\n#### 31")).passed
    assert not final_answer_gate(ask(MATH), done("Let's count them carefully.")).passed
    assert not final_answer_gate(ask("Tell me a joke."), done("no")).applicable


def test_answer_extraction_normalizes() -> None:
    assert extract_choice("['C']", ("A", "B", "C", "D")) == "C"
    assert extract_choice("E", ("A", "B")) is None
    assert extract_number("so she earns $1,200.50 in total") == "1200.5"
    assert extract_number("#### $460") == "460"
    assert normalized_answer(ask(MATH), "The answer is 31.") == normalized_answer(ask(MATH), "#### 31")


def test_agreement_gate_agree_disagree_and_not_applicable() -> None:
    req = ask(MCQ)
    first = done("B", "m:cheap")
    assert not agreement_gate(req, done("B"), []).applicable  # nothing to compare yet
    agree = agreement_gate(req, done("(B) carbon dioxide", "m:b"), [first])
    assert agree.passed and "m:cheap" in agree.reason
    assert not agreement_gate(req, done("A", "m:b"), [first]).passed
    assert not agreement_gate(ask("Write a haiku."), done("..."), [done("...")]).applicable


def test_predicted_and_posterior_gates() -> None:
    assert predicted_gate("m:a", 0.9, threshold=0.8).passed
    assert not predicted_gate("m:a", 0.6, threshold=0.8).passed
    assert not predicted_gate("m:a", None, threshold=0.8).applicable
    req = ask(MCQ)
    p = {"m:a": 0.6, "m:b": 0.6}
    alone = posterior_gate(req, ("m:a", "B"), [], p, threshold=0.8)
    assert not alone.passed and alone.score == pytest.approx(0.6)
    agreed = posterior_gate(req, ("m:b", "B"), [("m:a", "B")], p, threshold=0.8)
    assert agreed.passed and agreed.score == pytest.approx(0.36 / (0.36 + 3 * (0.4 / 3) ** 2))
    disagreed = posterior_gate(req, ("m:b", "C"), [("m:a", "B")], p, threshold=0.5)
    assert not disagreed.passed
    posts = answer_posteriors(req, [("m:a", "B"), ("m:b", "C")], p)
    assert set(posts) == {"B", "C"} and sum(posts.values()) < 1.0
    assert best_supported(req, [("m:a", "A"), ("m:b", "B"), ("m:s", "A")], {"m:a": .7, "m:b": .9, "m:s": .7})[0] == 2


def test_judge_score_parsing() -> None:
    assert parse_judge_score("Score: 8") == pytest.approx(0.8)
    assert parse_judge_score("I'd give it 4/5") == pytest.approx(0.8)
    assert parse_judge_score("7") == pytest.approx(0.7)
    assert parse_judge_score("Score: 12") == 1.0
    assert parse_judge_score("great answer") is None


async def test_judge_gate_calls_the_judge_through_the_caller() -> None:
    seen: list[tuple[str, str]] = []

    async def caller(model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        seen.append((model, request.last_user_text))
        return Completion(text="Score: 3", model=model, provider="judge")

    result, judged = await judge_gate(
        ask("What is 2+2?"), done("5"), judge_model="judge:big", caller=caller, meta=CallMeta(), threshold=0.7
    )
    assert not result.passed and result.score == pytest.approx(0.3)
    assert judged.model == "judge:big"
    assert seen[0][0] == "judge:big" and "What is 2+2?" in seen[0][1] and "5" in seen[0][1]
