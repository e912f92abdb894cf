"""Selection backends: greedy, weighted sum and the Pareto front, as pure functions over candidates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from podium.config.routing import SelectionWeights
from podium.core.errors import ValidationError
from podium.core.model_spec import ModelSpec
from podium.routing.selection import Candidate, greedy, pareto, pareto_front, rank, weighted, weighted_scores
from podium.routing.strategies import derive_chain


def cand(name: str, quality: float, cost: str | None, latency: float | None = 100.0) -> Candidate:
    spec = ModelSpec(id=f"t:{name}", provider="t", api_model=name)
    return Candidate(spec, quality, None if cost is None else Decimal(cost), latency)


A = cand("a", 0.60, "0.001", 200)  # cheapest
B = cand("b", 0.80, "0.004", 300)
C = cand("c", 0.75, "0.006", 400)  # dominated by b: dearer, worse, slower
D = cand("d", 0.95, "0.050", 900)  # best quality
E = cand("e", 0.70, "0.010", 50)  # dominated on quality/cost by b, but the fastest


def ids(cands: list[Candidate]) -> list[str]:
    return [c.id for c in cands]


def test_pareto_front_keeps_exactly_the_non_dominated() -> None:
    assert ids(pareto_front([A, B, C, D, E])) == ["t:a", "t:b", "t:e", "t:d"]
    assert ids(pareto_front([A, B, C, D, E], latency=False)) == ["t:a", "t:b", "t:d"]
    twin = cand("b2", 0.80, "0.004", 300)
    assert set(ids(pareto_front([B, twin]))) == {"t:b", "t:b2"}  # equal points do not dominate each other


def test_greedy_takes_cheapest_good_enough_then_best_quality() -> None:
    assert ids(greedy([D, C, B, A], 0.75)) == ["t:b", "t:c", "t:d", "t:a"]
    assert ids(greedy([A, B], 0.99)) == ["t:b", "t:a"]
    unknown = cand("u", 0.9, None)
    assert ids(greedy([unknown, B], 0.5)) == ["t:b", "t:u"]  # unknown cost sorts last


def test_pareto_backend_puts_dominated_models_after_the_front() -> None:
    order = ids(pareto([C, D, A, B], 0.75))
    assert order == ["t:b", "t:d", "t:a", "t:c"]  # front by greedy (b, d good enough; a not), then dominated c


def test_weighted_sum_normalises_and_respects_weights() -> None:
    only_quality = SelectionWeights(w_quality=1, w_cost=0, w_latency=0)
    assert ids(weighted([A, B, D], only_quality))[0] == "t:d"
    only_cost = SelectionWeights(w_quality=0, w_cost=1, w_latency=0)
    assert ids(weighted([A, B, D], only_cost))[0] == "t:a"
    scores = weighted_scores([A, D], SelectionWeights(w_quality=0.6, w_cost=0.3, w_latency=0.1))
    # a: quality 0, cost 0, latency 0 after normalisation; d: quality 1, cost 1, latency 1
    assert scores == pytest.approx([0.0, 0.6 - 0.3 - 0.1])
    assert weighted_scores([], SelectionWeights()) == []


def test_rank_dispatches_and_rejects_unknown_backend() -> None:
    assert ids(rank([A, B, D], "greedy", threshold=0.7)) == ["t:b", "t:d", "t:a"]
    assert ids(rank([A, B, D], "weighted", threshold=0.7, weights=SelectionWeights(w_quality=1, w_cost=0,
                                                                                     w_latency=0)))[0] == "t:d"
    with pytest.raises(ValidationError, match="greedy, weighted or pareto"):
        rank([A], "fastest", threshold=0.5)


def test_derived_cascade_chain_is_cheap_to_strong_and_ends_at_best() -> None:
    chain = derive_chain([D, C, B, A, E], max_steps=3, floor=0.55)
    assert ids(chain) == ["t:a", "t:b", "t:d"]
    assert ids(derive_chain([D, C, B, A], max_steps=2, floor=0.55)) == ["t:b", "t:d"]  # the better cheap model
    assert ids(derive_chain([D, C, B, A], max_steps=3, floor=0.9)) == ["t:d"]
