"""What a quality profile means where the recorded benchmarks have no data: Arena win chances as priors.

A profile figure is an Arena Elo-equivalent, so the chance that a model's answer is preferred to one of Elo ``E`` is
the Bradley-Terry ``σ((score - E) / (400 / ln 10))``. The router uses such chances for the prompts the bundled
benchmarks cannot teach it about: expert prompts, and judged (free-form) prompts.
"""

from __future__ import annotations

import numpy as np

# The router's scale for profile figures: (score - center) / unit.
SCORE_CENTER, SCORE_UNIT = 1200.0, 100.0
ELO_LOGIT_UNIT = 400.0 / float(np.log(10.0))  # Elo points per logit of the Bradley-Terry win probability

# Expert prompts (proofs, concurrency, distributed design: task analysis says which) barely occur in the recorded
# benchmarks, so the learned part cannot tell how hard they are. For them the prediction is the profile's own
# meaning instead: the Arena chance that the model's answer is preferred to a frontier-level one (Elo 1400, about
# the strongest current models' overall figure), blended with the learned logit at this weight (1 = prior only).
EXPERT_ELO = 1400.0
EXPERT_PRIOR_WEIGHT = 1.0
# Free-form prompts (no choice, number, code or JSON to check) are judged, not scored: a judge, or the user, compares
# the answer with what a better model would have written. Whether a cheaper candidate's answer is good enough then
# depends on two things: how far its profile figure stands below the strongest candidate's, and how much the prompt
# separates models (a greeting barely does; a multi-step derivation does a lot). So for these prompts the prediction
# is the chance that the answer is judged as good as the strongest candidate's:
#     σ(JUDGED_MARGIN - k * (top - score) / ELO_LOGIT_UNIT)
# with ``k`` the prompt's separability: 1 for a prompt that separates models as much as the average Arena prompt,
# HARD_SEPARABILITY for an Arena-Hard-like one. ``k`` comes from task analysis (difficulty and task type), not from
# the learned weights: those are fitted on closed benchmarks and shift with the training mix.
# JUDGED_MARGIN is a design constant, not a fitted figure: the recorded benchmarks hold no judged answers. A
# candidate as strong as the strongest is judged as good with probability 0.78, so at the default quality threshold
# (0.7) a candidate may stand about 72/k Elo below the strongest: on a simple chat prompt (k = 0.45) about 160 Elo,
# the distance from GPT-4-1106 down to Mixtral-8x7B (136) but not to GPT-3.5-1106 (182); on a moderate code prompt
# (k = 0.88) about 80 (GPT-5 down to GPT-5-mini is 52); on an expert prompt about 27.
JUDGED_MARGIN = float(np.log(0.78 / 0.22))
# Fitted on Arena-Hard-Auto v0.1 (2024-07-31): the logit of each model's win rate against GPT-4-0314, regressed on
# its Arena Elo (2025-03-26 snapshot) in logit units, over the 41 models in both (r = 0.94), has slope 2.71: hard
# prompts separate models 2.7 times as much as the average Arena prompt. `tools/fit_separability.py` refits it.
HARD_SEPARABILITY = 2.71
# Separability by task analysis' difficulty. Expert prompts are Arena-Hard-like. The average Arena prompt is 1 and
# Arena-Hard-like prompts are a minority of it, so simple and moderate prompts must average below 1; complex ones
# sit between the average and the hard ones. Design constants around the two measured anchors (1 and 2.71).
DIFFICULTY_SEPARABILITY: dict[str, float] = {"simple": 0.45, "moderate": 0.8, "complex": 1.6,
                                             "expert": HARD_SEPARABILITY}
# Code, math, reasoning and planning separate a little more than the average prompt: the LMArena coding category's
# Elo spread is 0.95-1.13 times the overall one (11 models, `tools/profile_sources.csv`).
TASK_SEPARABILITY: dict[str, float] = {"code": 1.1, "math": 1.1, "reasoning": 1.1, "planning": 1.1}


def separability(task_type: str, difficulty: str) -> float:
    """How much a prompt of this task type and difficulty separates models, relative to the average prompt (1)."""
    k = DIFFICULTY_SEPARABILITY.get(difficulty, 1.0) * TASK_SEPARABILITY.get(task_type, 1.0)
    return min(HARD_SEPARABILITY, k)


def judged_logits(scaled_scores: np.ndarray, k: np.ndarray | float) -> np.ndarray:
    """Logit of the chance each answer is judged as good as the strongest candidate's.

    ``scaled_scores`` holds the candidates' profile figures on the router's scale, shape (models,) for one prompt or
    (prompts, models); ``k`` the prompt's separability, a scalar or shape (prompts,)."""
    s = np.asarray(scaled_scores, dtype=np.float64)
    top = s.max(axis=-1, keepdims=True)
    k = np.asarray(k, dtype=np.float64)
    if s.ndim == 2 and k.ndim == 1:
        k = k[:, None]
    return JUDGED_MARGIN - k * (top - s) * SCORE_UNIT / ELO_LOGIT_UNIT


def with_prior(logits: np.ndarray, scaled_scores: np.ndarray, elo: float, weight: float) -> np.ndarray:
    """The learned logit blended (at ``weight``) with the Arena chance that the model's answer beats one of
    Elo ``elo``."""
    prior = (scaled_scores * SCORE_UNIT + SCORE_CENTER - elo) / ELO_LOGIT_UNIT
    return (1.0 - weight) * logits + weight * prior


def is_free_form(prompt: str) -> bool:
    """No closed answer to check: not a choice, a final number or code (the recorded benchmarks' kinds)."""
    from podium.core.types import ChatRequest
    from podium.routing.gates.answers import answer_kind

    return answer_kind(ChatRequest.from_prompt(prompt)) is None
