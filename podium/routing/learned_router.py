"""The learned quality router: P(good answer) per model for a prompt, and pure decision rules over it.

Prediction needs only numpy: hashed n-grams (``features``) plus task-profile features go through one
coefficient matrix (a logistic regression per model). Training (``router_training``) uses scikit-learn.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.catalog.store import podium_home
from podium.core.errors import NoCandidateError, ValidationError
from podium.providers.recorded_data import EvalRecord
from podium.routing.features import HashedVocabulary, hashed_counts, pack_array, unpack_array
from podium.routing.plans import PlanTable
from podium.routing.task_analysis import DIFFICULTIES, TASK_TYPES, TaskProfile, analyze

if TYPE_CHECKING:
    from podium.routing.task_classifier import TaskClassifier

log = logging.getLogger(__name__)

FORMAT = "podium-quality-router/2"
SHIPPED_NAME = "router_default.json.gz"
DENSE_NAMES: tuple[str, ...] = (
    *(f"task={t}" for t in TASK_TYPES),
    *(f"difficulty={d}" for d in DIFFICULTIES),
    "needs_reasoning",
    "speed_critical",
    "log_chars",
)
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


class QualityRouter:
    """Predicts, per model, the probability that its answer to a prompt is good.

    It may carry the cascade plans fitted on the same data (``plans``) and a task classifier of its own
    (``task_classifier``; None = the shipped one), which its task-type features and plan lookups use.
    """

    def __init__(
        self,
        models: Sequence[str],
        vocabulary: HashedVocabulary,
        coef: np.ndarray,
        intercept: np.ndarray,
        info: Mapping[str, Any] | None = None,
        *,
        plans: PlanTable | None = None,
        task_classifier: TaskClassifier | None = None,
    ) -> None:
        self.models: tuple[str, ...] = tuple(models)
        n_cols = len(vocabulary) + len(DENSE_NAMES)
        if coef.shape != (n_cols, len(self.models)) or intercept.shape != (len(self.models),):
            raise ValidationError(
                f"router weights have shape {coef.shape}/{intercept.shape}; expected "
                f"({n_cols}, {len(self.models)})/({len(self.models)},)",
                field="coef",
            )
        self._vocab = vocabulary
        self._coef_sparse = np.ascontiguousarray(coef[: len(vocabulary)], dtype=np.float32)
        self._coef_dense = np.ascontiguousarray(coef[len(vocabulary) :], dtype=np.float32)
        self._intercept = intercept.astype(np.float32)
        self._info = dict(info or {})
        self.plans = plans
        self.task_classifier = task_classifier

    def _logits(self, prompt: str) -> np.ndarray:
        counts = hashed_counts(prompt)
        cols, vals = self._vocab.columns(counts)
        dense = dense_features(prompt, counts, self.task_classifier)
        return vals @ self._coef_sparse[cols] + dense @ self._coef_dense + self._intercept

    def task_type(self, prompt: str) -> str:
        """The prompt's task type as this router's task analysis sees it (the key of its cascade plans)."""
        return analyze(prompt, classifier=self.task_classifier).task_type

    def predict_many(self, prompts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape (len(prompts), len(self.models)), columns in ``self.models`` order."""
        out = np.empty((len(prompts), len(self.models)), dtype=np.float64)
        for i, prompt in enumerate(prompts):
            out[i] = self._logits(prompt)
        return 1.0 / (1.0 + np.exp(-out))

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        """P(good answer) per model; ``models`` restricts the answer to those this router knows."""
        probs = self.predict_many([prompt])[0]
        wanted = set(models) if models is not None else None
        return {m: float(p) for m, p in zip(self.models, probs, strict=True) if wanted is None or m in wanted}

    @property
    def vocabulary(self) -> HashedVocabulary:
        return self._vocab

    @property
    def coef(self) -> np.ndarray:
        """All weights, shape (hashed n-grams + dense features, models)."""
        return np.vstack([self._coef_sparse, self._coef_dense])

    @property
    def intercept(self) -> np.ndarray:
        return self._intercept

    def with_info(self, info: Mapping[str, Any]) -> QualityRouter:
        """The same router carrying ``info`` (training provenance and metrics)."""
        return QualityRouter(self.models, self._vocab, self.coef, self._intercept, info, plans=self.plans,
                             task_classifier=self.task_classifier)

    def with_plans(self, plans: PlanTable | None) -> QualityRouter:
        """The same router carrying cascade plans."""
        return QualityRouter(self.models, self._vocab, self.coef, self._intercept, self._info, plans=plans,
                             task_classifier=self.task_classifier)

    def info(self) -> dict[str, Any]:
        """What the router was trained on, its models and features, when, and its cross-validated metrics."""
        return {
            **self._info,
            "models": list(self.models),
            "features": {"hashed_ngrams": len(self._vocab), "dense": list(DENSE_NAMES)},
            "plans": None if self.plans is None else {
                task: [p.plan.describe() for p in points] for task, points in self.plans.frontiers.items()
            },
        }

    def to_dict(self) -> dict[str, Any]:
        coef = self.coef
        return {
            "format": FORMAT,
            "models": list(self.models),
            "vocabulary": self._vocab.to_dict(),
            "dense_names": list(DENSE_NAMES),
            "coef": pack_array(coef, "float16"),
            "intercept": pack_array(self._intercept, "float32"),
            "info": self._info,
            "plans": None if self.plans is None else self.plans.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "router file") -> QualityRouter:
        if data.get("format") != FORMAT or list(data.get("dense_names", [])) != list(DENSE_NAMES):
            raise ValidationError(
                f"{source} has format {data.get('format')!r}; this Podium reads {FORMAT!r}. "
                "Retrain it with `podium router train`",
                field="format",
                value=data.get("format"),
            )
        return cls(
            data["models"],
            HashedVocabulary.from_dict(data["vocabulary"]),
            unpack_array(data["coef"]).astype(np.float32).reshape(-1, len(data["models"])),
            unpack_array(data["intercept"]).astype(np.float32),
            data.get("info"),
            plans=PlanTable.from_dict(data["plans"]) if data.get("plans") else None,
        )

    def save(self, path: str | Path) -> None:
        """Write the router as gzip-compressed JSON (no pickle: safe to load from anywhere)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, separators=(",", ":"))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> QualityRouter:
        path = Path(path)
        try:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, EOFError, ValueError) as exc:
            raise ValidationError(
                f"cannot read router file {path}: {exc}; create one with `podium router train --out {path}`",
                field="path",
                value=str(path),
            ) from exc
        try:
            return cls.from_dict(data, source=str(path))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(
                f"router file {path} is damaged ({type(exc).__name__}: {exc}); retrain it with `podium router train`",
                field="path",
                value=str(path),
            ) from exc


def train_router(records: Sequence[EvalRecord], *, seed: int = 0, **opts: Any) -> QualityRouter:
    """Train a router on recorded outcomes (see ``router_training.train_router`` for the options)."""
    from podium.routing import router_training

    return router_training.train_router(records, seed=seed, **opts)


def shipped_router_path() -> Path:
    return Path(str(resources.files("podium") / "data" / SHIPPED_NAME))


def cached_router_path() -> Path:
    return podium_home() / "router" / SHIPPED_NAME


@lru_cache(maxsize=1)
def default_router() -> QualityRouter:
    """The router `podium router train` wrote under $PODIUM_HOME, else the shipped one. Never trains: a first
    call must not spend seconds fitting models."""
    cached = cached_router_path()
    if cached.is_file():
        try:
            return QualityRouter.load(cached)
        except ValidationError as exc:
            log.warning("ignoring router file: %s", exc)
    return QualityRouter.load(shipped_router_path())


# -- decision rules (pure) ---------------------------------------------------------------------------------


def _as_float(cost: Decimal | float | None) -> float:
    return float("inf") if cost is None else float(cost)


def choose_cheapest(probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], threshold: float) -> str:
    """The cheapest model whose P(good) >= threshold; if none reaches it, the most likely good model."""
    candidates = [m for m in probs if m in costs]
    if not candidates:
        raise NoCandidateError("no model has both a predicted quality and a known cost", models=sorted(probs))
    passing = [m for m in candidates if probs[m] >= threshold]
    if passing:
        return min(passing, key=lambda m: (_as_float(costs[m]), -probs[m], m))
    return max(candidates, key=lambda m: (probs[m], -_as_float(costs[m]), m))


def choose_by_utility(
    probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], cost_weight: float
) -> str:
    """argmax P(good) - cost_weight * cost (cost in USD per call): one knob trading quality for money."""
    candidates = [m for m in probs if m in costs and costs[m] is not None]
    if not candidates:
        raise NoCandidateError("no model has both a predicted quality and a known cost", models=sorted(probs))
    return max(candidates, key=lambda m: (probs[m] - cost_weight * _as_float(costs[m]), -_as_float(costs[m]), m))


def choose(probs: Mapping[str, float], costs: Mapping[str, Decimal | float | None], threshold: float) -> str:
    """The default rule: ``choose_cheapest``."""
    return choose_cheapest(probs, costs, threshold)
