"""The fake upstream's HTTP side: which provider a path speaks, reply bodies, stream frames and faults."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from podium.core.tokens import estimate_text_tokens as estimate_tokens  # the fake's counts: 4 chars a token
from podium.core.types import Usage
from podium.testing import fake_upstream_wire as wire
from podium.testing.fake_upstream_wire import Reply

FaultKind = int | str  # an HTTP status, or "timeout" | "malformed" | "cut"
DEFAULT_KINDS: tuple[FaultKind, ...] = (429, 500, 503, "timeout", "malformed", "cut")
_GEMINI_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")
_MESSAGES = {400: "invalid request", 401: "Incorrect API key provided", 403: "permission denied",
             429: "Rate limit reached for requests", 500: "The server had an error while processing your request",
             503: "The service is temporarily unavailable", 529: "Overloaded"}


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    remaining: int | None
    retry_after: float | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after_chunks: int = 1


@dataclass(slots=True)
class Scripted:
    text: str
    usage: Usage | None
    finish_reason: str
    tool_calls: tuple[dict[str, Any], ...]
    remaining: int | None
    logprobs: tuple[float, ...] | None = None


def route_of(request: Request) -> tuple[str | None, str, bool]:
    path = request.url.path
    if path.endswith("/chat/completions"):
        return "openai", "", False
    if path.endswith("/messages"):
        return "anthropic", "", False
    if m := _GEMINI_PATH.search(path):
        return "gemini", m.group("model"), m.group("method") == "streamGenerateContent"
    return None, "", False


def reply_for(provider: str, body: dict[str, Any], scripted: Scripted | None) -> Reply:
    prompt, last_user = wire.prompt_texts(provider, body)
    if scripted is not None:
        out_text = scripted.text + "".join(c["function"]["arguments"] for c in scripted.tool_calls)
        usage = scripted.usage or Usage(estimate_tokens(prompt), estimate_tokens(out_text))
        return Reply(scripted.text, usage, scripted.finish_reason, scripted.tool_calls, scripted.logprobs)
    text, finish = f"echo: {last_user}", "stop"
    limit = wire.max_tokens(provider, body)
    if limit is not None and estimate_tokens(text) > limit:
        text, finish = text[: limit * 4], "length"
    return Reply(text, Usage(estimate_tokens(prompt), estimate_tokens(text)), finish)


def body_for(provider: str, replies: list[Reply], model: str, n: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    logprobs, top = wire.logprobs_asked(provider, body or {})
    if provider == "openai":
        return wire.openai_body(replies[0], model, f"chatcmpl-fake-{n}", samples=replies[1:], logprobs=logprobs,
                                top_logprobs=top)
    if provider == "anthropic":
        return wire.anthropic_body(replies[0], model, f"msg_fake_{n}")
    return wire.gemini_body(replies[0], model, f"fake-{n}", logprobs=logprobs, top_logprobs=top)


def frames_for(provider: str, reply: Reply, model: str, body: dict[str, Any], n: int) -> list[str]:
    if provider == "openai":
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return wire.openai_frames(reply, model, f"chatcmpl-fake-{n}", include_usage=include_usage)
    if provider == "anthropic":
        return wire.anthropic_frames(reply, model, f"msg_fake_{n}")
    return wire.gemini_frames(reply, model, f"fake-{n}")


def error_response(provider: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(wire.ERROR_BODIES[provider](status, message), status_code=status, headers=headers)


def fault_response(provider: str, fault: Fault, model: str, stream: bool) -> Response:
    if isinstance(fault.kind, int):
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        return error_response(provider, fault.kind, fault.message or _MESSAGES.get(fault.kind, "error"), headers)
    reply = Reply("this answer was cut short by the fake upstream", Usage(1, 9))
    if fault.kind == "malformed":
        if stream:
            return StreamingResponse(paced(['data: {"not json\n\n'], 0), media_type="text/event-stream")
        return Response('{"choices": [{"message": ', media_type="application/json")
    if stream:  # "cut"
        frames = frames_for(provider, reply, model, {"stream_options": {"include_usage": True}}, 0)
        return StreamingResponse(paced(frames[: fault.after_chunks], 0), media_type="text/event-stream")
    text = json.dumps(body_for(provider, [reply], model, 0))
    return Response(text[: len(text) // 2], media_type="application/json")


async def paced(frames: list[str], gap: float) -> AsyncIterator[str]:
    for i, frame in enumerate(frames):
        if gap and i:
            await asyncio.sleep(gap)
        yield frame


async def sleep_unless_gone(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``; stop early and return True when the client disconnects (it timed out)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, 0.02))
        if await request.is_disconnected():
            return True
    return False
