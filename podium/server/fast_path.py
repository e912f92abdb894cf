"""The chat endpoint without Starlette's per-request machinery: routing, middleware layers and Request objects.

``POST /v1/chat/completions`` is nearly all of a gateway's traffic, so ``GatewayApp`` answers it straight from the
ASGI scope: headers read once into a dict, the body gathered from ``receive``, a whole answer sent as two ASGI
messages. Everything else (other routes, streams, errors, lifespan) is the ordinary Starlette app. Measured by
benchmarks/gateway.py: about a tenth of the gateway's CPU per request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Protocol

import orjson
from starlette.applications import Starlette
from starlette.responses import Response

from podium.server.errors import GatewayError

if TYPE_CHECKING:
    from podium.server.app import Gateway

Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_JSON_HEADERS = [(b"content-type", b"application/json")]


class HasHeaders(Protocol):
    """What the chat handlers read of a request: its headers (Starlette's Request, or ``RawRequest``)."""

    @property
    def headers(self) -> Mapping[str, str]: ...


class RawRequest:
    """A request's headers from the ASGI scope: lower-case names, the first value of a repeated header."""

    __slots__ = ("headers",)

    def __init__(self, scope: Scope) -> None:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:  # type: ignore[attr-defined]
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        self.headers = headers


class GatewayApp(Starlette):
    """The gateway's Starlette app, with the chat endpoint answered on the fast path when no tracer is set."""

    gateway: Gateway
    fast: bool = True  # False when requests are traced: TraceRequests then wraps every route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in CHAT_PATHS and self.fast:
            await serve_chat(self.gateway, scope, receive, send)
            return
        await super().__call__(scope, receive, send)  # type: ignore[arg-type]


async def serve_chat(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    request = RawRequest(scope)
    limit = gw.settings.max_body_bytes
    reply = await gw.chat_reply(request, lambda: read_json(request.headers, receive, limit))
    if isinstance(reply, Response):  # a stream or an error: Starlette's responses are ASGI apps
        await reply(scope, receive, send)  # type: ignore[arg-type]
        return
    payload, headers = reply
    raw = [(b"content-length", str(len(payload)).encode())] + _JSON_HEADERS
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def read_json(headers: Mapping[str, str], receive: Receive, max_bytes: int) -> object:
    """The request body as JSON; 413 past ``max_bytes`` (declared or sent), 400 naming where the JSON broke."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large(f"request body of {declared} bytes is over the limit of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(400, "the client disconnected before the request body arrived", param="body")
        chunk = message.get("body", b"")
        assert isinstance(chunk, bytes)
        size += len(chunk)
        if size > max_bytes:
            raise too_large(f"request body is over the limit of {max_bytes} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return parse_json(b"".join(chunks))


def too_large(what: str) -> GatewayError:
    return GatewayError(413, f"{what} (server.max_body_bytes)", code="request_too_large")


def parse_json(raw: bytes) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # orjson refuses a few things the standard parser takes (ints past 64 bits); it decides, and words errors
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise GatewayError(
            400,
            f"the request body is not valid JSON: {exc.msg} at position {exc.pos}"
            if isinstance(exc, json.JSONDecodeError)
            else "the request body is not valid JSON",
            param="body",
        ) from None


def dump_json(body: object) -> bytes:
    """Compact UTF-8 JSON (orjson; the standard encoder for what orjson does not take)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
