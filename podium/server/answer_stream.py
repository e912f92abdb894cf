"""One answer as a provider-neutral stream of pieces, for the endpoints that speak another API's stream format.

``/v1/messages`` and ``/v1/responses`` render these pieces as Anthropic or Responses events. A direct model
streams as the upstream does; a ``podium/*`` strategy's answer is judged whole first and then sent as pieces, as
``/v1/chat/completions`` does. Either way the first piece is awaited before the response starts, so a failure before
any output gets a proper status, and the last piece is the priced ``Ending``. ``on_usage(total_tokens)`` is awaited
once the answer's usage is known (before the ``Ending``), as ``/v1/chat/completions`` does: it settles the key's tpm.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from podium.core.pipeline import CallMeta
from podium.core.types import Completion, StreamChunk, Usage
from podium.server.chat import Answer, ChatService, OnUsage, Target, response_headers
from podium.server.openai_request import ParsedChat
from podium.telemetry.tracing import record_answer

if TYPE_CHECKING:
    from podium.engine import CompletionStream


@dataclass(frozen=True, slots=True)
class TextPiece:
    text: str


@dataclass(frozen=True, slots=True)
class ToolPiece:
    """A tool call's start (``call_id`` and ``name`` set) or a fragment of its JSON arguments."""

    index: int
    arguments: str = ""
    call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Ending:
    completion: Completion
    usage: Usage
    cost_usd: Decimal | None
    request_id: str


Piece = TextPiece | ToolPiece | Ending


def _pieces(chunk: StreamChunk) -> list[Piece]:
    out: list[Piece] = []
    if chunk.delta:
        out.append(TextPiece(chunk.delta))
    if chunk.tool_call_delta:
        d = chunk.tool_call_delta
        fn = d.get("function") or {}
        out.append(ToolPiece(int(d.get("index", 0)), fn.get("arguments") or "", d.get("id") or None,
                             fn.get("name") or None))
    return out


def answer_pieces(answer: Answer, request_id: str) -> list[Piece]:
    """A whole answer as pieces: its tool calls, its text, then the ending."""
    c = answer.completion
    out: list[Piece] = []
    for i, call in enumerate(c.tool_calls or ()):
        fn = call.get("function") or {}
        out.append(ToolPiece(i, "", call.get("id") or f"call_{i}", fn.get("name", "")))
        out.append(ToolPiece(i, fn.get("arguments") or ""))
    if c.text:
        out.append(TextPiece(c.text))
    out.append(Ending(c, answer.usage, answer.cost_usd, request_id))
    return out


async def _listed(pieces: list[Piece]) -> AsyncIterator[Piece]:
    for piece in pieces:
        yield piece


async def open_pieces(
    chat: ChatService, parsed: ParsedChat, target: Target, meta: CallMeta, *, on_usage: OnUsage | None = None
) -> tuple[AsyncIterator[Piece], dict[str, str]]:
    """Start the answer and wait for its first chunk; returns the pieces and the x-podium-* headers."""
    if target.strategy is not None:
        answer = await chat.answer(parsed, target, meta)
        if on_usage is not None:
            await on_usage(answer.usage.total_tokens)
        request_id = answer.request_id or uuid.uuid4().hex
        return _listed(answer_pieces(answer, request_id)), answer.headers(request_id)
    gateway_id = uuid.uuid4().hex
    stream: CompletionStream = chat.client.stream(parsed.request, model=target.model, meta=meta, request_id=gateway_id)
    chunks = aiter(stream)
    first = await anext(chunks, None)
    relay = _relay(stream, chunks, first, gateway_id, on_usage)
    return relay, response_headers(None, gateway_id, model=target.model)


async def _relay(stream: CompletionStream, chunks: AsyncIterator[StreamChunk], first: StreamChunk | None,
                 request_id: str, on_usage: OnUsage | None) -> AsyncIterator[Piece]:
    try:
        chunk = first
        while chunk is not None:
            for piece in _pieces(chunk):
                yield piece
            chunk = await anext(chunks, None)
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]  # a client that left must not leave the call running
    completion: Completion | None = stream.completion
    if completion is not None:
        record_answer(completion, completion.usage, completion.cost_usd)
        if on_usage is not None:
            await on_usage(completion.usage.total_tokens)
        yield Ending(completion, completion.usage, completion.cost_usd, request_id)
