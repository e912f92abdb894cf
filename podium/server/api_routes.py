"""The endpoints that speak other APIs over the same engine: Anthropic ``/v1/messages``, OpenAI ``/v1/responses``,
the legacy ``/v1/completions`` and ``/v1/embeddings``; and the OpenAI-shaped JSON answer for a route that does not
exist.

Each translates its body into the gateway's ParsedChat and goes through ``Gateway.admitted`` (keys, budgets,
limits, allow-lists, tags), so every endpoint answers with the same x-podium-* cost headers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.core.errors import ValidationError
from podium.server import anthropic_messages as messages_api
from podium.server import responses_api
from podium.server.answer_stream import Ending, Piece, TextPiece, open_pieces
from podium.server.chat import OnUsage, response_headers
from podium.server.embeddings_api import embeddings_json, parse_embeddings_request
from podium.server.errors import GatewayError, to_gateway_error
from podium.server.openai_request import parse_chat_request
from podium.server.openai_response import DONE, finish_reason, sse, usage_json

if TYPE_CHECKING:
    from podium.server.app import Gateway
    from podium.server.keys import TokenBooking

ReadJSON = Callable[[Request, int], Awaitable[Any]]
_LEGACY_REFUSED = {"suffix": "`suffix` (insertion) is not offered", "echo": "`echo` is not offered",
                   "best_of": "`best_of` is not offered; use n", "logprobs": "legacy integer `logprobs` is not offered"}


def _authorization(request: Request) -> str | None:
    """``Authorization: Bearer``, or the Anthropic SDK's ``x-api-key``."""
    header = request.headers.get("authorization")
    if header is None and (api_key := request.headers.get("x-api-key")):
        return f"Bearer {api_key}"
    return header


async def _guarded(frames: AsyncIterator[bytes], on_error: Callable[[GatewayError], bytes],
                   secrets: Callable[[], Any]) -> AsyncIterator[bytes]:
    """After the status line is sent a failure can only be reported in-band, as each API does it."""
    try:
        async for frame in frames:
            yield frame
    except Exception as exc:  # noqa: BLE001
        yield on_error(to_gateway_error(exc, secrets()))


def api_routes(gw: Gateway, read_json: ReadJSON) -> list[Route]:
    async def chat_shaped(request: Request, parse: Callable[[Any], Any]) -> tuple[Any, Any, Any, Any, Any]:
        key = gw.keys.authenticate(_authorization(request))
        parsed = parse(await read_json(request, gw.settings.max_body_bytes))
        chat, target, meta, booking = await gw.admitted(request, key, parsed)
        return parsed, chat, target, meta, booking

    def settle(booking: TokenBooking | None) -> OnUsage | None:
        """What settles a stream's key tpm booking to the tokens its answer used."""
        return None if booking is None else partial(gw.keys.settle, booking)

    async def messages(request: Request) -> Response:
        try:
            parsed, chat, target, meta, booking = await chat_shaped(request, messages_api.parse_messages_request)
            if parsed.stream:
                pieces, headers = await open_pieces(chat, parsed, target, meta, on_usage=settle(booking))
                events = messages_api.message_events(pieces, message_id=f"msg_{headers['x-podium-request-id']}",
                                                     model=target.model or parsed.model)
                frames = _guarded(events, lambda e: messages_api.event("error", messages_api.error_json(e)),
                                  gw.secrets)
                return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
            answer = await chat.answer(parsed, target, meta)
            await gw.keys.settle(booking, answer.usage.total_tokens)
            rid = answer.request_id or uuid.uuid4().hex
            body = messages_api.message_json(answer.completion, message_id=f"msg_{rid}", usage=answer.usage)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Anthropic-shaped error
            return gw.error_response(exc, request, messages_api.error_json)
        return JSONResponse(body, headers=answer.headers(rid))

    async def responses(request: Request) -> Response:
        try:
            parsed, chat, target, meta, booking = await chat_shaped(request, responses_api.parse_responses_request)
            created = int(gw.clock.now().timestamp())
            if parsed.stream:
                pieces, headers = await open_pieces(chat, parsed, target, meta, on_usage=settle(booking))
                writer = responses_api.ResponseEvents(response_id=f"resp_{headers['x-podium-request-id']}",
                                                      created=created, model=target.model or parsed.model)
                frames = _guarded(writer.render(pieces), lambda e: _response_error(e), gw.secrets)
                return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
            answer = await chat.answer(parsed, target, meta)
            await gw.keys.settle(booking, answer.usage.total_tokens)
            rid = answer.request_id or uuid.uuid4().hex
            body = responses_api.response_json(answer.completion, response_id=f"resp_{rid}", created=created,
                                               model=answer.completion.model, usage=answer.usage)
        except Exception as exc:  # noqa: BLE001
            return gw.error_response(exc, request)
        return JSONResponse(body, headers=answer.headers(rid))

    async def response_by_id(request: Request) -> Response:
        err = GatewayError(404, f"response {request.path_params['rid']!r} is not stored: Podium keeps no responses "
                           "(store is always false)", code="not_stored", param="response_id")
        return gw.error_response(err, request)

    async def completions(request: Request) -> Response:
        try:
            parsed, chat, target, meta, booking = await chat_shaped(request, parse_legacy_completion)
            created = int(gw.clock.now().timestamp())
            if parsed.stream:
                pieces, headers = await open_pieces(chat, parsed, target, meta, on_usage=settle(booking))
                frames = _legacy_frames(pieces, f"cmpl-{headers['x-podium-request-id']}", created,
                                        target.model or parsed.model)
                return StreamingResponse(_guarded(frames, lambda e: sse(e.body()), gw.secrets),
                                         media_type="text/event-stream", headers=headers)
            answer = await chat.answer(parsed, target, meta)
            await gw.keys.settle(booking, answer.usage.total_tokens)
            rid = answer.request_id or uuid.uuid4().hex
            c = answer.completion
            choices = [{"text": text, "index": i, "logprobs": None, "finish_reason": finish_reason(c.finish_reason)}
                       for i, text in enumerate(c.samples or (c.text,))]
            body = {"id": f"cmpl-{rid}", "object": "text_completion", "created": created, "model": c.model,
                    "choices": choices, "usage": usage_json(answer.usage)}
        except Exception as exc:  # noqa: BLE001
            return gw.error_response(exc, request)
        return JSONResponse(body, headers=answer.headers(rid))

    async def embeddings(request: Request) -> Response:
        try:
            key = gw.keys.authenticate(_authorization(request))
            call = parse_embeddings_request(await read_json(request, gw.settings.max_body_bytes))
            chat, target, meta, booking = await gw.admitted(request, key, call.admission)
            if target.model is None:
                raise GatewayError(400, f"model: {call.model!r} routes chat calls; name an embedding model such as "
                                   "openai:text-embedding-3-small", code="invalid_model", param="model")
            result = await chat.client.embed(call.inputs, model=target.model, meta=meta, dimensions=call.dimensions)
            await gw.keys.settle(booking, result.usage.total_tokens)
            body = embeddings_json(result, call.encoding_format)
        except Exception as exc:  # noqa: BLE001
            return gw.error_response(exc, request)
        rid = result.request_id or uuid.uuid4().hex
        return JSONResponse(body, headers=response_headers(None, rid, model=result.model, cost_usd=result.cost_usd))

    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/responses/{rid}", response_by_id, methods=["GET", "DELETE"]),
        Route("/v1/completions", completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
    ]


