"""The learned router's prompt features: task-profile (dense) columns, the slope features a model's profile figure
is multiplied by, and the task type -> profile category map."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from podium.core.model_spec import PROFILE_CATEGORIES, PROFILE_KEYS
from podium.routing.arena_priors import SCORE_CENTER, SCORE_UNIT, separability
from podium.routing.task_analysis import DIFFICULTIES, TASK_TYPES, TaskProfile, analyze

if TYPE_CHECKING:
    from podium.core.model_spec import QualityProfile
    from podium.routing.task_classifier import TaskClassifier

DENSE_NAMES: tuple[str, ...] = (
    *(f"task={t}" for t in TASK_TYPES),
    *(f"difficulty={d}" for d in DIFFICULTIES),
    "needs_reasoning",
    "speed_critical",
    "log_chars",
)
CATEGORY_KEYS: tuple[str, ...] = PROFILE_KEYS  # index 0 is "overall"; categories follow
assert CATEGORY_KEYS[1:] == PROFILE_CATEGORIES
_TASK_WEIGHT = 3.0  # task type carries most of the signal; scaled up so regularization does not wash it out


def dense_features(
    prompt: str, counts: dict[int, float] | None = None, classifier: TaskClassifier | None = None
) -> np.ndarray:
    """Task-profile features: task type and difficulty one-hots, flags, log length."""
    return profile_features(analyze(prompt, counts=counts, classifier=classifier), len(prompt))


def profile_features(p: TaskProfile, n_chars: int) -> np.ndarray:
    """``dense_features`` from a profile already computed."""
    out = np.zeros(len(DENSE_NAMES), dtype=np.float32)
    out[TASK_TYPES.index(p.task_type)] = _TASK_WEIGHT
    out[len(TASK_TYPES) + DIFFICULTIES.index(p.difficulty)] = 1.0
    base = len(TASK_TYPES) + len(DIFFICULTIES)
    out[base] = float(p.needs_reasoning)
    out[base + 1] = float(p.speed_critical)
    out[base + 2] = float(np.log1p(n_chars) / 8.0)
    return out


# Task type -> the profile category whose figure rates a model for it.
CATEGORY_OF_TASK: dict[str, str] = {
    "code": "code",
    "math": "math",
    "reasoning": "reasoning",
    "planning": "reasoning",
    "knowledge_qa": "knowledge",
    "extraction": "knowledge",
    "writing": "writing",
    "chat": "writing",
}
SLOPE_NAMES: tuple[str, ...] = (
    "profile",
    *(f"profile*task={t}" for t in TASK_TYPES),
    *(f"profile*difficulty={d}" for d in DIFFICULTIES),
    "profile*log_chars",
)
# Per-model corrections are damped (a smaller column scale = stronger regularisation toward 0).
OFFSET_SCALE = 0.5
_EXPERT_COLUMN = 1 + len(TASK_TYPES) + DIFFICULTIES.index("expert")


def slope_features(p: TaskProfile, n_chars: int) -> np.ndarray:
    """What the strength of a model's profile is multiplied by: how much a better model helps on this prompt."""
    out = np.zeros(len(SLOPE_NAMES), dtype=np.float32)
    out[0] = 1.0
    out[1 + TASK_TYPES.index(p.task_type)] = 1.0
    out[1 + len(TASK_TYPES) + DIFFICULTIES.index(p.difficulty)] = 1.0
    out[-1] = float(np.log1p(n_chars) / 8.0)
    return out


def profile_scores(profile: QualityProfile) -> np.ndarray:
    """A QualityProfile as the router's scaled vector, in ``PROFILE_KEYS`` order."""
    return np.asarray([(profile.score(k) - SCORE_CENTER) / SCORE_UNIT for k in PROFILE_KEYS], dtype=np.float64)


_TASK_COLUMNS = slice(1, 1 + len(TASK_TYPES))
_DIFFICULTY_COLUMNS = slice(1 + len(TASK_TYPES), 1 + len(TASK_TYPES) + len(DIFFICULTIES))
_SEPARABILITY = np.asarray([[separability(t, d) for d in DIFFICULTIES] for t in TASK_TYPES], dtype=np.float64)


def slope_separability(slope: np.ndarray) -> np.ndarray:
    """Each prompt's separability (``arena_priors.separability``) from its slope features' task and difficulty."""
    rows = np.atleast_2d(slope)
    return _SEPARABILITY[rows[:, _TASK_COLUMNS].argmax(axis=1), rows[:, _DIFFICULTY_COLUMNS].argmax(axis=1)]
