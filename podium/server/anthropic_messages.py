"""Anthropic Messages API (``POST /v1/messages``) <-> Podium: pure translation, no I/O.

Any model the engine routes to answers, virtual models included: the request becomes a ChatRequest, the answer an
Anthropic ``message`` (or its stream events). Every field is translated or refused with a 400 naming it.
Not offered: ``top_k`` (no counterpart on other providers), ``document``/``search_result`` content blocks,
server tools (web search, code execution), and ``container``/``mcp_servers``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Completion, ContentPart, ImagePart, Message, TextPart, Usage
from podium.server.answer_stream import Ending, Piece, TextPiece, ToolPiece
from podium.server.errors import GatewayError
from podium.server.openai_request import ParsedChat

_FIELDS = frozenset({"model", "messages", "system", "max_tokens", "stop_sequences", "temperature", "top_p", "tools",
                     "tool_choice", "metadata", "stream", "thinking", "service_tier"})
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
_SERVICE_TIERS = {"auto": "auto", "standard_only": "default"}
# HTTP status -> Anthropic's error type (https://docs.anthropic.com/en/api/errors).
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 502: "api_error", 503: "overloaded_error", 504: "timeout_error"}


def _fail(field: str, value: object, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", field=field, value=value)


def _text_of(blocks: object, where: str) -> str:
    if isinstance(blocks, str):
        return blocks
    if isinstance(blocks, list):
        return "".join(_block_text(b, f"{where}[{i}]") for i, b in enumerate(blocks))
    raise _fail(where, blocks, "use a string or an array of text blocks")


def _block_text(block: object, where: str) -> str:
    if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
        raise _fail(where, block, "use a text block {\"type\": \"text\", \"text\": ...}")
    return str(block["text"])


def _image(block: dict[str, Any], where: str) -> ImagePart:
    source = block.get("source") or {}
    if source.get("type") == "base64" and source.get("media_type") and source.get("data"):
        return ImagePart(f"data:{source['media_type']};base64,{source['data']}", media_type=source["media_type"])
    if source.get("type") == "url" and source.get("url"):
        return ImagePart(str(source["url"]))
    raise _fail(f"{where}.source", source, "an image needs a base64 source (media_type, data) or a url source")


def _message(raw: object, i: int) -> list[Message]:
    where = f"messages[{i}]"
    if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
        raise _fail(f"{where}.role", raw.get("role") if isinstance(raw, dict) else raw, "role must be user or assistant")
    role, content = raw["role"], raw.get("content")
    if isinstance(content, str):
        return [Message(role, content)]
    if not isinstance(content, list):
        raise _fail(f"{where}.content", content, "content must be a string or an array of content blocks")
    parts: list[ContentPart] = []
    calls: list[dict[str, Any]] = []
    results: list[Message] = []
    for j, block in enumerate(content):
        at = f"{where}.content[{j}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append(TextPart(_block_text(block, at)))
        elif kind == "image":
            parts.append(_image(block, at))
        elif kind == "tool_use" and role == "assistant":
            calls.append({"id": block.get("id", ""), "type": "function",
                          "function": {"name": block.get("name", ""), "arguments": json.dumps(block.get("input") or {})}})
        elif kind == "tool_result" and role == "user":
            text = _text_of(block.get("content") or "", f"{at}.content")
            results.append(Message("tool", ("Error: " + text) if block.get("is_error") else text,
                                   tool_call_id=str(block.get("tool_use_id", ""))))
        elif kind in ("thinking", "redacted_thinking") and role == "assistant":
            continue  # earlier turns' reasoning: no other provider takes it back
        else:
            raise _fail(f"{at}.type", kind, "use text, image, tool_use (assistant) or tool_result (user) blocks")
    out = list(results)
    if parts or calls or not results:
        text_only = all(isinstance(p, TextPart) for p in parts)
        body: str | tuple[ContentPart, ...] = "".join(p.text for p in parts if isinstance(p, TextPart)) \
            if text_only else tuple(parts)
        out.append(Message(role, body, tool_calls=tuple(calls) or None))
    return out


def _tools(raw: object) -> tuple[dict[str, Any], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _fail("tools", raw, "tools must be an array")
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or "input_schema" not in tool:
            raise _fail(f"tools[{i}]", tool, "only client tools {name, description, input_schema} are offered")
        out.append({"type": "function", "function": {"name": tool["name"], "description": tool.get("description", ""),
                                                     "parameters": tool["input_schema"]}})
    return tuple(out) or None


def _tool_choice(raw: object) -> tuple[Any, bool | None]:
    if raw is None:
        return None, None
    kind = raw.get("type") if isinstance(raw, dict) else None
    parallel = False if isinstance(raw, dict) and raw.get("disable_parallel_tool_use") else None
    if kind == "tool" and isinstance(raw, dict):
        return {"type": "function", "function": {"name": raw.get("name", "")}}, parallel
    if kind in ("auto", "any", "none"):
        return {"auto": "auto", "any": "required", "none": "none"}[kind], parallel
    raise _fail("tool_choice.type", kind, "use auto, any, tool or none")


def _effort(thinking: object) -> str | None:
    if thinking is None or (isinstance(thinking, dict) and thinking.get("type") == "disabled"):
        return None
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    if not isinstance(budget, int) or isinstance(budget, bool):
        raise _fail("thinking.budget_tokens", budget, "enabled thinking needs a whole-number budget_tokens")
    return "low" if budget <= 1024 else "medium" if budget <= 4096 else "high"


def parse_messages_request(body: object) -> ParsedChat:
    """A Messages API body as the gateway's ParsedChat; raises ValidationError naming the field."""
    if not isinstance(body, dict):
        raise _fail("body", type(body).__name__, "the request body must be a JSON object")
    for name in body:
        if name not in _FIELDS:
            raise _fail(name, body[name], f"`{name}` is not offered by this gateway's Messages API")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail("model", model, "`model` is required: a catalog model id, an alias, or podium/auto")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise _fail("max_tokens", max_tokens, "`max_tokens` is required: a whole number of at least 1")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise _fail("messages", raw_messages, "`messages` must be a non-empty array")
    system = body.get("system")
    messages = [Message.system(_text_of(system, "system"))] if system else []
    for i, raw in enumerate(raw_messages):
        messages.extend(_message(raw, i))
    choice, parallel = _tool_choice(body.get("tool_choice"))
    metadata = body.get("metadata") or {}
    tier = body.get("service_tier")
    if tier is not None and tier not in _SERVICE_TIERS:
        raise _fail("service_tier", tier, "use auto or standard_only")
    stop = body.get("stop_sequences")
    request = ChatRequest(
        messages=tuple(messages), max_tokens=max_tokens, temperature=body.get("temperature"), top_p=body.get("top_p"),
        stop=tuple(stop) if isinstance(stop, list) else None, tools=_tools(body.get("tools")), tool_choice=choice,
        parallel_tool_calls=parallel, user=metadata.get("user_id") if isinstance(metadata, dict) else None,
        reasoning_effort=_effort(body.get("thinking")), service_tier=_SERVICE_TIERS.get(tier) if tier else None,
    )
    return ParsedChat(model=model.strip(), request=request, stream=body.get("stream") is True)


