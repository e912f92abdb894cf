"""OpenAI's ``POST /v1/embeddings`` on the gateway: the request body parsed, and the ``list`` answer rendered.

The call is admitted like a chat call (``Gateway.admitted``: key, allow-list, rate limit) with a stand-in chat
request holding the input texts, then runs ``Podium.embed`` (ledger reservation, budgets, exact cost).
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any

from podium.core.embeddings import EmbeddingInput, EmbeddingResult, embedding_inputs, input_text
from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Message
from podium.providers.openai_wire import embedding_response_to_wire
from podium.server.openai_request import ParsedChat

ENCODINGS = ("float", "base64")
_FIELDS = ("model", "input", "encoding_format", "dimensions", "user")


@dataclass(frozen=True, slots=True)
class EmbeddingsCall:
    """One ``/v1/embeddings`` body; ``admission`` is what ``Gateway.admitted`` checks (model, texts, user)."""

    model: str
    inputs: tuple[EmbeddingInput, ...]
    encoding_format: str
    dimensions: int | None
    user: str | None
    admission: ParsedChat


def parse_embeddings_request(body: object) -> EmbeddingsCall:
    """The body as an EmbeddingsCall; a ValidationError naming the field for anything else."""
    if not isinstance(body, dict):
        raise ValidationError("body: the request body must be a JSON object", field="body")
    unknown = [k for k in body if k not in _FIELDS]
    if unknown:
        raise ValidationError(f"{unknown[0]}: not an embeddings field; the fields are {', '.join(_FIELDS)}",
                              field=unknown[0], value=body[unknown[0]])
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ValidationError("model: name an embedding model, such as openai:text-embedding-3-small",
                              field="model", value=model)
    encoding = body.get("encoding_format") or "float"
    if encoding not in ENCODINGS:
        raise ValidationError(f"encoding_format: use one of {', '.join(ENCODINGS)}", field="encoding_format",
                              value=encoding)
    dimensions = body.get("dimensions")
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1):
        raise ValidationError("dimensions: use a whole number of at least 1", field="dimensions", value=dimensions)
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise ValidationError("user: use a string", field="user", value=user)
    inputs = embedding_inputs(body.get("input"))
    stand_in = ChatRequest(tuple(Message.user(input_text(i)) for i in inputs), model=model, user=user)
    return EmbeddingsCall(model, inputs, encoding, dimensions, user, ParsedChat(model=model, request=stand_in))


def embeddings_json(result: EmbeddingResult, encoding_format: str) -> dict[str, Any]:
    """The ``list`` body; base64 vectors are little-endian float32, as OpenAI sends them."""
    vectors: list[Any] = [list(v) for v in result.vectors]
    if encoding_format == "base64":
        vectors = [base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode("ascii") for v in result.vectors]
    return embedding_response_to_wire(vectors, result.model, result.usage)
