"""Training and cross-validating the quality router (scikit-learn is imported here, never at predict time)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.core.errors import ValidationError
from podium.providers.recorded_data import EvalRecord, eval_names
from podium.routing.datasets import kfold
from podium.routing.features import HashedVocabulary, hashed_counts
from podium.routing.learned_router import (
    DENSE_NAMES,
    QualityRouter,
    choose_by_utility,
    choose_cheapest,
    profile_features,
)
from podium.routing.plans import PlanTable
from podium.routing.task_analysis import analyze

if TYPE_CHECKING:
    from podium.routing.task_classifier import TaskClassifier

# progress(stage, done, total): lets the CLI draw a progress bar without this module knowing about rich.
Progress = Callable[[str, int, int], None]
DEFAULT_C = 0.3
DEFAULT_MIN_DF = 5
TASK_CLASSIFIER_MIN_DF = 10
CURVE_THRESHOLDS: tuple[float, ...] = (0.6, 0.7, 0.75, 0.8, 0.9)
CURVE_COST_WEIGHTS: tuple[float, ...] = (10.0, 20.0, 25.0, 35.0, 50.0)  # per USD of expected call cost


def _model_ids(records: Sequence[EvalRecord]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for r in records:
        for m in r.outcomes:
            seen.setdefault(m, None)
    return tuple(sorted(seen))


@dataclass(frozen=True, slots=True)
class _Featurized:
    """Each record's hashed n-gram counts and dense features, computed once and reused by every fold."""

    records: list[EvalRecord]
    counts: list[dict[int, float]]
    dense: np.ndarray
    task_types: list[str]
    classifier: TaskClassifier | None = None

    @classmethod
    def of(cls, records: Sequence[EvalRecord], classifier: TaskClassifier | None = None) -> _Featurized:
        counts = [hashed_counts(r.prompt) for r in records]
        profiles = [analyze(r.prompt, counts=c, classifier=classifier) for r, c in zip(records, counts, strict=True)]
        dense = [profile_features(p, len(r.prompt)) for r, p in zip(records, profiles, strict=True)]
        return cls(list(records), counts, np.vstack(dense) if dense else np.zeros((0, len(DENSE_NAMES))),
                   [p.task_type for p in profiles], classifier)

    def subset(self, rows: Sequence[int]) -> _Featurized:
        return _Featurized([self.records[i] for i in rows], [self.counts[i] for i in rows], self.dense[list(rows)],
                           [self.task_types[i] for i in rows], self.classifier)

    def plan_table(self) -> PlanTable:
        """Cascade plans fitted on these records, keyed by the task types computed here."""
        from podium.routing.plan_fitting import fit_plan_table

        task_of = {r.prompt: t for r, t in zip(self.records, self.task_types, strict=True)}
        return fit_plan_table(self.records, task_of.__getitem__)

    def matrix(self, vocab: HashedVocabulary) -> Any:
        from scipy.sparse import csr_matrix, hstack

        return hstack([vocab.matrix(self.counts), csr_matrix(self.dense)]).tocsr()


def _fit_columns(
    X: Any,
    records: Sequence[EvalRecord],
    models: Sequence[str],
    c: float,
    seed: int,
    progress: Progress | None,
    stage: str,
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    coef = np.zeros((X.shape[1], len(models)), dtype=np.float32)
    intercept = np.zeros(len(models), dtype=np.float32)
    for j, model in enumerate(models):
        rows = [i for i, r in enumerate(records) if model in r.outcomes]
        y = np.asarray([records[i].outcomes[model].correct >= 0.5 for i in rows], dtype=int)
        if len(set(y.tolist())) < 2:
            # One class only: predict the observed rate (smoothed), no per-prompt signal to learn.
            rate = (y.sum() + 1) / (len(y) + 2)
            intercept[j] = float(np.log(rate / (1 - rate)))
        else:
            # The dual solver is ~10x faster here: far more hashed features than prompts.
            clf = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=2000, random_state=seed)
            clf.fit(X[rows], y)
            coef[:, j] = clf.coef_[0]
            intercept[j] = clf.intercept_[0]
        if progress:
            progress(stage, j + 1, len(models))
    return coef, intercept