def usage_json(usage: Usage) -> dict[str, Any]:
    """Anthropic counts fresh, cache-read and cache-written prompt tokens apart; Podium's input counts all three."""
    fresh = usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens
    return {"input_tokens": max(0, fresh), "output_tokens": usage.output_tokens,
            "cache_read_input_tokens": usage.cached_input_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens}


def stop_reason(completion: Completion) -> str:
    if completion.tool_calls:
        return "tool_use"
    return _STOP_REASONS.get(completion.finish_reason or "stop", "end_turn")


def message_json(completion: Completion, *, message_id: str, usage: Usage) -> dict[str, Any]:
    """The ``message`` object: text then tool_use blocks."""
    content: list[dict[str, Any]] = [{"type": "text", "text": completion.text}] if completion.text else []
    for i, call in enumerate(completion.tool_calls or ()):
        fn = call.get("function") or {}
        content.append({"type": "tool_use", "id": call.get("id") or f"toolu_{i}", "name": fn.get("name", ""),
                        "input": _arguments(fn.get("arguments"))})
    return {"id": message_id, "type": "message", "role": "assistant", "model": completion.model, "content": content,
            "stop_reason": stop_reason(completion), "stop_sequence": None, "usage": usage_json(usage)}


def _arguments(raw: Any) -> Any:
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw or "{}")
    except ValueError:
        return {"_raw": raw}


def error_json(err: GatewayError) -> dict[str, Any]:
    """Anthropic's error body; the message names the field, as every gateway error does."""
    kind = ERROR_TYPES.get(err.status, "api_error" if err.status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": err.message}}


def event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps({'type': name, **data}, separators=(',', ':'))}\n\n".encode()


async def message_events(pieces: AsyncIterator[Piece], *, message_id: str, model: str) -> AsyncIterator[bytes]:
    """The Messages stream: message_start, a content block per text run or tool call, message_delta, message_stop."""
    start = {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}
    yield event("message_start", {"message": start})
    block: tuple[str, int] | None = None  # ("text", -1) or ("tool", tool index) of the open block
    index = -1
    async for piece in pieces:
        if isinstance(piece, Ending):
            if block is not None:
                yield event("content_block_stop", {"index": index})
            delta = {"stop_reason": stop_reason(piece.completion), "stop_sequence": None}
            yield event("message_delta", {"delta": delta, "usage": usage_json(piece.usage)})
            yield event("message_stop", {})
            return
        key = ("text", -1) if isinstance(piece, TextPiece) else ("tool", piece.index)
        if key != block:
            if block is not None:
                yield event("content_block_stop", {"index": index})
            index, block = index + 1, key
            opened = {"type": "text", "text": ""} if isinstance(piece, TextPiece) else \
                {"type": "tool_use", "id": piece.call_id or f"toolu_{piece.index}", "name": piece.name or "", "input": {}}
            yield event("content_block_start", {"index": index, "content_block": opened})
        if isinstance(piece, TextPiece):
            yield event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece.text}})
        elif isinstance(piece, ToolPiece) and piece.arguments:
            delta = {"type": "input_json_delta", "partial_json": piece.arguments}
            yield event("content_block_delta", {"index": index, "delta": delta})
