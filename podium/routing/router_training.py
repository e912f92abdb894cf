"""Training and cross-validating the quality router (scikit-learn is imported here, never at predict time)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.core.errors import ValidationError
from podium.providers.recorded_data import EvalRecord, eval_names
from podium.routing.arena_priors import is_free_form
from podium.routing.datasets import kfold
from podium.routing.decision_rules import choose_by_utility, choose_cheapest
from podium.routing.features import HashedVocabulary, hashed_counts
from podium.routing.learned_router import QualityRouter
from podium.routing.plans import PlanTable
from podium.routing.router_features import (
    CATEGORY_KEYS,
    CATEGORY_OF_TASK,
    DENSE_NAMES,
    OFFSET_SCALE,
    SLOPE_NAMES,
    profile_features,
    profile_scores,
    slope_features,
)
from podium.routing.task_analysis import analyze

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from podium.core.model_spec import ModelSpec
    from podium.routing.task_classifier import TaskClassifier

# progress(stage, done, total): lets the CLI draw a progress bar without this module knowing about rich.
Progress = Callable[[str, int, int], None]
DEFAULT_C = 0.1
DEFAULT_MIN_DF = 5
TASK_CLASSIFIER_MIN_DF = 10
CURVE_THRESHOLDS: tuple[float, ...] = (0.6, 0.7, 0.75, 0.8, 0.9)
CURVE_COST_WEIGHTS: tuple[float, ...] = (10.0, 20.0, 25.0, 35.0, 50.0)  # per USD of expected call cost


def _model_ids(records: Sequence[EvalRecord], rated: Mapping[str, np.ndarray] | None = None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for r in records:
        for m in r.outcomes:
            seen.setdefault(m, None)
    return tuple(sorted(m for m in seen if rated is None or m in rated))


def catalog_scores(catalog: Iterable[ModelSpec] | None = None) -> dict[str, np.ndarray]:
    """Every profiled model's scaled figures (the bundled catalog unless one is given)."""
    if catalog is None:
        from podium.catalog import Catalog

        catalog = Catalog.bundled()
    return {s.id: profile_scores(s.quality) for s in catalog if s.quality is not None}


