"""This deployment's adjustment on top of a shipped (or trained) router, learned from its own traffic.

Logit offsets are added to the base router's prediction, per model and per (model, task type), plus ones shared
by every model (overall and per task type): ``P(good) = sigmoid(logit(base P) + a[m] + b[m, task] + a[*] +
b[*, task])``. The offsets are fitted by weighted logistic
regression on explicit feedback (weight 1) and quality-gate verdicts (weak labels: kept = good, escalated = bad,
weight ``gate_weight``), with an L2 penalty pulling each offset toward 0, so a little feedback moves little.

The base is used only through ``predict(prompt, models)``, ``models`` and (when it has one) ``task_type(prompt)``.
An example without its prompt (the ledger keeps prompts only with ``log_text``) is placed at the base's mean
logit for its (model, task type) over reference prompts. The adjustment is saved as a small JSON file that names
its base by content hash, so it is never applied to a router it was not fitted on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from podium.core.errors import ValidationError

FORMAT = "podium-feedback-router/1"
ANY_TASK = "*"
ANY_MODEL = "*"
DEFAULT_GATE_WEIGHT = 0.3
DEFAULT_L2 = 16.0  # per offset; four offsets add up, so together as strong as ~16 verdicts at P=0.5
_EPS = 1e-6

if TYPE_CHECKING:
    from podium.routing.plans import PlanTable
    from podium.routing.strategies.base import QualityPredictor



def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def analyzed_task_type(router: QualityPredictor, prompt: str) -> str:
    """The router's own task type for ``prompt`` when it has one, else Podium's task analysis."""
    of = getattr(router, "task_type", None)
    if callable(of):
        return str(of(prompt))
    from podium.routing.task_analysis import analyze

    return analyze(prompt).task_type


@dataclass(frozen=True, slots=True)
class LabelledAnswer:
    """One answer with a target in [0, 1] and a weight: explicit feedback, or a gate verdict (weak)."""

    model: str
    task_type: str | None
    target: float
    weight: float
    prompt: str | None = None
    source: str = "feedback"  # feedback | gate


def examples_from_ledger(
    feedback: Iterable[Mapping[str, Any]], gates: Iterable[Mapping[str, Any]], *, gate_weight: float
) -> list[LabelledAnswer]:
    """Training examples from ``LedgerReader.feedback_rows()`` and ``gate_verdicts()`` rows."""
    if not 0.0 <= gate_weight <= 1.0:
        raise ValidationError(f"gate weight {gate_weight} is not valid; use a number from 0 to 1",
                              field="gate_weight", value=gate_weight, valid="0..1")
    out = [LabelledAnswer(r["model"], r.get("task_type"), float(r["score"]), 1.0, r.get("prompt")) for r in feedback]
    if gate_weight > 0:
        out += [
            LabelledAnswer(r["model"], r.get("task_type"), 1.0 if r["outcome"] == "kept" else 0.0, gate_weight,
                           r.get("prompt"), "gate")
            for r in gates
        ]
    return out


class ReferenceLogits:
    """The base's mean logit per (model, task type) over reference prompts: where an example without its prompt
    sits before the adjustment."""

    def __init__(self, base: QualityPredictor, prompts: Sequence[str], models: Sequence[str] | None = None) -> None:
        sums: dict[tuple[str, str], list[float]] = {}
        for prompt in prompts:
            task = analyzed_task_type(base, prompt)
            for model, p in base.predict(prompt, models).items():
                for cell in ((model, task), (model, ANY_TASK)):
                    acc = sums.setdefault(cell, [0.0, 0.0])
                    acc[0] += _logit(p)
                    acc[1] += 1.0
        self._mean = {cell: s / n for cell, (s, n) in sums.items()}

    def get(self, model: str, task: str | None) -> float | None:
        return self._mean.get((model, task or ANY_TASK), self._mean.get((model, ANY_TASK)))


def _design(
    base: QualityPredictor, examples: Sequence[LabelledAnswer], reference: ReferenceLogits | None
) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(parameter cells, each example's cell indices (-1: none), base logit, target, weight)."""
    cells: dict[tuple[str, str], int] = {}
    index: list[list[int]] = []
    rows: list[tuple[float, float, float]] = []
    for ex in examples:
        task = ex.task_type
        if ex.prompt:
            task = task or analyzed_task_type(base, ex.prompt)
            probs = base.predict(ex.prompt, [ex.model])
            z: float | None = _logit(probs[ex.model]) if ex.model in probs else None
        else:
            z = reference.get(ex.model, task) if reference is not None else None
        if z is None:
            continue  # the base rates no such model: nothing to adjust
        wanted = [(ex.model, ANY_TASK), (ANY_MODEL, ANY_TASK)]
        if task:
            wanted += [(ex.model, task), (ANY_MODEL, task)]
        ids = [cells.setdefault(cell, len(cells)) for cell in wanted]
        index.append(ids + [-1] * (4 - len(ids)))
        rows.append((z, ex.target, ex.weight))
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    return list(cells), np.array(index, dtype=int).reshape(-1, 4), arr[:, 0], arr[:, 1], arr[:, 2]


