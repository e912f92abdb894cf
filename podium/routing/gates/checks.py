"""Quality gates: pure checks over (request, completion) that say whether an answer is good enough to keep.

A gate that does not apply to a request (a JSON check on a free-text request) passes with
``applicable=False``, so a cascade escalates only when a gate that applies fails.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from podium.core.types import ChatRequest, Completion
from podium.routing.gates.answers import (
    answer_kind,
    choice_letters,
    code_block_languages,
    code_language,
    extract_choice,
    extract_code,
    extract_number,
    normalized_answer,
    response_text,
)
from podium.routing.gates.schema import schema_errors


@dataclass(frozen=True, slots=True)
class GateResult:
    """One gate's verdict. ``score`` is in 0..1 where the gate measures something, else None."""

    passed: bool
    name: str
    score: float | None = None
    reason: str = ""
    applicable: bool = True


def _not_applicable(name: str, why: str) -> GateResult:
    return GateResult(True, name, None, why, applicable=False)


# Phrases that signal a model is unsure or declines (the model orchestrator's "confidence detection"), with how much each
# one lowers confidence. Refusals weigh most: an answer that is not given cannot be right.
_HEDGES: tuple[tuple[re.Pattern[str], float], ...] = tuple(
    (re.compile(p, re.IGNORECASE), w)
    for p, w in (
        (r"\bI(?:'m| am) (?:not (?:sure|certain)|unsure|uncertain)\b", 0.4),
        (r"\bI (?:do not|don't) know\b", 0.6),
        (r"\b(?:cannot|can't|unable to) (?:determine|answer|say|tell|be certain|know|provide)\b", 0.5),
        (r"\bI (?:cannot|can't|won't|am unable to|'m unable to) (?:help|assist|do that|comply)\b", 0.8),
        (r"\bas an AI(?: language model)?\b", 0.3),
        (r"\b(?:not enough|insufficient) (?:information|context)\b", 0.4),
        (r"\bit(?:'s| is) (?:unclear|hard to say|difficult to say|not clear)\b", 0.3),
        (r"\b(?:I (?:think|believe|guess)|probably|possibly|perhaps|maybe|might be|may be|likely)\b", 0.1),
        (r"\b(?:I apologi[sz]e|sorry)\b", 0.2),
        (r"\b(?:without more|need more) (?:information|context|details)\b", 0.3),
    )
)


def confidence(text: str) -> float:
    """1.0 for a plain answer, lower for each hedge or refusal phrase, 0.0 for an empty answer."""
    body = response_text(text).strip()
    if not body:
        return 0.0
    penalty = sum(weight * min(2, len(p.findall(body))) for p, weight in _HEDGES)
    return max(0.0, 1.0 - penalty)


def hedging_gate(request: ChatRequest, completion: Completion, *, threshold: float = 0.5) -> GateResult:
    """Fails when the answer is empty, refuses, or hedges so much that its confidence is below ``threshold``."""
    score = confidence(completion.text)
    if score >= threshold:
        return GateResult(True, "hedging", score, f"confidence {score:.2f} >= {threshold:.2f}")
    return GateResult(False, "hedging", score, f"answer hedges or refuses (confidence {score:.2f} < {threshold:.2f})")