@dataclass(frozen=True, slots=True)
class _Featurized:
    """Each record's hashed n-gram counts, dense and slope features and category, computed once for every fold."""

    records: list[EvalRecord]
    counts: list[dict[int, float]]
    dense: np.ndarray
    slope: np.ndarray
    categories: list[int]
    task_types: list[str]
    classifier: TaskClassifier | None = None
    free_form: np.ndarray | None = None

    @classmethod
    def of(cls, records: Sequence[EvalRecord], classifier: TaskClassifier | None = None) -> _Featurized:
        counts = [hashed_counts(r.prompt) for r in records]
        profiles = [analyze(r.prompt, counts=c, classifier=classifier) for r, c in zip(records, counts, strict=True)]
        dense = [profile_features(p, len(r.prompt)) for r, p in zip(records, profiles, strict=True)]
        slope = [slope_features(p, len(r.prompt)) for r, p in zip(records, profiles, strict=True)]
        empty = np.zeros((0, len(DENSE_NAMES)))
        return cls(list(records), counts, np.vstack(dense) if dense else empty,
                   np.vstack(slope) if slope else np.zeros((0, len(SLOPE_NAMES))),
                   [CATEGORY_KEYS.index(CATEGORY_OF_TASK[p.task_type]) for p in profiles],
                   [p.task_type for p in profiles], classifier,
                   np.asarray([is_free_form(r.prompt) for r in records], dtype=bool))

    def subset(self, rows: Sequence[int]) -> _Featurized:
        rows = list(rows)
        return _Featurized([self.records[i] for i in rows], [self.counts[i] for i in rows], self.dense[rows],
                           self.slope[rows], [self.categories[i] for i in rows], [self.task_types[i] for i in rows],
                           self.classifier, None if self.free_form is None else self.free_form[rows])

    def plan_table(self) -> PlanTable:
        """Cascade plans fitted on these records, keyed by the task types computed here. Only records with
        recorded answers count: a plan's gates judge answers, and outcome-only records (MMLU) have none."""
        from podium.routing.plan_fitting import fit_plan_table

        answered = [r for r in self.records if any(o.response for o in r.outcomes.values())]
        task_of = {r.prompt: t for r, t in zip(self.records, self.task_types, strict=True)}
        return fit_plan_table(answered, task_of.__getitem__)

    def prompt_matrix(self, vocab: HashedVocabulary) -> csr_matrix:
        from scipy.sparse import csr_matrix, hstack

        return hstack([vocab.matrix(self.counts), csr_matrix(self.dense)]).tocsr()

    def pairs(self, models: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(record row, model column, label) for every recorded outcome of ``models``."""
        col = {m: j for j, m in enumerate(models)}
        rows, cols, ys = [], [], []
        for i, r in enumerate(self.records):
            for m, outcome in r.outcomes.items():
                if m in col:
                    rows.append(i)
                    cols.append(col[m])
                    ys.append(outcome.correct >= 0.5)
        return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64), np.asarray(ys, dtype=int)

    def design(self, prompt_x: csr_matrix, models: Sequence[str], scores: Mapping[str, np.ndarray],
               rows: np.ndarray, cols: np.ndarray) -> csr_matrix:
        """One row per (prompt, model) pair: prompt features, profile x slope features, per-model offset one-hot."""
        from scipy.sparse import csr_matrix, hstack

        cats = np.asarray(self.categories)[rows]
        s = np.asarray([scores[models[j]][k] for j, k in zip(cols, cats, strict=True)])
        slope = self.slope[rows] * s[:, None]
        n_cat = len(CATEGORY_KEYS) - 1
        offset_col = cols * n_cat + (cats - 1)
        offsets = csr_matrix((np.full(len(rows), OFFSET_SCALE), (np.arange(len(rows)), offset_col)),
                             shape=(len(rows), len(models) * n_cat))
        return hstack([prompt_x[rows], csr_matrix(slope), offsets]).tocsr()


def _weights(records: Sequence[EvalRecord], rows: np.ndarray) -> np.ndarray:
    """Each benchmark weighs the same in total, so a large one (MMLU) does not drown the others."""
    names = [records[i].eval_name for i in rows]
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    total = len(names) / max(1, len(counts))
    return np.asarray([total / counts[n] for n in names], dtype=np.float64)


def _fit(
    data: _Featurized,
    *,
    seed: int,
    c: float,
    min_df: int,
    progress: Progress | None,
    stage: str,
    scores: Mapping[str, np.ndarray] | None = None,
) -> QualityRouter:
    from sklearn.linear_model import LogisticRegression

    if not data.records:
        raise ValidationError("cannot train a router on no records; give at least one dataset", field="records")
    scores = dict(scores if scores is not None else catalog_scores())
    models = _model_ids(data.records, scores)
    if not models:
        unknown = ", ".join(_model_ids(data.records)[:5])
        raise ValidationError(
            f"no model in the training data has a quality profile ({unknown}); add profiles with "
            "`podium models import --profiles FILE` or a `quality:` entry under `models:` in podium.yaml",
            field="models",
        )
    vocab = HashedVocabulary.fit(data.counts, min_df=min_df)
    rows, cols, y = data.pairs(models)
    if progress:
        progress(stage, 0, 1)
    X = data.design(data.prompt_matrix(vocab), models, scores, rows, cols)
    n_prompt = len(vocab) + len(DENSE_NAMES)
    n_cat = len(CATEGORY_KEYS) - 1
    if len(set(y.tolist())) < 2:
        rate = (y.sum() + 1) / (len(y) + 2)
        coef = np.zeros(X.shape[1])
        intercept = float(np.log(rate / (1 - rate)))
    else:
        clf = LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=3000, random_state=seed)
        clf.fit(X, y, sample_weight=_weights(data.records, rows))
        coef, intercept = clf.coef_[0], float(clf.intercept_[0])
    if progress:
        progress(stage, 1, 1)
    offsets = {m: coef[n_prompt + len(SLOPE_NAMES) + j * n_cat: n_prompt + len(SLOPE_NAMES) + (j + 1) * n_cat]
               for j, m in enumerate(models)}
    return QualityRouter(models, vocab, coef[:n_prompt], coef[n_prompt:n_prompt + len(SLOPE_NAMES)], offsets,
                         intercept, scores, task_classifier=data.classifier)


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
        probs[rows] = predict_featurized(router, data.subset(rows), models)
        if progress:
            progress("cross-validation", fold + 1, k)
    return probs


def predict_featurized(router: QualityRouter, data: _Featurized, models: Sequence[str]) -> np.ndarray:
    """P(good) for every record x model from features already computed (NaN where the router cannot rate)."""
    out = np.full((len(data.records), len(models)), np.nan)
    rated = router.predictable(models)
    if rated and data.records:
        logits = router.logits_matrix(data.prompt_matrix(router.vocabulary), data.slope,
                                      np.asarray(data.categories), rated, data.free_form)
        for j, m in enumerate(rated):
            out[:, models.index(m)] = 1.0 / (1.0 + np.exp(-logits[:, j]))
    return out


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
    from podium.providers.recorded_data import BUNDLED_FILES, OUTCOME_FILES, bundled_outcome_records, bundled_records
    from podium.routing.learned_router import shipped_router_path
    from podium.routing.task_classifier import default_task_classifier, shipped_path, train_task_classifier

    records = list(bundled_records())
    train_task_classifier(records, min_df=TASK_CLASSIFIER_MIN_DF).save(shipped_path())
    default_task_classifier.cache_clear()  # the router's features use the classifier just written
    names = [n.split(".")[0] for n in (*BUNDLED_FILES, *OUTCOME_FILES)]
    records += bundled_outcome_records()
    train_router(records, cv_folds=5, datasets=names).save(shipped_router_path())


if __name__ == "__main__":
    build_shipped_artifacts()
