"""Selection backends (as the project orchestrator names them): rank candidate models by predicted quality, estimated cost and latency.

Pure functions over candidates. ``greedy`` takes the cheapest model predicted good enough; ``weighted``
scores each model by ``w_quality*q - w_cost*c - w_latency*l + w_trust*t`` on objectives normalised over the
candidates (``t`` is ``podium.routing.trust.model_trust``);
``pareto`` keeps only models no other model beats on every objective, then applies greedy to that front.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from podium.config.routing import SelectionWeights
from podium.core.errors import ValidationError
from podium.core.routed import Candidate  # re-exported: strategies import it from here
from podium.routing.trust import model_trust


def _quality(c: Candidate) -> float:
    return c.predicted_quality if c.predicted_quality is not None else 0.0


def _cost_key(c: Candidate) -> tuple[int, Decimal]:
    """Unknown cost sorts after every known cost."""
    return (1, Decimal(0)) if c.estimated_cost is None else (0, c.estimated_cost)


def greedy(candidates: Sequence[Candidate], threshold: float) -> list[Candidate]:
    """Models predicted to reach ``threshold``, cheapest first; then the rest, best predicted quality first."""
    good = sorted((c for c in candidates if _quality(c) >= threshold), key=lambda c: (_cost_key(c), -_quality(c)))
    rest = sorted((c for c in candidates if _quality(c) < threshold), key=lambda c: (-_quality(c), _cost_key(c)))
    return good + rest


def _normalise(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [0.0 if hi == lo else (v - lo) / (hi - lo) for v in values]


def weighted_scores(candidates: Sequence[Candidate], weights: SelectionWeights) -> list[float]:
    """Each candidate's weighted-sum score (higher is better); unknown cost or latency counts as the worst."""
    if not candidates:
        return []
    known_costs = [float(c.estimated_cost) for c in candidates if c.estimated_cost is not None]
    worst_cost = max(known_costs) if known_costs else 0.0
    costs = [float(c.estimated_cost) if c.estimated_cost is not None else worst_cost for c in candidates]
    lat = [c.est_latency_ms for c in candidates]
    known_lat = [x for x in lat if x is not None]
    worst_lat = max(known_lat) if known_lat else 0.0
    latencies = [x if x is not None else worst_lat for x in lat]
    q = _normalise([_quality(c) for c in candidates])
    cn, ln = _normalise(costs), _normalise(latencies)
    tn = _normalise([model_trust(c.model) for c in candidates])
    return [
        weights.w_quality * qi - weights.w_cost * ci - weights.w_latency * li + weights.w_trust * ti
        for qi, ci, li, ti in zip(q, cn, ln, tn, strict=True)
    ]


def weighted(candidates: Sequence[Candidate], weights: SelectionWeights) -> list[Candidate]:
    """Candidates by weighted-sum score, best first; ties go to the cheaper model."""
    scores = weighted_scores(candidates, weights)
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], _cost_key(candidates[i])))
    return [candidates[i] for i in order]


def _objectives(c: Candidate, latency: bool) -> tuple[float, tuple[int, Decimal], float]:
    """(quality, cost key, latency) with unknown latency (or latency ignored) as +inf."""
    lat = c.est_latency_ms if latency and c.est_latency_ms is not None else float("inf")
    return _quality(c), _cost_key(c), lat


def _dominates(a: tuple[float, tuple[int, Decimal], float], b: tuple[float, tuple[int, Decimal], float]) -> bool:
    """``a`` is at least as good as ``b`` on quality, cost and latency, and strictly better on one."""
    return a[0] >= b[0] and a[1] <= b[1] and a[2] <= b[2] and (a[0] > b[0] or a[1] < b[1] or a[2] < b[2])


def pareto_front(candidates: Sequence[Candidate], *, latency: bool = True) -> list[Candidate]:
    """The non-dominated candidates (max quality, min cost, and min latency unless ``latency=False``), cheapest first."""
    objs = [_objectives(c, latency) for c in candidates]
    front = [c for i, c in enumerate(candidates) if not any(_dominates(o, objs[i]) for j, o in enumerate(objs) if j != i)]
    return sorted(front, key=lambda c: (_cost_key(c), -_quality(c)))


def pareto(candidates: Sequence[Candidate], threshold: float) -> list[Candidate]:
    """Greedy over the Pareto front, then the dominated models (greedy order) as fallbacks."""
    front = pareto_front(candidates)
    ids = {id(c) for c in front}
    return greedy(front, threshold) + greedy([c for c in candidates if id(c) not in ids], threshold)


def rank(
    candidates: Sequence[Candidate], backend: str, *, threshold: float, weights: SelectionWeights | None = None
) -> list[Candidate]:
    """Order candidates best first with the named backend (``greedy``, ``weighted`` or ``pareto``)."""
    if backend == "greedy":
        return greedy(candidates, threshold)
    if backend == "weighted":
        return weighted(candidates, weights or SelectionWeights())
    if backend == "pareto":
        return pareto(candidates, threshold)
    raise ValidationError(
        f"selection backend {backend!r} is not known; use greedy, weighted or pareto",
        field="selection",
        value=backend,
        valid=["greedy", "weighted", "pareto"],
    )
