"""How far a model can be trusted, 0..1, for the ``w_trust`` selection weight (the project orchestrator's
``WeightedSumBackend(w_quality=, w_cost=, w_trust=)``).

Podium keeps no opaque reputation score; a model's trust is read from facts the catalog records about it:
its quality figure was measured rather than estimated (the router's prediction for it rests on data), it is not
deprecated, and its provider does not train on your prompts and answers.
"""

from __future__ import annotations

from podium.core.model_spec import ModelSpec

ESTIMATED_QUALITY = 0.3  # taken off when the overall quality figure is derived from other models, not measured
DEPRECATED = 0.4
TRAINS_ON_OUTPUTS = 0.3


def model_trust(spec: ModelSpec) -> float:
    """1.0 for a current model with a measured quality figure whose provider does not train on outputs."""
    trust = 1.0
    if spec.quality is None or spec.quality.overall.estimate:
        trust -= ESTIMATED_QUALITY
    if spec.deprecated:
        trust -= DEPRECATED
    if spec.trains_on_outputs:
        trust -= TRAINS_ON_OUTPUTS
    return max(0.0, trust)
