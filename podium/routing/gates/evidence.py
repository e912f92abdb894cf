"""Answer-aware confidence: combine the router's per-model predictions with which answers agree.

The router predicts P(model answers correctly) from the prompt alone. Once several models have answered a
closed question, their agreement is evidence too. Assuming models err independently and a wrong answer is
any of the other ``k - 1`` options at random, the likelihood that answer ``a`` is right is

    L(a) = prod_{m said a} p_m * prod_{m said something else} (1 - p_m) / (k - 1)

and an answer nobody gave gets prod_m (1 - p_m) / (k - 1). Normalising over the answers gives a posterior.
Errors are in fact correlated (hard questions fool several models the same way), so this is optimistic
about agreement; the gate threshold is what users tune.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from podium.core.types import ChatRequest
from podium.routing.gates.answers import answer_kind, choice_letters, normalized_answer
from podium.routing.gates.checks import GateResult

# Distinct wrong answers assumed possible for a numeric question: wrong numbers rarely coincide by chance.
NUMERIC_OPTIONS = 10
_EPS = 1e-6


def _options(request: ChatRequest) -> int:
    letters = choice_letters(request.last_user_text)
    return len(letters) if letters else NUMERIC_OPTIONS


Answer = tuple[str, str]  # (model id, answer text): ids as the router knows them, not as providers echo them


def answer_posteriors(
    request: ChatRequest, answers: Sequence[Answer], predicted: Mapping[str, float]
) -> dict[str, float]:
    """P(answer is correct) for each distinct normalized answer among ``answers``; {} for free-form requests."""
    if answer_kind(request) not in ("choice", "number"):
        return {}
    k = max(2, _options(request))
    said = [(normalized_answer(request, text), min(1 - _EPS, max(_EPS, predicted.get(model, 0.5))))
            for model, text in answers]
    distinct = list(dict.fromkeys(ans for ans, _ in said if ans is not None))
    if not distinct:
        return {}

    def likelihood(answer: str | None) -> float:
        out = 1.0
        for ans, p in said:
            out *= p if (answer is not None and ans == answer) else (1 - p) / (k - 1)
        return out

    scores = {a: likelihood(a) for a in distinct}
    unseen = max(0, k - len(distinct)) * likelihood(None)
    total = sum(scores.values()) + unseen
    return {a: s / total for a, s in scores.items()} if total > 0 else {}


def posterior_gate(
    request: ChatRequest,
    answer: Answer,
    earlier: Sequence[Answer],
    predicted: Mapping[str, float],
    *,
    threshold: float,
) -> GateResult:
    """The predicted-quality gate made answer-aware: P(this answer is right | predictions, agreement) >= threshold.

    For free-form answers (or an answer that states no choice) it is the router's prediction for the model.
    """
    model, text = answer
    p = predicted.get(model)
    posts = answer_posteriors(request, [*earlier, answer], predicted)
    mine = normalized_answer(request, text) if posts else None
    if mine is not None and mine in posts:
        score = posts[mine]
        basis = f"P(answer {mine} right | {len(earlier) + 1} answer(s))"
    elif p is not None:
        score, basis = p, "predicted quality"
    else:
        return GateResult(True, "predicted", None, f"no quality prediction for {model}", applicable=False)
    relation = ">=" if score >= threshold else "<"
    return GateResult(score >= threshold, "predicted", score, f"{basis} {score:.2f} {relation} {threshold:.2f}")


def best_supported(
    request: ChatRequest, answers: Sequence[Answer], predicted: Mapping[str, float]
) -> tuple[int, float] | None:
    """(index into ``answers`` of the answer with the highest posterior, its posterior), or None for free text.

    Among completions giving the winning answer, the last (strongest in a cascade) one is returned.
    """
    posts = answer_posteriors(request, answers, predicted)
    if not posts:
        return None
    winner = max(posts, key=lambda a: posts[a])
    index = max(i for i, (_, text) in enumerate(answers) if normalized_answer(request, text) == winner)
    return index, posts[winner]
