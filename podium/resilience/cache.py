"""Exact-match response cache with single-flight: identical concurrent requests share one upstream call.

The key is a SHA-256 of the model id, the messages and every parameter that changes the answer (not the
request's ``model`` alias, its ``user`` tag, or whether it streams). A hit costs $0, is marked ``cached=True``,
bills no tokens (the original usage stays in ``metadata["cache"]``) and, when the caller streams, is sent back
through ``ctx.send`` in chunks. ``meta.no_cache`` skips reading (and joining in-flight calls); ``meta.no_store``
skips writing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from podium.core.clock import Clock
from podium.core.events import EventSink, EventType, discard
from podium.core.pipeline import CallContext, Handler
from podium.core.types import ChatRequest, Completion, Message, StreamChunk, Usage
from podium.resilience.cache_store import SQLiteResponseStore
from podium.resilience.signals import emit_event

_PARAMS = ("temperature", "max_tokens", "top_p", "stop", "response_format", "tools", "tool_choice", "seed", "extra")


def _message(m: Message) -> dict[str, Any]:
    content: Any = m.content if isinstance(m.content, str) else [asdict(p) for p in m.content]
    out = {"role": m.role, "content": content}
    for name in ("name", "tool_call_id", "tool_calls"):
        if getattr(m, name) is not None:
            out[name] = getattr(m, name)
    return out


def request_key(model_id: str, request: ChatRequest) -> str:
    """Normalized hash of what determines an answer: model id + messages + generation parameters."""
    doc: dict[str, Any] = {"model": model_id, "messages": [_message(m) for m in request.messages]}
    for name in _PARAMS:
        value = getattr(request, name)
        if value not in (None, {}):
            doc[name] = value
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _payload(c: Completion) -> dict[str, Any]:
    return {
        "text": c.text,
        "model": c.model,
        "provider": c.provider,
        "usage": {**c.usage.to_dict(), "cache_write_tokens": c.usage.cache_write_tokens},
        "finish_reason": c.finish_reason,
        "tool_calls": list(c.tool_calls) if c.tool_calls else None,
        "request_id": c.request_id,
    }


class CacheMiddleware:
    """Serves stored answers, stores fresh ones, and collapses concurrent identical calls."""

    def __init__(
        self,
        store: SQLiteResponseStore,
        *,
        clock: Clock,
        emit: EventSink = discard,
        ttl_s: float | None = 86400.0,
        single_flight: bool = True,
        chunk_chars: int = 64,
    ) -> None:
        self.store = store
        self.clock = clock
        self.emit = emit
        self.ttl_s = ttl_s
        self.single_flight = single_flight
        self.chunk_chars = chunk_chars
        self._inflight: dict[str, asyncio.Future[Completion | None]] = {}

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        meta = ctx.meta
        if meta.no_cache and meta.no_store:
            return await call_next(ctx)
        key = request_key(ctx.model.id, ctx.request)
        started = self.clock.monotonic()
        if not meta.no_cache:
            stored = await self.store.get(key, self.clock.now().timestamp())
            if stored is not None:
                return await self._serve(ctx, _from_payload(stored), key, started, stored.get("_created_at"))
            if self.single_flight:
                shared = await self._join(key)
                if shared is not None:
                    return await self._serve(ctx, shared, key, started, None, coalesced=True)
        flight = self._register(key) if self.single_flight and not meta.no_cache else None
        completion: Completion | None = None
        try:
            completion = await call_next(ctx)
            if not meta.no_store and not completion.cached:
                await self.store.put(key, ctx.model.id, _payload(completion), self.clock.now().timestamp(), self.ttl_s)
            return completion
        finally:
            if flight is not None:
                self._release(key, flight, completion)

    async def _join(self, key: str) -> Completion | None:
        """Wait for an identical in-flight call; None when there is none (or it failed) and we must call."""
        while (flight := self._inflight.get(key)) is not None:
            result = await asyncio.shield(flight)
            if result is not None:
                return result
        return None

    def _register(self, key: str) -> asyncio.Future[Completion | None]:
        flight: asyncio.Future[Completion | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = flight
        return flight

    def _release(self, key: str, flight: asyncio.Future[Completion | None], completion: Completion | None) -> None:
        # Stays registered until the answer is stored, so a request arriving meanwhile joins instead of calling.
        # A failed leader hands followers None, and each of them then makes its own call.
        if self._inflight.get(key) is flight:
            del self._inflight[key]
        flight.set_result(completion)

    async def _serve(
        self, ctx: CallContext, base: Completion, key: str, started: float, created_at: float | None,
        *, coalesced: bool = False,
    ) -> Completion:  # fmt: skip
        info: dict[str, Any] = {"key": key, "original_usage": base.usage.to_dict(), "coalesced": coalesced}
        if base.request_id:
            info["original_request_id"] = base.request_id
        if created_at is not None:
            info["age_s"] = round(self.clock.now().timestamp() - created_at, 3)
        hit = Completion(
            text=base.text,
            model=base.model,
            provider=base.provider,
            usage=Usage(),
            cost_usd=Decimal(0),
            latency_ms=(self.clock.monotonic() - started) * 1000.0,
            finish_reason=base.finish_reason,
            tool_calls=base.tool_calls,
            cached=True,
            request_id=ctx.request_id,
            metadata={"cache": info},
        )
        emit_event(self.emit, self.clock, EventType.CACHE_HIT, ctx.model, request_id=ctx.request_id,
                   coalesced=coalesced, streaming=ctx.streaming)  # fmt: skip
        if ctx.streaming:
            await self._stream(ctx, hit)
        return hit

    async def _stream(self, ctx: CallContext, hit: Completion) -> None:
        text, size = hit.text, self.chunk_chars
        for start in range(0, len(text), size):
            await ctx.send(StreamChunk(delta=text[start : start + size]))
        for call in hit.tool_calls or ():
            await ctx.send(StreamChunk(tool_call_delta=call))
        await ctx.send(StreamChunk(finish_reason=hit.finish_reason or "stop", usage=hit.usage))

    async def aclose(self) -> None:
        await self.store.aclose()


def _from_payload(data: dict[str, Any]) -> Completion:
    usage = data.get("usage") or {}
    return Completion(
        text=data["text"],
        model=data["model"],
        provider=data["provider"],
        usage=Usage(**{k: int(v) for k, v in usage.items() if k in Usage.__dataclass_fields__}),
        finish_reason=data.get("finish_reason"),
        tool_calls=tuple(data["tool_calls"]) if data.get("tool_calls") else None,
        request_id=data.get("request_id"),
    )
