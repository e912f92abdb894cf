"""A streamed call as an async iterator of chunks, with the priced Completion available once it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from podium.core.types import Completion, StreamChunk

_DONE = object()


class CompletionStream:
    """Iterate to receive chunks; afterwards ``completion`` holds the priced, ledgered Completion."""

    def __init__(self, run: Callable[[Callable[[StreamChunk], Awaitable[None]]], Awaitable[Completion]]) -> None:
        self._run = run
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
        self._task: asyncio.Task[None] | None = None
        self.completion: Completion | None = None

    async def _emit(self, chunk: StreamChunk) -> None:
        await self._queue.put(chunk)

    async def _drive(self) -> None:
        try:
            self.completion = await self._run(self._emit)
        except BaseException as exc:  # handed to the consumer, re-raised there
            await self._queue.put(exc)
        else:
            await self._queue.put(_DONE)

    def __aiter__(self) -> AsyncIterator[StreamChunk]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[StreamChunk]:
        self._task = asyncio.create_task(self._drive())
        try:
            while True:
                item = await self._queue.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                try:
                    await self._task
                except BaseException:  # noqa: BLE001 - the consumer stopped early; its cancellation is expected
                    pass

    async def collect(self) -> Completion:
        """Consume the stream and return the final Completion."""
        async for _ in self:
            pass
        assert self.completion is not None
        return self.completion
