"""A small learned task-type classifier, trained on the eval labels of the bundled recorded data.

It knows only the task types the data labels (code, math, reasoning, knowledge_qa); task analysis combines it
with rules and trusts it in proportion to how familiar a prompt's n-grams are.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from podium.core.errors import ValidationError
from podium.providers.recorded_data import EvalRecord, bundled_records
from podium.routing.features import HashedVocabulary, hashed_counts, pack_array, unpack_array

# Benchmark name -> task type. Unlisted evals are not used to train the classifier.
EVAL_TASK_TYPES: dict[str, str] = {
    "mbpp": "code",
    "humaneval": "code",
    "arc-challenge": "knowledge_qa",
    "mmlu": "knowledge_qa",
    "winogrande": "reasoning",
    "hellaswag": "reasoning",
    "gsm8k": "math",
    "math": "math",
}

ARTIFACT_NAME = "task_classifier.json.gz"
FORMAT = "podium-task-classifier/2"


@dataclass(frozen=True, slots=True)
class TaskClassifier:
    """Multinomial logistic regression over hashed n-grams."""

    labels: tuple[str, ...]
    vocabulary: HashedVocabulary
    coef: np.ndarray  # (len(vocabulary), len(labels)) float32
    intercept: np.ndarray  # (len(labels),)

    def scores(self, counts: dict[int, float]) -> tuple[dict[str, float], float]:
        """(label -> probability, share of the prompt's n-grams seen in training)."""
        cols, vals = self.vocabulary.columns(counts)
        logits = vals @ self.coef[cols] + self.intercept
        logits = logits - logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return dict(zip(self.labels, p.tolist(), strict=True)), self.vocabulary.known_fraction(counts)

    @classmethod
    def rules_only(cls) -> TaskClassifier:
        """A classifier that knows no n-gram: task analysis then trusts it not at all and uses its rules."""
        empty = HashedVocabulary(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        return cls(("chat",), empty, np.zeros((0, 1), dtype=np.float32), np.zeros(1, dtype=np.float32))

    def predict(self, prompt: str) -> dict[str, float]:
        return self.scores(hashed_counts(prompt))[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "labels": list(self.labels),
            "vocabulary": self.vocabulary.to_dict(),
            "coef": pack_array(self.coef, "float16"),
            "intercept": pack_array(self.intercept, "float32"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskClassifier:
        if data.get("format") != FORMAT:
            raise ValidationError(
                f"task classifier format {data.get('format')!r} is not supported; expected {FORMAT!r}",
                field="format",
                value=data.get("format"),
            )
        return cls(
            tuple(data["labels"]),
            HashedVocabulary.from_dict(data["vocabulary"]),
            unpack_array(data["coef"]).astype(np.float32),
            unpack_array(data["intercept"]).astype(np.float32),
        )

    def save(self, path: str | Path) -> None:
        with gzip.open(Path(path), "wt", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> TaskClassifier:
        return cls.from_dict(json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8")))


def train_task_classifier(records: Sequence[EvalRecord], *, seed: int = 0, min_df: int = 3) -> TaskClassifier:
    """Fit the classifier on records whose eval has a known task type."""
    from sklearn.linear_model import LogisticRegression

    labelled = [(r.prompt, EVAL_TASK_TYPES[r.eval_name]) for r in records if r.eval_name in EVAL_TASK_TYPES]
    labels = tuple(sorted({t for _, t in labelled}))
    if len(labels) < 2:
        raise ValidationError(
            "the task classifier needs records from at least two labelled evals "
            f"({', '.join(sorted(EVAL_TASK_TYPES))})",
            field="records",
        )
    counts = [hashed_counts(p) for p, _ in labelled]
    vocab = HashedVocabulary.fit(counts, min_df=min_df)
    y = np.asarray([labels.index(t) for _, t in labelled])
    clf = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    clf.fit(vocab.matrix(counts), y)
    coef, intercept = clf.coef_.T, clf.intercept_
    if len(labels) == 2:  # a binary fit has one column: as softmax logits it is [0, w] for (labels[0], labels[1])
        coef, intercept = np.hstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
    return TaskClassifier(labels, vocab, coef.astype(np.float32), intercept.astype(np.float32))


def shipped_path() -> Path:
    return Path(str(resources.files("podium") / "data" / ARTIFACT_NAME))


@lru_cache(maxsize=1)
def default_task_classifier() -> TaskClassifier:
    """The shipped classifier; trained from the bundled data when the shipped file is missing."""
    path = shipped_path()
    if path.is_file():
        return TaskClassifier.load(path)
    return train_task_classifier(bundled_records())
