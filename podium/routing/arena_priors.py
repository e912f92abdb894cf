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
# with ``k`` the prompt's separability. ``k`` is 1 for a prompt that separates models as much as the average Arena
# prompt does, and HARD_SEPARABILITY for an Arena-Hard-like prompt. For a given prompt it is the learned router's own
# estimate of how much a stronger model helps (its gain: slope features · learned slope) relative to the average
# training prompt's, so longer, code, math and reasoning prompts separate more than short chat and writing.
# JUDGED_MARGIN is a design constant, not a fitted figure: the recorded benchmarks hold no judged answers. A
# candidate as strong as the strongest is judged as good with probability 0.78, so at the default quality threshold
# (0.7) a candidate may stand about 72/k Elo below the strongest: on a short chat prompt (k about 0.5) about 140 Elo,
# the distance from GPT-4-1106 down to Mixtral-8x7B; on an average prompt about 70 (GPT-5 down to GPT-5-mini is 52);
# on an Arena-Hard-like prompt about 27.
JUDGED_MARGIN = float(np.log(0.78 / 0.22))
# Fitted on Arena-Hard-Auto v0.1 (2024-07-31): the logit of each model's win rate against GPT-4-0314, regressed on
# its Arena Elo (2025-03-26 snapshot) in logit units, over the 41 models in both (r = 0.94), has slope 2.71: hard
# prompts separate models 2.7 times as much as the average Arena prompt. `tools/fit_separability.py` refits it.
HARD_SEPARABILITY = 2.71
MIN_SEPARABILITY = 0.25  # even a greeting separates a 7B model from a frontier one a little


def separability(gain: np.ndarray | float, gain_reference: float | None) -> np.ndarray:
    """How much a prompt separates models relative to the average prompt (1), from the router's learned gain."""
    if not gain_reference or gain_reference <= 0:
        return np.ones_like(np.asarray(gain, dtype=np.float64))
    return np.clip(np.asarray(gain, dtype=np.float64) / gain_reference, MIN_SEPARABILITY, HARD_SEPARABILITY)


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
