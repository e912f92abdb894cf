"""Prompt features for the learned models: hashed word and character n-grams, with no ML import at predict time.

Hashing (crc32) makes the feature space stateless and stable across processes and library versions, so a
trained model is just arrays: the active buckets, their idf weights and the coefficients.
"""

from __future__ import annotations

import base64
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

N_BUCKETS = 1 << 20  # per namespace; collisions are rare at this size and only active buckets are stored
_WORD_RE = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]", re.IGNORECASE)
_FOCUS_CHARS = 800
_HEAD_CHARS = 200  # the opening usually states the task ("Write a function ...", "Please answer ...")
_CHAR_FOCUS_CHARS = 400
_CHAR_NGRAMS = (3, 4, 5)

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix


def focus_text(prompt: str) -> str:
    """The part of a prompt that carries the question: after few-shot examples, the last block."""
    text = prompt.strip()
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    if len(blocks) >= 3 and text.count("Answer:") >= 2:
        return blocks[-1][-_FOCUS_CHARS:]
    return text[-_FOCUS_CHARS:]


def hashed_counts(prompt: str) -> dict[int, float]:
    """Bucket -> sublinear term frequency for word 1-2 grams (head and focus) and char 3-5 grams (focus end)."""
    focus = focus_text(prompt)
    head = prompt[:_HEAD_CHARS] if not prompt.startswith(focus[:50]) else ""
    words = _WORD_RE.findall((head + "\n" + focus).lower())
    tail = " " + " ".join(focus[-_CHAR_FOCUS_CHARS:].lower().split()) + " "
    # Bucket = namespace (words, word pairs, chars) x N_BUCKETS + the token's CRC-32 masked to N_BUCKETS.
    crc, mask = zlib.crc32, N_BUCKETS - 1
    buckets = [crc(w.encode("utf-8", "surrogatepass")) & mask for w in words]
    pairs = (f"{a} {b}" for a, b in pairwise(words))
    buckets += [N_BUCKETS + (crc(p.encode("utf-8", "surrogatepass")) & mask) for p in pairs]
    chars = 2 * N_BUCKETS
    buckets += [chars + (crc(tail[i : i + n].encode("utf-8", "surrogatepass")) & mask)
                for n in _CHAR_NGRAMS for i in range(len(tail) - n + 1)]
    counts: dict[int, float] = {}
    for b in buckets:
        counts[b] = counts.get(b, 0.0) + 1.0
    return {b: 1.0 + math.log(c) for b, c in counts.items()}


@dataclass(frozen=True, slots=True)
class HashedVocabulary:
    """The buckets seen in training (sorted) with their idf; other buckets are dropped before normalizing."""

    buckets: np.ndarray  # int64, sorted
    idf: np.ndarray  # float32, same length

    @classmethod
    def fit(cls, counts: Sequence[dict[int, float]], *, min_df: int = 2) -> HashedVocabulary:
        df: dict[int, int] = {}
        for c in counts:
            for b in c:
                df[b] = df.get(b, 0) + 1
        n = len(counts)
        kept = sorted(b for b, d in df.items() if d >= min_df)
        idf = [math.log((1 + n) / (1 + df[b])) + 1.0 for b in kept]
        return cls(np.asarray(kept, dtype=np.int64), np.asarray(idf, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.buckets.shape[0])

    def columns(self, counts: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, L2-normalized tf-idf values) of one prompt's active buckets."""
        if not counts or not len(self):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        keys = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        vals = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        order = keys.argsort()  # sorted needles make the search over the vocabulary cache-friendly
        keys, vals = keys[order], vals[order]
        pos = np.searchsorted(self.buckets, keys)
        pos_clipped = np.minimum(pos, len(self) - 1)
        hit = self.buckets[pos_clipped] == keys
        cols = pos_clipped[hit]
        v = vals[hit] * self.idf[cols]
        norm = float(np.sqrt(np.dot(v, v)))
        return cols, (v / norm if norm else v)

    def known_fraction(self, counts: dict[int, float]) -> float:
        """Share of a prompt's n-grams seen in training: low for prompts unlike the training data."""
        if not counts or not len(self):
            return 0.0
        keys = np.sort(np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)))
        pos = np.minimum(np.searchsorted(self.buckets, keys), len(self) - 1)
        return float(np.mean(self.buckets[pos] == keys))

    def matrix(self, counts: Sequence[dict[int, float]]) -> csr_matrix:
        """A scipy CSR matrix (n_prompts x len(self)) for training."""
        from scipy.sparse import csr_matrix

        indptr = [0]
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for c in counts:
            cols, vals = self.columns(c)
            indices.append(cols)
            data.append(vals)
            indptr.append(indptr[-1] + len(cols))
        return csr_matrix(
            (
                np.concatenate(data) if data else np.empty(0, np.float32),
                np.concatenate(indices) if indices else np.empty(0, np.int64),
                np.asarray(indptr),
            ),
            shape=(len(counts), len(self)),
        )

    def to_dict(self) -> dict[str, Any]:
        # Sorted buckets are stored as gaps, which compress far better than the raw ids.
        gaps = np.diff(self.buckets, prepend=np.int64(0)).astype(np.int64)
        return {"bucket_gaps": pack_array(gaps, "int64"), "idf": pack_array(self.idf, "float16")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HashedVocabulary:
        buckets = np.cumsum(unpack_array(data["bucket_gaps"])).astype(np.int64)
        return cls(buckets, unpack_array(data["idf"]).astype(np.float32))


def pack_array(values: np.ndarray, dtype: str) -> dict[str, Any]:
    """A numpy array as JSON-safe base64 (float16 is plenty for model weights and keeps files small)."""
    arr = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(arr.shape), "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def unpack_array(data: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(data["dtype"]).newbyteorder("<")
    return np.frombuffer(base64.b64decode(data["b64"]), dtype=dtype).reshape(data["shape"]).astype(data["dtype"])
