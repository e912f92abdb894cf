"""A streamed call as an async iterator of chunks, with the priced Completion available once it ends."""

from __future__ import annotations

import asyncio
import contextlib
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
        except asyncio.CancelledError as exc:
            # Usually the consumer stopped early and reads no more: waiting for room in a full queue would hang.
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(exc)
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
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
            task = self._task
            if task is not None and not task.done():
                # The consumer stopped early: stop the call. ``wait`` neither raises the task's cancellation
                # nor swallows a cancellation of the consumer itself.
                task.cancel()
                await asyncio.wait({task})

    async def collect(self) -> Completion:
        """Consume the stream and return the final Completion."""
        async for _ in self:
            pass
        assert self.completion is not None
        return self.completion
