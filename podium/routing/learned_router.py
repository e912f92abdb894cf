"""The learned quality router: P(good answer | prompt, model) for any model with a quality profile, and pure
decision rules over it.

Prediction needs only numpy: hashed n-grams (``features``) and task-profile features rate the prompt, and the
model's catalog quality profile rates the model, so models without recorded outcomes (every current model) are
rated too. Training (``router_training``) uses scikit-learn.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.catalog.store import podium_home
from podium.core.errors import ValidationError
from podium.core.model_spec import PROFILE_KEYS
from podium.routing.arena_priors import (
    EXPERT_ELO,
    EXPERT_PRIOR_WEIGHT,
    is_free_form,
    judged_logits,
    with_prior,
)
from podium.routing.decision_rules import choose, choose_by_utility, choose_cheapest
from podium.routing.features import HashedVocabulary, hashed_counts, pack_array, unpack_array
from podium.routing.plans import PlanTable
from podium.routing.router_features import (
    _EXPERT_COLUMN,
    CATEGORY_KEYS,
    CATEGORY_OF_TASK,
    DENSE_NAMES,
    OFFSET_SCALE,
    SLOPE_NAMES,
    profile_features,
    profile_scores,
    slope_features,
    slope_separability,
)
from podium.routing.task_analysis import analyze

if TYPE_CHECKING:
    from scipy.sparse import spmatrix

    from podium.core.model_spec import ModelSpec, QualityProfile
    from podium.routing.task_classifier import TaskClassifier

log = logging.getLogger(__name__)

FORMAT = "podium-quality-router/3"
SHIPPED_NAME = "router_default.json.gz"
@dataclass(frozen=True, slots=True)
class PromptFeatures:
    """One prompt's features: hashed n-gram columns and values, dense task features, slope features, category."""

    cols: np.ndarray
    vals: np.ndarray
    dense: np.ndarray
    slope: np.ndarray
    category: str
    task_type: str
    free_form: bool = False