def _fit(
    data: _Featurized, *, seed: int, c: float, min_df: int, progress: Progress | None, stage: str
) -> QualityRouter:
    if not data.records:
        raise ValidationError("cannot train a router on no records; give at least one dataset", field="records")
    models = _model_ids(data.records)
    vocab = HashedVocabulary.fit(data.counts, min_df=min_df)
    coef, intercept = _fit_columns(data.matrix(vocab), data.records, models, c, seed, progress, stage)
    return QualityRouter(models, vocab, coef, intercept, task_classifier=data.classifier)


def fit_router(
    records: Sequence[EvalRecord],
    *,
    seed: int = 0,
    c: float = DEFAULT_C,
    min_df: int = DEFAULT_MIN_DF,
    progress: Progress | None = None,
    task_classifier: TaskClassifier | None = None,
    plans: bool = True,
) -> QualityRouter:
    """Fit one router on ``records`` without cross-validation (with cascade plans unless ``plans=False``).

    ``task_classifier`` replaces the shipped one for task-type features and plan keys: evaluation passes one
    trained on its training split, so nothing fitted has seen the evaluated prompts.
    """
    data = _Featurized.of(records, task_classifier)
    router = _fit(data, seed=seed, c=c, min_df=min_df, progress=progress, stage="fit")
    return router.with_plans(data.plan_table()) if plans else router


def train_router(
    records: Sequence[EvalRecord],
    *,
    seed: int = 0,
    c: float = DEFAULT_C,
    min_df: int = DEFAULT_MIN_DF,
    cv_folds: int = 0,
    progress: Progress | None = None,
    datasets: Sequence[str] = (),
    task_classifier: TaskClassifier | None = None,
) -> QualityRouter:
    """Train on all records (router and cascade plans); with ``cv_folds`` >= 2, first cross-validate by prompt
    and keep the metrics."""
    started = time.perf_counter()
    data = _Featurized.of(records, task_classifier)
    cv = None
    if cv_folds >= 2:
        probs = _cv_probabilities(data, k=cv_folds, seed=seed, c=c, min_df=min_df, progress=progress)
        cv = cv_metrics(records, _model_ids(records), probs, folds=cv_folds)
    router = _fit(data, seed=seed, c=c, min_df=min_df, progress=progress, stage="final fit")
    router = router.with_plans(data.plan_table())
    info = {
        "trained_on": {"datasets": list(datasets), "evals": dict(eval_names(records)), "records": len(records)},
        "data_fingerprint": fingerprint(records),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {"seed": seed, "c": c, "min_df": min_df, "cv_folds": cv_folds},
        "training_seconds": round(time.perf_counter() - started, 2),
        "cv": cv,
    }
    return router.with_info(info)


def fingerprint(records: Sequence[EvalRecord]) -> str:
    """A short hash of the training prompts and outcomes, to tell whether a cached router is stale."""
    h = hashlib.blake2b(digest_size=8)
    for r in records:
        h.update(r.prompt.encode())
        for m in sorted(r.outcomes):
            h.update(f"{m}={r.outcomes[m].correct}".encode())
    return h.hexdigest()


def _cv_probabilities(
    data: _Featurized, *, k: int, seed: int, c: float, min_df: int, progress: Progress | None
) -> np.ndarray:
    records = data.records
    models = _model_ids(records)
    index = {id(r): i for i, r in enumerate(records)}
    probs = np.full((len(records), len(models)), np.nan)
    for fold, (train, test) in enumerate(kfold(records, k=k, seed=seed)):
        router = _fit(
            data.subset([index[id(r)] for r in train]), seed=seed, c=c, min_df=min_df, progress=None, stage="fold"
        )
        rows = [index[id(r)] for r in test]
        logits = data.subset(rows).matrix(router.vocabulary) @ router.coef + router.intercept
        pred = 1.0 / (1.0 + np.exp(-np.asarray(logits)))
        for j, m in enumerate(models):
            if m in router.models:
                probs[rows, j] = pred[:, router.models.index(m)]
        if progress:
            progress("cross-validation", fold + 1, k)
    return probs


