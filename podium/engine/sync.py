"""A thin synchronous facade over the async client, for scripts and notebooks."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Self, Unpack

from podium.core.pipeline import CallMeta
from podium.core.routed import RoutedResult
from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.engine.client import Podium
from podium.engine.stream import CompletionStream

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.engine.assembly import ClientOptions
    from podium.ledger.feedback import Feedback


class SyncCompletionStream(Iterator[StreamChunk]):
    """Iterate to receive chunks; afterwards ``completion`` holds the priced, ledgered Completion, as with the async
    ``CompletionStream``. The last chunk carries the call's cost: it is handed over once the call is priced."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stream: CompletionStream) -> None:
        self._stream = stream
        self._chunks = self._iterate(loop)

    @property
    def completion(self) -> Completion | None:
        """The finished call (None until the stream has been read to its end)."""
        return self._stream.completion

    def __iter__(self) -> SyncCompletionStream:
        return self

    def __next__(self) -> StreamChunk:
        return next(self._chunks)

    def close(self) -> None:
        """Stop early: the call still running on the private loop is cancelled."""
        self._chunks.close()

    def collect(self) -> Completion:
        """Read the rest of the stream and return the final Completion."""
        for _ in self:
            pass
        assert self.completion is not None, "a finished stream always holds its completion"
        return self.completion

    def _iterate(self, loop: asyncio.AbstractEventLoop) -> Iterator[StreamChunk]:
        agen = self._stream.__aiter__()
        last: StreamChunk | None = None  # the closing chunk waits for the price, known when the stream ends
        try:
            while True:
                try:
                    chunk = loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    break
                if last is not None:
                    yield last
                    last = None
                if chunk.finish_reason is None and chunk.usage is None:
                    yield chunk
                else:
                    last = chunk
            if last is not None:
                yield _priced(last, self._stream.completion)
        finally:
            # A caller that stops early must not leave the call running on the private loop.
            if not loop.is_closed():
                loop.run_until_complete(agen.aclose())  # type: ignore[attr-defined]


def _priced(chunk: StreamChunk, completion: Completion | None) -> StreamChunk:
    if chunk.cost_usd is not None or completion is None or completion.cost_usd is None:
        return chunk
    return dataclasses.replace(chunk, cost_usd=completion.cost_usd)


class SyncPodium:
    """Runs the async client on a private event loop owned by this object."""

    def __init__(
        self, client: Podium | None = None, config: PodiumConfig | None = None, **options: Unpack[ClientOptions]
    ) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._client = client if client is not None else Podium.from_config(config, **options)
        except BaseException:
            self._loop.close()
            raise

    def complete(
        self,
        request: ChatRequest | str,
        *,
        model: str | None = None,
        strategy: str | None = None,
        meta: CallMeta | None = None,
        request_id: str | None = None,
        temperature: float | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        return self._loop.run_until_complete(self._client.complete(
            request, model=model, strategy=strategy, meta=meta, request_id=request_id, temperature=temperature,
            tools=tools, response_format=response_format,
        ))

    def stream(
        self,
        request: ChatRequest | str,
        *,
        model: str | None = None,
        strategy: str | None = None,
        meta: CallMeta | None = None,
        request_id: str | None = None,
    ) -> SyncCompletionStream:
        stream = self._client.stream(request, model=model, strategy=strategy, meta=meta, request_id=request_id)
        return SyncCompletionStream(self._loop, stream)

    def route(
        self,
        request: ChatRequest | str,
        *,
        strategy: str,
        meta: CallMeta | None = None,
        candidates: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> RoutedResult:
        return self._loop.run_until_complete(
            self._client.route(request, strategy=strategy, meta=meta, candidates=candidates, request_id=request_id)
        )

    def feedback(
        self, request_id: str, score_or_label: str | float, note: str | None = None, *, key: str | None = None
    ) -> Feedback:
        return self._loop.run_until_complete(self._client.feedback(request_id, score_or_label, note, key=key))

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
