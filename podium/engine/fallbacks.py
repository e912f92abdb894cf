"""Which model an explicit call moves to after a failed attempt: the default rule and the protocol others follow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from podium.core.model_spec import ModelSpec


class FallbackChooser(Protocol):
    """Which models to try after a failed attempt (``NextUntriedModel``, ``resilience.FallbackPolicy``)."""

    def next_candidates(
        self, error: BaseException, tried: Sequence[ModelSpec], candidates: Sequence[ModelSpec]
    ) -> list[ModelSpec]: ...


class NextUntriedModel:
    """Default fallback policy: on a provider error, move to the next configured model not yet tried."""

    def next_candidates(
        self, error: BaseException, tried: Sequence[ModelSpec], candidates: Sequence[ModelSpec]
    ) -> list[ModelSpec]:
        tried_ids = {m.id for m in tried}
        return [m for m in candidates if m.id not in tried_ids]