def _response_error(err: GatewayError) -> bytes:
    data = {"type": "error", "code": err.code, "message": err.message, "param": err.param, "sequence_number": 0}
    return f"event: error\ndata: {json.dumps(data)}\n\n".encode()


def parse_legacy_completion(body: object) -> Any:
    """A legacy Completions body as a one-message chat request (``prompt`` as the user message)."""
    if not isinstance(body, dict):
        raise ValidationError("body: the request body must be a JSON object", field="body")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise ValidationError("prompt: use one string (arrays of prompts and token arrays are not offered)",
                              field="prompt", value=prompt)
    for name, why in _LEGACY_REFUSED.items():
        if body.get(name) not in (None, False, 1 if name == "best_of" else None):
            raise ValidationError(f"{name}: {why}", field=name, value=body[name])
    chat = {k: v for k, v in body.items() if k not in ("prompt", *_LEGACY_REFUSED)}
    chat["messages"] = [{"role": "user", "content": prompt}]
    chat.setdefault("max_tokens", 16)  # the legacy API's default
    return parse_chat_request(chat)


async def _legacy_frames(pieces: AsyncIterator[Piece], rid: str, created: int, model: str) -> AsyncIterator[bytes]:
    def frame(text: str, reason: str | None) -> bytes:
        return sse({"id": rid, "object": "text_completion", "created": created, "model": model,
                    "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": reason}]})

    async for piece in pieces:
        if isinstance(piece, TextPiece):
            yield frame(piece.text, None)
        elif isinstance(piece, Ending):
            yield frame("", finish_reason(piece.completion.finish_reason))
    yield DONE


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    what = "does not exist on this gateway" if status == 404 else f"does not take {request.method}"
    message = (f"{request.method} {request.url.path} {what}; the endpoints are /v1/chat/completions, /v1/messages, "
               "/v1/responses, /v1/completions, /v1/embeddings, /v1/models, /v1/feedback, /healthz and /metrics")
    code = "unknown_route" if status == 404 else "method_not_allowed"
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
                        status_code=status)


NOT_FOUND_HANDLERS: dict[Any, Any] = {404: _not_found, 405: _not_found}
