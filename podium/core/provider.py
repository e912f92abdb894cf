"""The interface every provider adapter implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, StreamChunk


@runtime_checkable
class Provider(Protocol):
    """Owns auth, base URL and HTTP client for one provider; translates through a pure wire module.

    ``complete`` returns an unpriced Completion (cost_usd None) unless the provider knows the exact cost
    (replay). ``stream`` yields chunks; its last chunk carries finish_reason and usage.
    """

    name: str

    async def complete(self, request: ChatRequest, model: ModelSpec) -> Completion: ...

    def stream(self, request: ChatRequest, model: ModelSpec) -> AsyncIterator[StreamChunk]: ...

    async def aclose(self) -> None: ...
