"""A thin synchronous facade over the async client, for scripts and notebooks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.engine.client import Podium


class SyncPodium:
    """Runs the async client on a private event loop owned by this object."""

    def __init__(self, client: Podium | None = None, **from_config_kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._client = client if client is not None else Podium.from_config(**from_config_kwargs)
        except BaseException:
            self._loop.close()
            raise

    def complete(self, request: ChatRequest | str, **kwargs: Any) -> Completion:
        return self._loop.run_until_complete(self._client.complete(request, **kwargs))

    def stream(self, request: ChatRequest | str, **kwargs: Any) -> Iterator[StreamChunk]:
        agen = self._client.stream(request, **kwargs).__aiter__()
        try:
            while True:
                try:
                    chunk = self._loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
                yield chunk
        finally:
            # A caller that stops early must not leave the call running on the private loop.
            if not self._loop.is_closed():
                self._loop.run_until_complete(agen.aclose())  # type: ignore[attr-defined]

    def route(self, request: ChatRequest | str, **kwargs: Any) -> Any:
        return self._loop.run_until_complete(self._client.route(request, **kwargs))

    def feedback(self, request_id: str, score_or_label: str | float, note: str | None = None, **kwargs: Any) -> Any:
        return self._loop.run_until_complete(self._client.feedback(request_id, score_or_label, note, **kwargs))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def __enter__(self) -> SyncPodium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
