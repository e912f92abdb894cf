"""How the fake upstream speaks each wire format: reply bodies, SSE frames and error bodies.

Every function here is pure; ``fake_upstream`` decides what to answer and these decide how it looks.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from podium.core.json_types import JSONValue
from podium.core.tokens import estimate_text_tokens
from podium.core.types import Usage
from podium.providers.openai_wire import usage_to_wire
from podium.providers.tool_calls import call_arguments, call_name

PROVIDERS = ("openai", "anthropic", "gemini")


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake answers: the text, tool calls (OpenAI shape), finish reason (Podium's names), usage, and the
    token logprobs returned when a request asks for them (None: a confident default per token)."""

    text: str
    usage: Usage
    finish_reason: str = "stop"
    tool_calls: tuple[dict[str, Any], ...] = ()
    logprobs: tuple[float, ...] | None = None


DEFAULT_LOGPROB = -0.01  # an unscripted answer's tokens are confident


def token_logprobs(reply: Reply) -> list[tuple[str, float]]:
    """(token, logprob) pairs for the reply: its scripted logprobs over its word pieces (a piece per value,
    ``""`` once the pieces run out), else the default for each piece."""
    words = pieces(reply.text)
    values = reply.logprobs if reply.logprobs is not None else (DEFAULT_LOGPROB,) * len(words)
    return [(words[i] if i < len(words) else "", lp) for i, lp in enumerate(values)]


def billed_once(replies: Sequence[Reply]) -> Usage:
    """Usage of ``n`` answers to one request: the prompt counted once, every answer's output tokens added up."""
    first = replies[0].usage
    return Usage(
        input_tokens=first.input_tokens,
        output_tokens=sum(r.usage.output_tokens for r in replies),
        cached_input_tokens=first.cached_input_tokens,
        reasoning_tokens=sum(r.usage.reasoning_tokens for r in replies),
        cache_write_tokens=first.cache_write_tokens,
    )


def sse(data: JSONValue, event: str | None = None) -> str:
    """One SSE frame."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n"


def pieces(text: str) -> list[str]:
    """Split text into word-sized stream deltas that join back to the exact text."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


# -- reading requests -----------------------------------------------------------------------------------------------
def prompt_texts(provider: str, body: dict[str, Any]) -> tuple[str, str]:
    """(all prompt text, last user text) of a request in any of the three formats."""
    def text_of(content: object) -> str:
        if isinstance(content, str):
            return content
        return "".join(p.get("text") or "" for p in content or () if isinstance(p, dict))

    if provider == "gemini":
        turns = [(c.get("role", "user"), text_of(c.get("parts"))) for c in body.get("contents", ())]
        system = text_of((body.get("systemInstruction") or {}).get("parts"))
    else:
        turns = [(m.get("role", "user"), text_of(m.get("content"))) for m in body.get("messages", ())]
        system = text_of(body.get("system")) if provider == "anthropic" else ""
    users = [t for role, t in turns if role == "user"]
    return "\n".join([system] + [t for _, t in turns]).strip(), (users[-1] if users else "")


def samples_asked(provider: str, body: dict[str, Any]) -> int:
    """How many answers the request asks for: OpenAI's ``n`` (the other wires: one)."""
    n = body.get("n") if provider == "openai" else None
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1


def logprobs_asked(provider: str, body: dict[str, Any]) -> tuple[bool, int]:
    """(whether token logprobs are asked for, how many top alternatives per token)."""
    if provider == "gemini":
        config = body.get("generationConfig") or {}
        return bool(config.get("responseLogprobs")), int(config.get("logprobs") or 0)
    if provider == "openai":
        return bool(body.get("logprobs")), int(body.get("top_logprobs") or 0)
    return False, 0


def max_tokens(provider: str, body: dict[str, Any]) -> int | None:
    if provider == "gemini":
        return (body.get("generationConfig") or {}).get("maxOutputTokens")
    return body.get("max_completion_tokens") or body.get("max_tokens")


# -- OpenAI ---------------------------------------------------------------------------------------------------------
openai_usage = usage_to_wire


def _openai_logprobs(reply: Reply, top: int) -> dict[str, Any]:
    def entry(token: str, lp: float) -> dict[str, Any]:
        return {"token": token, "logprob": lp, "bytes": list(token.encode())}

    content = [{**entry(t, lp), "top_logprobs": [entry(t, lp)] if top else []} for t, lp in token_logprobs(reply)]
    return {"content": content, "refusal": None}


