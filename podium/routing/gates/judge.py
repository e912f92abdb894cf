"""The judge gate: ask a (usually stronger, cheap-per-call) model to grade an answer from 0 to 10."""

from __future__ import annotations

import re

from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.routing.gates.checks import GateResult

JUDGE_SYSTEM = (
    "You grade answers. Read the question and the answer, then reply with one line "
    "'Score: N' where N is 0 (wrong or useless) to 10 (correct and complete), and nothing else."
)
_SCORE = re.compile(r"score\s*[:=]?\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+))?", re.IGNORECASE)
_FRACTION = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(10|100|5)\b")
_BARE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def judge_request(request: ChatRequest, answer: str) -> ChatRequest:
    """The grading prompt sent to the judge model."""
    prompt = f"Question:\n{request.last_user_text}\n\nAnswer:\n{answer}\n\nGrade the answer."
    return ChatRequest.from_prompt(prompt, system=JUDGE_SYSTEM, temperature=0.0, max_tokens=16)


def parse_judge_score(text: str) -> float | None:
    """A judge reply ('Score: 8', '8/10', '7') as 0..1, or None when it holds no score."""
    match = _SCORE.search(text)
    if match:
        value, scale = float(match.group(1)), float(match.group(2) or 10)
    elif (match := _FRACTION.search(text)) is not None:
        value, scale = float(match.group(1)), float(match.group(2))
    elif (match := _BARE.match(text)) is not None:
        value, scale = float(match.group(1)), 10.0
    else:
        return None
    return max(0.0, min(1.0, value / scale)) if scale > 0 else None


async def judge_gate(
    request: ChatRequest,
    completion: Completion,
    *,
    judge_model: str,
    caller: ModelCaller,
    meta: CallMeta,
    threshold: float = 0.7,
) -> tuple[GateResult, Completion]:
    """Grade ``completion`` with ``judge_model``; returns the verdict and the judge's own (priced) completion."""
    verdict = await caller(judge_model, judge_request(request, completion.text), meta)
    score = parse_judge_score(verdict.text)
    if score is None:
        return GateResult(False, "judge", None, f"judge {judge_model} gave no score: {verdict.text[:60]!r}"), verdict
    passed = score >= threshold
    relation = ">=" if passed else "<"
    return GateResult(passed, "judge", score, f"judge {judge_model} scored {score:.2f} {relation} {threshold:.2f}"), verdict
