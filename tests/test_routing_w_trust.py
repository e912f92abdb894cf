"""The `w_trust` weight of weighted selection (the project orchestrator's `WeightedSumBackend(w_trust=...)`):
accepted and validated in podium.yaml, and used where the other weights are, on the trust the catalog's facts give."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from podium.config.root import PodiumConfig
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec
from podium.core.routed import Candidate
from podium.routing.selection import rank, weighted_scores
from podium.routing.trust import model_trust

TRUSTED = ModelSpec(id="acme:steady", provider="acme", api_model="steady")
UNTRUSTED = replace(TRUSTED, id="acme:shaky", api_model="shaky", deprecated=True, trains_on_outputs=True)


def _weights(**w: float):  # type: ignore[no-untyped-def]
    return PodiumConfig.from_mapping({"routing": {"selection": "weighted", "weights": w}}).routing.weights


def test_w_trust_is_accepted_and_validated() -> None:
    assert _weights(w_quality=0.6, w_cost=0.2, w_trust=0.2).w_trust == 0.2
    assert _weights().w_trust == 0.0  # unset: selection is what it was
    with pytest.raises(ConfigError, match="w_trust"):
        _weights(w_trust=-0.1)


def test_trust_comes_from_catalog_facts() -> None:
    assert model_trust(UNTRUSTED) < model_trust(TRUSTED) <= 1.0
    assert model_trust(replace(TRUSTED, deprecated=True)) == pytest.approx(model_trust(TRUSTED) - 0.4)


def test_weighted_selection_uses_w_trust() -> None:
    # Same predicted quality and latency; the untrusted model is a little cheaper.
    cands = [Candidate(UNTRUSTED, 0.8, Decimal("0.009"), 500.0), Candidate(TRUSTED, 0.8, Decimal("0.010"), 500.0)]
    no_trust = _weights(w_quality=0.6, w_cost=0.4)
    with_trust = _weights(w_quality=0.6, w_cost=0.2, w_trust=0.4)
    assert [c.id for c in rank(cands, "weighted", threshold=0.7, weights=no_trust)] == ["acme:shaky", "acme:steady"]
    assert [c.id for c in rank(cands, "weighted", threshold=0.7, weights=with_trust)] == ["acme:steady", "acme:shaky"]
    low, high = weighted_scores(cands, with_trust)
    assert high - low == pytest.approx(0.4 - 0.2)  # trust and cost are each normalised to 0..1 over the candidates