class QualityRouter:
    """Predicts P(good answer | prompt, model) for any model with a quality profile.

    ``logit = w·prompt + s_m(c) * (v·slope(prompt)) + offset[m, c] + b``: the prompt's features say how hard it
    is and how much a stronger model helps on it; ``s_m(c)`` is the model's profile figure for the prompt's task
    category (``CATEGORY_OF_TASK``); ``offset`` is a damped per-model correction, learned only for models with
    recorded outcomes (``models``), zero for every other. A model without a profile gets no prediction.
    It may carry the cascade plans fitted on the same data (``plans``) and a task classifier of its own.
    """

    def __init__(
        self,
        models: Sequence[str],
        vocabulary: HashedVocabulary,
        prompt_coef: np.ndarray,
        slope_coef: np.ndarray,
        offsets: Mapping[str, Sequence[float]],
        intercept: float,
        scores: Mapping[str, np.ndarray],
        info: Mapping[str, Any] | None = None,
        *,
        plans: PlanTable | None = None,
        task_classifier: TaskClassifier | None = None,
    ) -> None:
        self.models: tuple[str, ...] = tuple(models)
        n_cols = len(vocabulary) + len(DENSE_NAMES)
        if prompt_coef.shape != (n_cols,) or slope_coef.shape != (len(SLOPE_NAMES),):
            raise ValidationError(
                f"router weights have shape {prompt_coef.shape}/{slope_coef.shape}; expected ({n_cols},)/"
                f"({len(SLOPE_NAMES)},)",
                field="coef",
            )
        self._vocab = vocabulary
        self._coef_sparse = np.ascontiguousarray(prompt_coef[: len(vocabulary)], dtype=np.float64)
        self._coef_dense = np.ascontiguousarray(prompt_coef[len(vocabulary):], dtype=np.float64)
        self._slope = np.asarray(slope_coef, dtype=np.float64)
        self._offsets = {m: np.asarray(v, dtype=np.float64) for m, v in offsets.items()}
        self._intercept = float(intercept)
        self._scores = {m: np.asarray(v, dtype=np.float64) for m, v in scores.items()}
        # One row per rated model, so a decision over many candidates is a few vector operations.
        self._row = {m: i for i, m in enumerate(self._scores)}
        self._score_matrix = np.vstack(list(self._scores.values())) if self._scores else np.zeros((0, len(PROFILE_KEYS)))
        self._offset_matrix = np.zeros((len(self._row), len(PROFILE_KEYS) - 1))
        for m, v in self._offsets.items():
            if m in self._row:
                self._offset_matrix[self._row[m]] = v
        self._info = dict(info or {})
        self.plans = plans
        self.task_classifier = task_classifier

    # -- prediction -------------------------------------------------------------------------------------------

    def features(self, prompt: str) -> PromptFeatures:
        counts = hashed_counts(prompt)
        cols, vals = self._vocab.columns(counts)
        profile = analyze(prompt, counts=counts, classifier=self.task_classifier)
        return PromptFeatures(cols, vals, profile_features(profile, len(prompt)),
                              slope_features(profile, len(prompt)), CATEGORY_OF_TASK[profile.task_type],
                              profile.task_type, is_free_form(prompt))

    def predictable(self, models: Sequence[str] | None = None) -> list[str]:
        """The models (of ``models``, default: those with recorded outcomes) this router can rate."""
        return [m for m in (self.models if models is None else models) if m in self._scores]

    def logits(self, f: PromptFeatures, models: Sequence[str]) -> np.ndarray:
        base = float(f.vals @ self._coef_sparse[f.cols]) + float(f.dense @ self._coef_dense) + self._intercept
        gain = float(f.slope @ self._slope)
        k = CATEGORY_KEYS.index(f.category)
        rows = [self._row[m] for m in models]
        scores = self._score_matrix[rows, k]
        out = base + scores * gain + OFFSET_SCALE * self._offset_matrix[rows, k - 1]
        if f.slope[_EXPERT_COLUMN]:
            out = with_prior(out, scores, EXPERT_ELO, EXPERT_PRIOR_WEIGHT)
        elif f.free_form:
            out = judged_logits(scores, float(slope_separability(f.slope)[0]))
        return out

    def logits_matrix(
        self, prompt_x: spmatrix | np.ndarray, slope: np.ndarray, categories: np.ndarray, models: Sequence[str],
        free_form: np.ndarray | None = None,
    ) -> np.ndarray:
        """Logits for many prompts at once (training and evaluation): ``prompt_x`` holds the hashed n-gram and
        dense columns (``vocabulary`` then ``DENSE_NAMES``), ``categories`` index ``CATEGORY_KEYS``, ``free_form``
        flags prompts without a closed answer."""
        base = np.asarray(prompt_x @ np.concatenate([self._coef_sparse, self._coef_dense])).ravel() + self._intercept
        gain = slope @ self._slope
        out = np.empty((len(base), len(models)), dtype=np.float64)
        scores = np.column_stack([self._scores[m][categories] for m in models])
        expert = slope[:, _EXPERT_COLUMN] > 0
        for j, m in enumerate(models):
            out[:, j] = base + scores[:, j] * gain
            offset = self._offsets.get(m)
            if offset is not None:
                out[:, j] += OFFSET_SCALE * offset[categories - 1]
            out[expert, j] = with_prior(out[expert, j], scores[expert, j], EXPERT_ELO, EXPERT_PRIOR_WEIGHT)
        if free_form is not None:
            judged = free_form & ~expert
            out[judged] = judged_logits(scores[judged], slope_separability(slope[judged]))
        return out

    def task_type(self, prompt: str) -> str:
        """The prompt's task type as this router's task analysis sees it (the key of its cascade plans)."""
        return analyze(prompt, classifier=self.task_classifier).task_type

    def predict_many(self, prompts: Sequence[str], models: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities, shape (len(prompts), len(models)); ``models`` default to ``self.models``, every one
        of which must have a profile."""
        models = self.models if models is None else tuple(models)
        out = np.empty((len(prompts), len(models)), dtype=np.float64)
        for i, prompt in enumerate(prompts):
            out[i] = self.logits(self.features(prompt), models)
        return 1.0 / (1.0 + np.exp(-out))

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        """P(good answer) for each model of ``models`` (default: ``self.models``) that has a quality profile."""
        wanted = self.predictable(models)
        if not wanted:
            return {}
        probs = 1.0 / (1.0 + np.exp(-self.logits(self.features(prompt), wanted)))
        return {m: float(p) for m, p in zip(wanted, probs, strict=True)}

    # -- profiles -----------------------------------------------------------------------------------------------

    def with_profiles(self, profiles: Mapping[str, QualityProfile | None]) -> QualityRouter:
        """The same router rating models by ``profiles`` (model id -> QualityProfile), e.g. the configured catalog's.

        Profiles replace the ones the router was trained with, so a user's override counts; a trained model whose
        profile is missing from ``profiles`` keeps its training-time figures.
        """
        scores = dict(self._scores)
        scores.update({m: profile_scores(p) for m, p in profiles.items() if p is not None})
        return self._copy(scores=scores)

    def with_catalog(self, catalog: Iterable[ModelSpec]) -> QualityRouter:
        """``with_profiles`` over every model of ``catalog`` that has a profile."""
        return self.with_profiles({s.id: s.quality for s in catalog if s.quality is not None})

    def _copy(self, **changes: object) -> QualityRouter:
        args: dict[str, Any] = {
            "models": self.models, "vocabulary": self._vocab,
            "prompt_coef": np.concatenate([self._coef_sparse, self._coef_dense]), "slope_coef": self._slope,
            "offsets": self._offsets, "intercept": self._intercept, "scores": self._scores, "info": self._info,
            "plans": self.plans, "task_classifier": self.task_classifier
        }
        args.update(changes)
        return QualityRouter(**args)

    @property
    def vocabulary(self) -> HashedVocabulary:
        return self._vocab

    def with_info(self, info: Mapping[str, Any]) -> QualityRouter:
        """The same router carrying ``info`` (training provenance and metrics)."""
        return self._copy(info=info)

    def with_plans(self, plans: PlanTable | None) -> QualityRouter:
        """The same router carrying cascade plans."""
        return self._copy(plans=plans)

    def info(self) -> dict[str, Any]:
        """What the router was trained on, its models and features, when, and its cross-validated metrics."""
        return {
            **self._info,
            "models": list(self.models),
            "rated_models": len(self._scores),
            "features": {"hashed_ngrams": len(self._vocab), "dense": list(DENSE_NAMES), "slope": list(SLOPE_NAMES)},
            "slope": {n: round(float(v), 4) for n, v in zip(SLOPE_NAMES, self._slope, strict=True)},
            "plans": None if self.plans is None else {
                task: [p.plan.describe() for p in points] for task, points in self.plans.frontiers.items()
            },
        }

    # -- files --------------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "models": list(self.models),
            "vocabulary": self._vocab.to_dict(),
            "dense_names": list(DENSE_NAMES),
            "slope_names": list(SLOPE_NAMES),
            "prompt_coef": pack_array(np.concatenate([self._coef_sparse, self._coef_dense]), "float32"),
            "slope_coef": [float(v) for v in self._slope],
            "offsets": {m: [float(x) for x in v] for m, v in self._offsets.items()},
            "intercept": self._intercept,
            # Only the trained models' figures: every other model is rated by the catalog it is loaded with.
            "scores": {m: [float(x) for x in self._scores[m]] for m in self.models if m in self._scores},
            "info": self._info,
            "plans": None if self.plans is None else self.plans.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "router file") -> QualityRouter:
        if (data.get("format") != FORMAT or list(data.get("dense_names", [])) != list(DENSE_NAMES)
                or list(data.get("slope_names", [])) != list(SLOPE_NAMES)):
            raise ValidationError(
                f"{source} has format {data.get('format')!r}; this Podium reads {FORMAT!r}. "
                "Retrain it with `podium router train`",
                field="format",
                value=data.get("format"),
            )
        return cls(
            data["models"],
            HashedVocabulary.from_dict(data["vocabulary"]),
            unpack_array(data["prompt_coef"]).astype(np.float64),
            np.asarray(data["slope_coef"], dtype=np.float64),
            data.get("offsets") or {},
            float(data["intercept"]),
            {m: np.asarray(v, dtype=np.float64) for m, v in (data.get("scores") or {}).items()},
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
            # One decompression of the whole file, then one parse: a third faster than reading a text stream.
            data = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
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


def shipped_router_path() -> Path:
    return Path(str(resources.files("podium") / "data" / SHIPPED_NAME))


def cached_router_path() -> Path:
    return podium_home() / "router" / SHIPPED_NAME


@lru_cache(maxsize=1)
def default_router() -> QualityRouter:
    """The router `podium router train` wrote under $PODIUM_HOME, else the shipped one. Never trains: a first
    call must not spend seconds fitting models."""
    from podium.catalog import Catalog
    from podium.routing.router_store import active_router_path, load_router_file

    active = active_router_path()  # the version `podium router use` chose; None: no registry, as before
    if active is not None:
        try:
            return load_router_file(active, lambda p: QualityRouter.load(p).with_catalog(Catalog.bundled()))
        except ValidationError as exc:
            log.warning("ignoring router version: %s", exc)
    cached = cached_router_path()
    if cached.is_file():
        try:
            return QualityRouter.load(cached).with_catalog(Catalog.bundled())
        except ValidationError as exc:
            log.warning("ignoring router file: %s", exc)
    return QualityRouter.load(shipped_router_path()).with_catalog(Catalog.bundled())

__all__ = ["QualityRouter", "choose", "choose_by_utility", "choose_cheapest", "default_router"]