def _openai_choice(reply: Reply, index: int, logprobs: bool, top: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text if reply.text or not reply.tool_calls else None}
    if reply.tool_calls:
        message["tool_calls"] = list(reply.tool_calls)
    return {"index": index, "message": message, "finish_reason": reply.finish_reason,
            "logprobs": _openai_logprobs(reply, top) if logprobs else None}


def openai_body(
    reply: Reply, model: str, rid: str, *, samples: Sequence[Reply] = (), logprobs: bool = False, top_logprobs: int = 0
) -> dict[str, Any]:
    """A chat.completion; ``samples`` are the further choices of an ``n`` > 1 request (prompt billed once)."""
    replies = [reply, *samples]
    return {
        "id": rid, "object": "chat.completion", "created": 0, "model": model,
        "choices": [_openai_choice(r, i, logprobs, top_logprobs) for i, r in enumerate(replies)],
        "usage": openai_usage(billed_once(replies)),
    }


def _openai_chunk(rid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return {"id": rid, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": [choice]}


def openai_frames(reply: Reply, model: str, rid: str, *, include_usage: bool) -> list[str]:
    frames = [sse(_openai_chunk(rid, model, {"role": "assistant", "content": ""}))]
    frames += [sse(_openai_chunk(rid, model, {"content": p})) for p in pieces(reply.text)]
    for i, call in enumerate(reply.tool_calls):
        frames.append(sse(_openai_chunk(rid, model, {"tool_calls": [{"index": i, **call}]})))
    frames.append(sse(_openai_chunk(rid, model, {}, reply.finish_reason)))
    if include_usage:
        usage_chunk = {"id": rid, "object": "chat.completion.chunk", "created": 0, "model": model, "choices": []}
        frames.append(sse({**usage_chunk, "usage": openai_usage(reply.usage)}))
    frames.append(sse("[DONE]"))
    return frames


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind, code = {
        401: ("invalid_request_error", "invalid_api_key"),
        429: ("requests", "rate_limit_exceeded"),
        400: ("invalid_request_error", None),
    }.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# -- Anthropic ------------------------------------------------------------------------------------------------------
ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
    413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error",
}


def anthropic_usage(u: Usage) -> dict[str, Any]:
    return {
        "input_tokens": u.input_tokens - u.cached_input_tokens - u.cache_write_tokens,
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cached_input_tokens,
        "output_tokens": u.output_tokens,
    }


def anthropic_body(reply: Reply, model: str, rid: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [
        {"type": "tool_use", "id": c["id"], "name": call_name(c), "input": call_arguments(c)} for c in reply.tool_calls
    ]
    return {
        "id": rid, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": ANTHROPIC_STOP.get(reply.finish_reason, reply.finish_reason), "stop_sequence": None,
        "usage": anthropic_usage(reply.usage),
    }


def anthropic_frames(reply: Reply, model: str, rid: str) -> list[str]:
    start_usage = {**anthropic_usage(reply.usage), "output_tokens": 1}
    message = {**anthropic_body(reply, model, rid), "content": [], "stop_reason": None, "usage": start_usage}
    frames = [sse({"type": "message_start", "message": message}, "message_start")]
    index = 0
    if reply.text:
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        frames += [sse(block, "content_block_start"), sse({"type": "ping"}, "ping")]
        for p in pieces(reply.text):
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}
            frames.append(sse(delta, "content_block_delta"))
        frames.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for call in reply.tool_calls:
        start = {"type": "tool_use", "id": call["id"], "name": call_name(call), "input": {}}
        frames.append(sse({"type": "content_block_start", "index": index, "content_block": start}, "content_block_start"))
        partial = {"type": "input_json_delta", "partial_json": json.dumps(call_arguments(call))}
        frames.append(sse({"type": "content_block_delta", "index": index, "delta": partial}, "content_block_delta"))
        frames.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        index += 1
    stop = ANTHROPIC_STOP.get(reply.finish_reason, reply.finish_reason)
    end = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
           "usage": {"output_tokens": reply.usage.output_tokens}}
    frames += [sse(end, "message_delta"), sse({"type": "message_stop"}, "message_stop")]
    return frames


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# -- Gemini ---------------------------------------------------------------------------------------------------------
GEMINI_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
GEMINI_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}


