"""``POST /v1/feedback``: a client rates an answer it got, by request id (``x-podium-request-id``).

Body: ``{"request_id": "...", "score": 0.8}`` or ``{"request_id": "...", "label": "good"|"bad"}``, optional
``"note"``. A virtual key can rate only its own calls (another key's id is 404, as an unknown one is). A repeat
replaces the earlier verdict. ``chatcmpl-<id>`` (a response's ``id``) is accepted for ``<id>``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podium.ledger.feedback import LABELS, MAX_NOTE_CHARS, UnknownRequestError, check_note, parse_verdict
from podium.server.errors import GatewayError

if TYPE_CHECKING:
    from podium.server.app import Gateway

PATH = "/v1/feedback"
FIELDS: tuple[str, ...] = ("request_id", "score", "label", "note")
_RESPONSE_PREFIX = "chatcmpl-"


def _bad(message: str, param: str) -> GatewayError:
    return GatewayError(400, message, code="invalid_value", param=param)


def parse_feedback(body: object) -> tuple[str, float | str, str | None]:
    """(request id, score or label, note) from the JSON body; a bad field is a 400 naming it and what is valid."""
    if not isinstance(body, dict):
        raise _bad(f"the request body must be a JSON object with {', '.join(FIELDS)}", "body")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}; valid fields: {', '.join(FIELDS)}", unknown[0])
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not request_id.strip():
        raise _bad("request_id is required: the x-podium-request-id of the call to rate", "request_id")
    has_score, has_label = body.get("score") is not None, body.get("label") is not None
    if has_score == has_label:
        raise _bad("give exactly one of score (a number from 0 to 1) or label (good or bad)",
                   "label" if has_label else "score")
    if has_label:
        label = body["label"]
        if not isinstance(label, str) or label.strip().lower() not in LABELS:
            raise _bad(f"label {label!r} is not valid; use one of: {', '.join(LABELS)}", "label")
        verdict: float | str = label.strip().lower()
    else:
        score = body["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise _bad(f"score {score!r} is not valid; use a number from 0 to 1", "score")
        verdict = float(score)
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
        raise _bad(f"note must be a string of at most {MAX_NOTE_CHARS} characters", "note")
    return request_id.strip(), verdict, note


async def _body(request: Request, max_bytes: int) -> Any:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise GatewayError(413, f"request body is over the limit of {max_bytes} bytes (server.max_body_bytes)",
                           code="request_too_large")
    try:
        return json.loads(raw)
    except ValueError:
        raise _bad("the request body is not valid JSON", "body") from None


def feedback_route(gateway: Gateway) -> Route:
    """The route, bound to the gateway's keys, engine client and error rendering."""

    async def post_feedback(request: Request) -> Response:
        try:
            key = gateway.keys.authenticate(request.headers.get("authorization"))
            request_id, verdict, note = parse_feedback(await _body(request, gateway.settings.max_body_bytes))
            parse_verdict(verdict, field="score")
            client = gateway.service().client
            key_id = key.id if key is not None else None
            try:
                stored = await client.feedback(request_id, verdict, check_note(note), key=key_id)
            except UnknownRequestError:
                if not request_id.startswith(_RESPONSE_PREFIX):
                    raise
                stored = await client.feedback(request_id[len(_RESPONSE_PREFIX):], verdict, note, key=key_id)
        except UnknownRequestError as exc:
            return gateway.error_response(
                GatewayError(404, str(exc), code="request_not_found", param="request_id"), request
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes an OpenAI-shaped error response
            return gateway.error_response(exc, request)
        return JSONResponse({"object": "feedback", **stored.to_dict()})

    return Route(PATH, post_feedback, methods=["POST"])