def fit_offsets(
    base: QualityPredictor,
    examples: Sequence[LabelledAnswer],
    *,
    l2: float = DEFAULT_L2,
    reference: ReferenceLogits | None = None,
    max_steps: int = 50,
) -> dict[str, dict[str, float]]:
    """{model or "*": {"*" or task type: offset}} minimising weighted log loss + l2/2 * sum(offset^2).

    An answer's logit moves by its model's offset, its (model, task type) offset, and the offsets shared by every
    model (overall and for the task type): traffic unlike the base's training data tends to move every model, and
    the shared terms carry that to models nobody has rated yet.
    """
    if l2 <= 0:
        raise ValidationError(f"l2 {l2} is not valid; use a positive number (larger = smaller offsets)",
                              field="l2", value=l2, valid="> 0")
    cells, idx, z, y, w = _design(base, examples, reference)
    if not cells:
        return {}
    theta = np.zeros(len(cells))
    present = idx >= 0
    safe = np.maximum(idx, 0)

    def score(t: np.ndarray) -> np.ndarray:
        return z + np.sum(np.where(present, t[safe], 0.0), axis=1)

    def loss(t: np.ndarray) -> float:
        s = score(t)
        return float(np.sum(w * (np.logaddexp(0.0, s) - y * s)) + 0.5 * l2 * t @ t)

    for _ in range(max_steps):
        p = _sigmoid(score(theta))
        r, h = w * (p - y), w * p * (1.0 - p)
        grad, hess = l2 * theta, l2 * np.eye(len(cells))
        for i in range(idx.shape[1]):
            on = present[:, i]
            np.add.at(grad, idx[on, i], r[on])
            for j in range(idx.shape[1]):
                both = on & present[:, j]
                np.add.at(hess, (idx[both, i], idx[both, j]), h[both])
        step = np.linalg.solve(hess, grad)
        before, t = loss(theta), 1.0
        while loss(theta - t * step) > before + 1e-12 and t > 1e-4:
            t /= 2  # damped Newton: the loss is convex, so halving the step always finds a decrease
        theta = theta - t * step
        if float(np.max(np.abs(t * step))) < 1e-9:
            break
    out: dict[str, dict[str, float]] = {}
    for (model, task), value in zip(cells, theta, strict=True):
        out.setdefault(model, {})[task] = round(float(value), 6)
    return out