def _python_parses(code: str) -> str | None:
    """None when ``code`` parses as Python, else the syntax error's message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in model code are not our warnings
            ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def code_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """When code was asked for, the answer must contain code; Python code must parse (``ast.parse``)."""
    language = code_language(request.last_user_text)
    if language is None:
        return _not_applicable("code", "no code was asked for")
    code = extract_code(completion.text)
    if code is None:
        return GateResult(False, "code", 0.0, f"{language} code was asked for but the answer holds none")
    if language != "python":
        return GateResult(True, "code", 1.0, f"answer holds {language} code")
    named = [lang for lang in code_block_languages(completion.text) if lang]
    if named and not any(lang in ("python", "py", "python3") for lang in named):
        return GateResult(False, "code", 0.0, f"Python was asked for but the code is {named[0]}")
    error = _python_parses(code)
    if error:
        return GateResult(False, "code", 0.0, f"Python code does not parse: {error}")
    return GateResult(True, "code", 1.0, "Python code parses")


def _strip_fences(text: str) -> str:
    body = response_text(text).strip()
    fenced = re.match(r"^```(?:json)?\s*\n(.*?)\n?```$", body, re.DOTALL)
    return fenced.group(1) if fenced else body


def json_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """When JSON was asked for (``response_format``), the answer must parse and match the given JSON schema."""
    fmt = request.response_format or {}
    if fmt.get("type") not in ("json_object", "json_schema"):
        return _not_applicable("json", "no JSON was asked for")
    try:
        value = json.loads(_strip_fences(completion.text))
    except ValueError as exc:
        return GateResult(False, "json", 0.0, f"answer is not valid JSON: {exc}")
    schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
    if fmt.get("type") == "json_object" and not isinstance(value, dict):
        return GateResult(False, "json", 0.0, "a JSON object was asked for")
    errors = schema_errors(value, schema) if schema is not None else []
    if errors:
        return GateResult(False, "json", 0.0, "JSON does not match the schema: " + "; ".join(errors[:3]))
    return GateResult(True, "json", 1.0, "JSON parses" + (" and matches the schema" if schema else ""))


def format_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """The code and JSON checks together: whichever applies to the request."""
    result = json_gate(request, completion)
    if result.applicable:
        return result
    result = code_gate(request, completion)
    return result if result.applicable else _not_applicable("format", "no code or JSON was asked for")


def final_answer_gate(request: ChatRequest, completion: Completion) -> GateResult:
    """For multiple-choice and math questions, the answer must state a choice letter or a final number."""
    letters = choice_letters(request.last_user_text)
    if letters:
        pick = extract_choice(completion.text, letters)
        if pick is None:
            return GateResult(False, "final_answer", 0.0, f"no choice among {'/'.join(letters)} in the answer")
        return GateResult(True, "final_answer", 1.0, f"answer picks {pick}")
    if answer_kind(request) == "number":
        number = extract_number(completion.text)
        if number is None:
            return GateResult(False, "final_answer", 0.0, "a number was asked for but the answer states none")
        return GateResult(True, "final_answer", 1.0, f"final answer {number}")
    return _not_applicable("final_answer", "no closed answer (choice or number) was asked for")


def agreement_gate(request: ChatRequest, completion: Completion, others: Sequence[Completion]) -> GateResult:
    """Passes when the normalized answer equals an earlier model's, fails when it differs from every earlier
    answer; does not apply to free-form answers or while there is no earlier answer to compare with."""
    mine = normalized_answer(request, completion.text)
    if mine is None:
        if answer_kind(request) in ("choice", "number"):
            return GateResult(False, "agreement", 0.0, "no answer to compare")
        return _not_applicable("agreement", "free-form answers are not compared")
    theirs = [(o.model, normalized_answer(request, o.text)) for o in others]
    if not theirs:
        return _not_applicable("agreement", f"answer {mine}; no second answer to compare with yet")
    agreeing = [model for model, answer in theirs if answer == mine]
    if agreeing:
        return GateResult(True, "agreement", 1.0, f"answer {mine} agrees with {', '.join(agreeing)}")
    return GateResult(False, "agreement", 0.0, f"answer {mine} disagrees with {len(theirs)} earlier answer(s)")


def predicted_gate(model: str, predicted: float | None, *, threshold: float) -> GateResult:
    """The router's predicted P(good answer) for the answering model must reach ``threshold``."""
    if predicted is None:
        return _not_applicable("predicted", f"no quality prediction for {model}")
    if predicted >= threshold:
        return GateResult(True, "predicted", predicted, f"predicted quality {predicted:.2f} >= {threshold:.2f}")
    return GateResult(False, "predicted", predicted, f"predicted quality {predicted:.2f} < {threshold:.2f}")
