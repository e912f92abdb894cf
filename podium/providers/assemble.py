"""Fold a stream of chunks back into one Completion (text, tool calls, finish reason, usage)."""

from __future__ import annotations

from collections.abc import AsyncIterable
from decimal import Decimal
from typing import Any

from podium.core.types import Completion, StreamChunk, Usage
from podium.providers.tool_calls import merge_tool_call_delta


class StreamAssembler:
    """Collects chunks as they pass; ``completion()`` builds the Completion they add up to, unpriced unless the
    stream stated its exact cost."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.cost_usd: Decimal | None = None
        self.chunks = 0

    def add(self, chunk: StreamChunk) -> None:
        self.chunks += 1
        if chunk.delta:
            self._parts.append(chunk.delta)
        if chunk.tool_call_delta:
            merge_tool_call_delta(self._calls, chunk.tool_call_delta)
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.cost_usd is not None:
            self.cost_usd = chunk.cost_usd

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def completion(self, *, model: str, provider: str, latency_ms: float = 0.0) -> Completion:
        calls = tuple(self._calls[i] for i in sorted(self._calls)) or None
        return Completion(
            text=self.text,
            model=model,
            provider=provider,
            usage=self.usage or Usage(),
            cost_usd=self.cost_usd,
            latency_ms=latency_ms,
            finish_reason=self.finish_reason,
            tool_calls=calls,
        )


async def collect_stream(chunks: AsyncIterable[StreamChunk], *, model: str, provider: str) -> Completion:
    """Drain ``chunks`` and return the Completion they add up to."""
    assembler = StreamAssembler()
    async for chunk in chunks:
        assembler.add(chunk)
    return assembler.completion(model=model, provider=provider)