def cross_validate(
    records: Sequence[EvalRecord],
    *,
    k: int = 5,
    seed: int = 0,
    c: float = DEFAULT_C,
    min_df: int = DEFAULT_MIN_DF,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """k-fold by prompt: out-of-fold P(good) (records x models, sorted model ids) and the metrics over them."""
    probs = _cv_probabilities(_Featurized.of(records, None), k=k, seed=seed, c=c, min_df=min_df, progress=progress)
    return probs, cv_metrics(records, _model_ids(records), probs, folds=k)


def cv_metrics(
    records: Sequence[EvalRecord], models: Sequence[str], probs: np.ndarray, *, folds: int
) -> dict[str, Any]:
    """Per-model AUC/Brier and the routing curve of out-of-fold predictions."""
    return {
        "folds": folds,
        "per_model": per_model_metrics(records, models, probs),
        "routing": routing_curve(records, models, probs),
    }


def per_model_metrics(records: Sequence[EvalRecord], models: Sequence[str], probs: np.ndarray) -> dict[str, Any]:
    """AUC (None when one class only) and Brier score per model, over the records it has outcomes for."""
    from sklearn.metrics import roc_auc_score

    out: dict[str, Any] = {}
    for j, m in enumerate(models):
        rows = [i for i, r in enumerate(records) if m in r.outcomes and not np.isnan(probs[i, j])]
        y = np.asarray([records[i].outcomes[m].correct >= 0.5 for i in rows], dtype=float)
        p = probs[rows, j]
        auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
        out[m] = {"n": len(rows), "auc": auc, "brier": float(np.mean((p - y) ** 2)) if rows else None}
    return out


def routing_curve(
    records: Sequence[EvalRecord],
    models: Sequence[str],
    probs: np.ndarray,
    thresholds: Sequence[float] = CURVE_THRESHOLDS,
    cost_weights: Sequence[float] = CURVE_COST_WEIGHTS,
) -> dict[str, Any]:
    """Quality and cost of routing on ``probs``, relative to the strongest single model, with the oracle.

    Two rules: "cheapest model with P >= t" and "argmax P - w * cost". Only records where every model has an
    outcome are used, so every row compares the same prompts.
    """
    rows = [i for i, r in enumerate(records) if all(m in r.outcomes for m in models)]
    if not rows:
        return {"prompts": 0}
    correct = np.asarray([[records[i].outcomes[m].correct for m in models] for i in rows])
    cost = np.asarray([[float(records[i].outcomes[m].cost_usd) for m in models] for i in rows])
    mean_cost = dict(zip(models, cost.mean(axis=0).tolist(), strict=True))
    strongest = int(np.argmax(correct.mean(axis=0)))
    base_q, base_c = correct[:, strongest].mean(), cost[:, strongest].mean()
    oracle_c = np.where(correct > 0, cost, np.inf).min(axis=1)
    oracle_c = np.where(np.isfinite(oracle_c), oracle_c, cost.min(axis=1))

    def point(rule: str, chooser: Callable[[dict[str, float]], str]) -> dict[str, Any]:
        picks = [models.index(chooser(dict(zip(models, probs[i], strict=True)))) for i in rows]
        q = correct[np.arange(len(rows)), picks].mean()
        c = cost[np.arange(len(rows)), picks].mean()
        return {"rule": rule, "quality": float(q / base_q), "cost": float(c / base_c)}

    points = [point(f"P>={t:g}", lambda p, t=t: choose_cheapest(p, mean_cost, t)) for t in thresholds]
    points += [point(f"P-{w:g}*cost", lambda p, w=w: choose_by_utility(p, mean_cost, w)) for w in cost_weights]
    return {
        "prompts": len(rows),
        "strongest": models[strongest],
        "strongest_accuracy": float(base_q),
        "strongest_cost_usd": float(base_c),
        "oracle": {"quality": float(correct.max(axis=1).mean() / base_q), "cost": float(oracle_c.mean() / base_c)},
        "points": points,
    }


def build_shipped_artifacts() -> None:
    """Retrain the task classifier and default router shipped in podium/data (run before a release)."""
    from podium.providers.recorded_data import BUNDLED_FILES, bundled_records
    from podium.routing.learned_router import shipped_router_path
    from podium.routing.task_classifier import default_task_classifier, shipped_path, train_task_classifier

    records = list(bundled_records())
    train_task_classifier(records, min_df=TASK_CLASSIFIER_MIN_DF).save(shipped_path())
    default_task_classifier.cache_clear()  # the router's features use the classifier just written
    names = [n.split(".")[0] for n in BUNDLED_FILES]
    train_router(records, cv_folds=5, datasets=names).save(shipped_router_path())


if __name__ == "__main__":
    build_shipped_artifacts()
