"""What a quality profile means where the recorded benchmarks have no data: Arena win chances as priors.

A profile figure is an Arena Elo-equivalent, so the chance that a model's answer is preferred to one of Elo ``E`` is
the Bradley-Terry ``σ((score - E) / (400 / ln 10))``. The router blends that chance into its learned logit for the
prompts the bundled benchmarks cannot teach it about.
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
# Free-form prompts (no choice, number, code or JSON to check) are judged, not scored: what "good" means there is
# what the Arena measures. The recorded benchmarks are all closed questions, so for free-form prompts the learned
# logit is blended half and half with the Arena chance of an answer preferred to GPT-4-0314's (Elo 1186, the
# baseline Arena-Hard judges against).
FREE_FORM_ELO = 1186.0
FREE_FORM_PRIOR_WEIGHT = 0.5


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