class FeedbackAdjustedRouter:
    """A router (``predict``/``models``/``task_type``) whose predictions carry this deployment's learned offsets."""

    def __init__(
        self, base: QualityPredictor, offsets: Mapping[str, Mapping[str, float]], info: Mapping[str, Any] | None = None
    ) -> None:
        self.base = base
        self.models: tuple[str, ...] = tuple(base.models)
        self.offsets = {m: dict(v) for m, v in offsets.items()}
        self._info = dict(info or {})

    @property
    def plans(self) -> PlanTable | None:
        """The base's cascade plans, when it carries any (the learned cascade reads them)."""
        return getattr(self.base, "plans", None)

    def task_type(self, prompt: str) -> str:
        return analyzed_task_type(self.base, prompt)

    def offset(self, model: str, task: str) -> float:
        """The logit offset for ``model`` on a prompt of type ``task``: its own terms plus the shared ones."""
        own, shared = self.offsets.get(model) or {}, self.offsets.get(ANY_MODEL) or {}
        return own.get(ANY_TASK, 0.0) + own.get(task, 0.0) + shared.get(ANY_TASK, 0.0) + shared.get(task, 0.0)

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        """The base's P(good) per model, moved by the offsets for this prompt's task type."""
        probs = self.base.predict(prompt, models)
        if not self.offsets:
            return probs
        task = self.task_type(prompt)
        return {m: float(_sigmoid(np.float64(_logit(p) + self.offset(m, task)))) for m, p in probs.items()}

    def info(self) -> dict[str, Any]:
        base_info = self.base.info() if callable(getattr(self.base, "info", None)) else {}
        return {**base_info, "feedback_adjustment": {**self._info, "offsets": self.offsets}}

    @classmethod
    def fit(
        cls, base: QualityPredictor, examples: Sequence[LabelledAnswer], *, l2: float = DEFAULT_L2,
        reference_prompts: Sequence[str] = (), info: Mapping[str, Any] | None = None,
    ) -> FeedbackAdjustedRouter:
        """Fit the offsets on ``examples``; ``reference_prompts`` place the examples logged without a prompt."""
        unprompted = sorted({e.model for e in examples if not e.prompt})
        reference = ReferenceLogits(base, reference_prompts, unprompted) if unprompted else None
        offsets = fit_offsets(base, examples, l2=l2, reference=reference)
        counts = {"feedback": sum(e.source == "feedback" for e in examples),
                  "gate_verdicts": sum(e.source == "gate" for e in examples)}
        return cls(base, offsets, {"l2": l2, "examples": counts, **(info or {})})

    # -- file ------------------------------------------------------------------------------------------------

    def to_dict(self, base_file: str, base_sha256: str) -> dict[str, Any]:
        return {"format": FORMAT, "base": {"file": base_file, "sha256": base_sha256}, "offsets": self.offsets,
                "info": self._info}

    def save(self, path: Path, *, base_path: Path) -> None:
        """Write the adjustment as JSON naming ``base_path`` (by file name and content hash)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        # Beside it, the base is named relative to it, so the versions folder can be moved as a whole.
        named = base_path.name if base_path.parent.resolve() == path.parent.resolve() else str(base_path.resolve())
        tmp.write_text(json.dumps(self.to_dict(named, file_sha256(base_path)), indent=1), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, load_base: Callable[[Path], Any]) -> FeedbackAdjustedRouter:
        """Read an adjustment and its base (``load_base(path)``); a base whose content changed is refused."""
        data = read_adjustment(path)
        base_path = Path(data["base"]["file"])
        if not base_path.is_absolute():
            base_path = path.parent / base_path
        if not base_path.is_file() or file_sha256(base_path) != data["base"]["sha256"]:
            raise ValidationError(
                f"router file {path} adjusts the router {base_path} with sha256 {data['base']['sha256'][:12]}..., "
                "which is missing or has changed; refit it with `podium router train --from-ledger`",
                field="base", value=str(base_path),
            )
        return cls(load_base(base_path), data.get("offsets") or {}, data.get("info"))


def read_adjustment(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"cannot read router adjustment {path}: {exc}", field="path", value=str(path)) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT or "sha256" not in (data.get("base") or {}):
        raise ValidationError(f"{path} is not a {FORMAT} file", field="format", value=str(path))
    return data


def is_adjustment_file(path: Path) -> bool:
    """Feedback adjustments are plain JSON; full routers are gzip-compressed."""
    try:
        with path.open("rb") as fh:
            return fh.read(1) == b"{"
    except OSError:
        return False
