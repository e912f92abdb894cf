"""Recorded evaluation data for training and measuring routers: loading, fixed splits and k-fold by prompt."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from podium.core.errors import ValidationError
from podium.providers.recorded_data import (
    RECORDED_MODEL_IDS,
    EvalRecord,
    ModelLookup,
    Outcome,
    bundled_outcome_records,
    bundled_paths,
    bundled_records,
    eval_names,
    normalize_prompt,
    read_recorded,
)

__all__ = [
    "RECORDED_MODEL_IDS",
    "EvalRecord",
    "Outcome",
    "bundled_datasets",
    "eval_names",
    "kfold",
    "load_bundled",
    "load_dataset",
    "normalize_prompt",
    "split_records",
]


def load_dataset(path: str | Path, *, catalog: ModelLookup | None = None) -> list[EvalRecord]:
    """Load a RouterBench or RouteLLM file (.csv or .csv.gz); the format is detected from the header."""
    return read_recorded(path, catalog=catalog)


def bundled_datasets() -> list[Path]:
    """The four recorded datasets shipped with Podium (ARC-Challenge, MBPP, Winogrande, GSM8K)."""
    return bundled_paths()


def load_bundled(*, include_gsm8k: bool = True, include_mmlu: bool = False) -> list[EvalRecord]:
    """Every bundled record with answers; GSM8K (two models only) can be left out, and MMLU (correctness of two
    models, no answers) added."""
    extra = bundled_outcome_records() if include_mmlu else ()
    return list(_bundled(include_gsm8k)) + list(extra)


def _bundled(include_gsm8k: bool) -> tuple[EvalRecord, ...]:
    records = bundled_records()
    return records if include_gsm8k else tuple(r for r in records if r.eval_name != "gsm8k")


def _prompt_rank(prompt_key: str, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{prompt_key}".encode(), digest_size=16).digest()


def _groups_by_eval(records: Sequence[EvalRecord], seed: int) -> list[list[str]]:
    """Distinct normalized prompts per eval, each list in hashed order; a prompt belongs to its first eval."""
    seen: dict[str, str] = {}
    for r in records:
        seen.setdefault(normalize_prompt(r.prompt), r.eval_name)
    groups: dict[str, list[str]] = {}
    for key, name in seen.items():
        groups.setdefault(name, []).append(key)
    return [sorted(keys, key=lambda k: _prompt_rank(k, seed)) for _, keys in sorted(groups.items())]


def split_records(
    records: Sequence[EvalRecord], *, test_fraction: float = 0.3, seed: int = 0
) -> tuple[list[EvalRecord], list[EvalRecord]]:
    """Split into (train, test) by hashed prompt, per eval: deterministic, and no prompt lands in both."""
    if not 0.0 < test_fraction < 1.0:
        raise ValidationError(
            f"test_fraction {test_fraction} is out of range; use a number between 0 and 1 (exclusive)",
            field="test_fraction",
            value=test_fraction,
        )
    test_keys: set[str] = set()
    for keys in _groups_by_eval(records, seed):
        test_keys.update(keys[: round(len(keys) * test_fraction)])
    train = [r for r in records if normalize_prompt(r.prompt) not in test_keys]
    test = [r for r in records if normalize_prompt(r.prompt) in test_keys]
    return train, test


def kfold(
    records: Sequence[EvalRecord], k: int = 5, seed: int = 0
) -> Iterator[tuple[list[EvalRecord], list[EvalRecord]]]:
    """Yield k (train, test) pairs; folds are by prompt and balanced per eval."""
    if k < 2:
        raise ValidationError(f"k {k} is not valid; use at least 2 folds", field="k", value=k)
    fold_of: dict[str, int] = {}
    for keys in _groups_by_eval(records, seed):
        for i, key in enumerate(keys):
            fold_of[key] = i % k
    folds = [fold_of[normalize_prompt(r.prompt)] for r in records]
    for f in range(k):
        train = [r for r, g in zip(records, folds, strict=True) if g != f]
        test = [r for r, g in zip(records, folds, strict=True) if g == f]
        yield train, test