def gemini_usage(u: Usage) -> dict[str, Any]:
    out = {
        "promptTokenCount": u.input_tokens,
        "candidatesTokenCount": u.output_tokens - u.reasoning_tokens,
        "totalTokenCount": u.total_tokens,
    }
    if u.cached_input_tokens:
        out["cachedContentTokenCount"] = u.cached_input_tokens
    if u.reasoning_tokens:
        out["thoughtsTokenCount"] = u.reasoning_tokens
    return out


def _gemini_call(call: dict[str, Any]) -> dict[str, Any]:
    return {"functionCall": {"name": call_name(call), "args": call_arguments(call)}}


def _gemini_response(parts: list[dict[str, Any]], model: str, rid: str, finish: str | None = None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": model, "responseId": rid}


def gemini_logprobs(reply: Reply, top: int) -> dict[str, Any]:
    """A candidate's ``avgLogprobs`` and ``logprobsResult`` (chosen tokens, and ``top`` alternatives per step)."""
    pairs = token_logprobs(reply)
    chosen = [{"token": t, "tokenId": i, "logProbability": lp} for i, (t, lp) in enumerate(pairs)]
    result: dict[str, Any] = {"chosenCandidates": chosen, "logProbabilitySum": sum(lp for _, lp in pairs)}
    if top:
        result["topCandidates"] = [{"candidates": [c]} for c in chosen]
    avg = result["logProbabilitySum"] / len(pairs) if pairs else 0.0
    return {"avgLogprobs": avg if math.isfinite(avg) else 0.0, "logprobsResult": result}


def gemini_body(reply: Reply, model: str, rid: str, *, logprobs: bool = False, top_logprobs: int = 0) -> dict[str, Any]:
    parts = ([{"text": reply.text}] if reply.text else []) + [_gemini_call(c) for c in reply.tool_calls]
    body = _gemini_response(parts, model, rid, GEMINI_FINISH.get(reply.finish_reason, "STOP"))
    if logprobs:
        body["candidates"][0].update(gemini_logprobs(reply, top_logprobs))
    return {**body, "usageMetadata": gemini_usage(reply.usage)}


def gemini_frames(reply: Reply, model: str, rid: str) -> list[str]:
    chunks = [[{"text": p}] for p in pieces(reply.text)] + [[_gemini_call(c)] for c in reply.tool_calls]
    chunks = chunks or [[{"text": ""}]]
    frames = [sse(_gemini_response(parts, model, rid)) for parts in chunks[:-1]]
    last = _gemini_response(chunks[-1], model, rid, GEMINI_FINISH.get(reply.finish_reason, "STOP"))
    frames.append(sse({**last, "usageMetadata": gemini_usage(reply.usage)}))
    return frames


def gemini_error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": GEMINI_STATUS.get(status, "UNKNOWN")}}


ERROR_BODIES = {"openai": openai_error, "anthropic": anthropic_error, "gemini": gemini_error}


EMBEDDING_DIMENSIONS = 8  # the fake's vector length when the body asks for no ``dimensions``


def embedding_vector(item: str | list[int], dimensions: int) -> list[float]:
    """A deterministic unit-free vector for one input: the same input always gets the same vector."""
    seed = hashlib.sha256(json.dumps(item).encode("utf-8")).digest()
    return [round(seed[i % len(seed)] / 255.0 - 0.5, 6) for i in range(dimensions)]


def embedding_body(body: dict[str, Any], model: str) -> dict[str, Any] | None:
    """OpenAI's embeddings ``list`` for ``body``, with usage counted from the input (4 characters a token, a token
    array's length); None when ``input`` is not one of the documented shapes."""
    raw = body.get("input")
    items = [raw] if isinstance(raw, str) or (isinstance(raw, list) and raw and isinstance(raw[0], int)) else raw
    if not isinstance(items, list) or not items or not all(isinstance(i, (str, list)) for i in items):
        return None
    size = body.get("dimensions") or EMBEDDING_DIMENSIONS
    tokens = sum(estimate_text_tokens(i) if isinstance(i, str) else len(i) for i in items)
    vectors = [embedding_vector(i, size) for i in items]
    if body.get("encoding_format") == "base64":
        vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode("ascii") for v in vectors]  # type: ignore[misc]
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
