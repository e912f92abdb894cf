"""Anthropic Messages wire format (``POST /v1/messages``, ``anthropic-version: 2023-06-01``).

Pure translation: no HTTP. Notes on what does not map one to one:

- System messages become the top-level ``system`` string (joined with blank lines).
- ``response_format`` has no Messages API field that every model accepts, so a JSON request is turned into an
  instruction appended to ``system`` (the schema included); the answer comes back as plain text.
- ``temperature`` above 1 is clamped to 1, Anthropic's maximum.
- ``reasoning_effort`` becomes extended ``thinking`` with a token budget; ``parallel_tool_calls: false`` becomes
  ``tool_choice.disable_parallel_tool_use``; ``service_tier`` auto/default become ``auto``/``standard_only``.
- Options with no counterpart (``seed``, penalties, ``logit_bias``, ``prediction``, ``store: true``) are refused
  with a ValidationError naming the field (``check_options``), never dropped.
- Consecutive ``tool`` messages become one user message of ``tool_result`` blocks, as the API requires.
"""

from __future__ import annotations

import json
from typing import Any

from podium.core.errors import ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, ImagePart, Message, StreamChunk, Usage
from podium.providers.http_errors import ANTHROPIC_ERROR_STATUS, error_from_status, json_object, malformed
from podium.providers.images import split_data_url
from podium.providers.sse import SSEEvent
from podium.providers.tool_calls import call_arguments, call_name, function_tools, tool_call

PATH = "/v1/messages"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _image(part: ImagePart) -> dict[str, Any]:
    inline = split_data_url(part)
    if inline is None:
        return {"type": "image", "source": {"type": "url", "url": part.url}}
    media_type, data = inline
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _blocks(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}] if message.content else []
    return [_image(p) if isinstance(p, ImagePart) else {"type": "text", "text": p.text} for p in message.content]


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        block = {"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.text}
        return {"role": "user", "content": [block]}
    if message.role == "assistant" and message.tool_calls:
        uses = [
            {"type": "tool_use", "id": c.get("id", ""), "name": call_name(c), "input": call_arguments(c)}
            for c in message.tool_calls
        ]
        return {"role": "assistant", "content": _blocks(message) + uses}
    if isinstance(message.content, str):
        return {"role": message.role, "content": message.content}
    return {"role": message.role, "content": _blocks(message)}


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        wire = _message(m)
        prev = out[-1] if out else None
        if m.role == "tool" and prev is not None and prev["role"] == "user" and _is_tool_results(prev):
            prev["content"].extend(wire["content"])
        else:
            out.append(wire)
    return out


def _is_tool_results(wire: dict[str, Any]) -> bool:
    content = wire["content"]
    return isinstance(content, list) and bool(content) and all(b.get("type") == "tool_result" for b in content)


def _json_instruction(response_format: dict[str, Any]) -> str:
    schema = (response_format.get("json_schema") or {}).get("schema")
    text = "Reply with only a JSON object: no prose, no code fences."
    if schema is not None:
        text += " It must match this JSON schema:\n" + json.dumps(schema, sort_keys=True)
    return text


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        return {"type": "tool", "name": name} if name else choice
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "any": {"type": "any"}, "none": {"type": "none"}}.get(
        str(choice), {"type": "auto"}
    )


THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}  # reasoning_effort -> thinking.budget_tokens
MIN_THINKING_BUDGET = 1024
SERVICE_TIERS = {"auto": "auto", "default": "standard_only"}


def _refuse(name: str, value: Any, why: str) -> ValidationError:
    return ValidationError(f"{name}: Anthropic's Messages API {why}; leave {name} out for Anthropic models",
                           field=name, value=value)


def check_options(request: ChatRequest) -> None:
    """Refuse the Chat Completions options the Messages API has no counterpart for (naming the field)."""
    for name, why in (("seed", "has no seed"), ("presence_penalty", "has no presence penalty"),
                      ("frequency_penalty", "has no frequency penalty"), ("logit_bias", "has no logit bias"),
                      ("prediction", "has no predicted outputs")):
        if getattr(request, name) is not None:
            raise _refuse(name, getattr(request, name), why)
    if request.store:
        raise _refuse("store", True, "does not store completions for later retrieval")
    if request.service_tier is not None and request.service_tier not in SERVICE_TIERS:
        raise _refuse("service_tier", request.service_tier, "offers only auto and default (standard_only)")


def _thinking(request: ChatRequest, max_tokens: int) -> dict[str, Any] | None:
    budget = THINKING_BUDGETS.get(request.reasoning_effort or "none")
    if budget is None:
        return None
    budget = min(budget, max_tokens - 1)  # the API wants the budget below max_tokens, which it counts within
    if budget < MIN_THINKING_BUDGET:
        raise ValidationError(
            f"reasoning_effort: Anthropic's extended thinking needs at least {MIN_THINKING_BUDGET} tokens below "
            f"max_tokens ({max_tokens}); raise max_tokens above {MIN_THINKING_BUDGET} or leave reasoning_effort out",
            field="reasoning_effort", value=request.reasoning_effort,
        )
    return {"type": "enabled", "budget_tokens": budget}


def build_request(request: ChatRequest, model: ModelSpec, *, stream: bool) -> dict[str, Any]:
    """The exact JSON body for this request. ``max_tokens`` is required by the API, so it is always set."""
    check_options(request)
    max_tokens = request.max_tokens or min(DEFAULT_MAX_TOKENS, model.max_output_tokens)
    body: dict[str, Any] = {"model": model.api_model, "max_tokens": max_tokens, "messages": _messages(request.messages)}
    system = [m.text for m in request.messages if m.role == "system"]
    fmt = request.response_format or {}
    if fmt.get("type") in ("json_schema", "json_object"):
        system.append(_json_instruction(fmt))
    if system:
        body["system"] = "\n\n".join(system)
    thinking = _thinking(request, max_tokens)
    if thinking is not None:
        if request.temperature not in (None, 1):
            raise _refuse("temperature", request.temperature, "allows only temperature 1 with extended thinking "
                          "(reasoning_effort)")
        body["thinking"] = thinking
    elif request.temperature is not None:
        body["temperature"] = min(1.0, request.temperature)
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.user:
        body["metadata"] = {"user_id": request.user}
    if request.tools:
        body["tools"] = [
            {"name": f["name"], "description": f["description"], "input_schema": f["parameters"]}
            for f in function_tools(request.tools)
        ]
        choice = _tool_choice(request.tool_choice)
        if request.parallel_tool_calls is False:
            choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
        if choice is not None:
            body["tool_choice"] = choice
    if request.service_tier is not None:
        body["service_tier"] = SERVICE_TIERS[request.service_tier]
    if stream:
        body["stream"] = True
    body.update(request.extra)
    return body


def parse_usage(raw: dict[str, Any] | None) -> Usage:
    """Anthropic's input_tokens exclude cache reads and writes; Podium's input_tokens count all three."""
    if not raw:
        return Usage()
    fresh = int(raw.get("input_tokens") or 0)
    read = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=fresh + read + written,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_input_tokens=read,
        cache_write_tokens=written,
    )


def normalize_finish_reason(reason: str | None) -> str | None:
    return None if reason is None else STOP_REASONS.get(reason, reason)


def parse_response(body: dict[str, Any], model: ModelSpec) -> Completion:
    """An unpriced Completion from a Messages API ``message`` object."""
    content = body.get("content")
    if not isinstance(content, list):
        raise malformed(model.provider, model.id, "no content list in the message", str(body))
    text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
    calls = tuple(tool_call(b.get("id", ""), b.get("name", ""), b.get("input")) for b in content if b.get("type") == "tool_use")
    return Completion(
        text=text,
        model=model.id,
        provider=model.provider,
        usage=parse_usage(body.get("usage")),
        finish_reason=normalize_finish_reason(body.get("stop_reason")),
        tool_calls=calls or None,
        request_id=body.get("id"),
        metadata={"upstream_model": body["model"]} if body.get("model") else {},
    )


class AnthropicStreamParser:
    """Turns Messages API stream events into StreamChunks; the last one comes at ``message_stop``.

    Input usage arrives in ``message_start``, output usage (cumulative) in ``message_delta``.
    """

    def __init__(self, model: ModelSpec) -> None:
        self.model = model
        self.done = False
        self._usage: dict[str, Any] = {}
        self._stop: str | None = None
        self._tool_index: dict[int, int] = {}  # content block index -> tool call ordinal

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        if event.event == "ping":
            return []
        data = json_object(event.data, provider=self.model.provider, model=self.model.id, what="stream event")
        kind = data.get("type", event.event)
        if kind == "error":
            err = data.get("error") or {}
            status = ANTHROPIC_ERROR_STATUS.get(str(err.get("type")), 500)
            raise error_from_status(status, provider=self.model.provider, model=self.model.id, body=event.data)
        if kind == "message_start":
            self._usage.update((data.get("message") or {}).get("usage") or {})
        elif kind == "content_block_start":
            return self._block_start(data)
        elif kind == "content_block_delta":
            return self._block_delta(data)
        elif kind == "message_delta":
            self._stop = (data.get("delta") or {}).get("stop_reason") or self._stop
            self._usage.update({k: v for k, v in (data.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.done = True
        return []

    def _block_start(self, data: dict[str, Any]) -> list[StreamChunk]:
        block = data.get("content_block") or {}
        if block.get("type") == "tool_use":
            ordinal = self._tool_index.setdefault(int(data.get("index", 0)), len(self._tool_index))
            start = tool_call(block.get("id", ""), block.get("name", ""), "")
            return [StreamChunk(tool_call_delta={"index": ordinal, **start})]
        if block.get("type") == "text" and block.get("text"):
            return [StreamChunk(delta=block["text"])]
        return []

    def _block_delta(self, data: dict[str, Any]) -> list[StreamChunk]:
        delta = data.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [StreamChunk(delta=delta.get("text", ""))]
        if delta.get("type") == "input_json_delta":
            ordinal = self._tool_index.get(int(data.get("index", 0)), 0)
            return [StreamChunk(tool_call_delta={"index": ordinal, "function": {"arguments": delta.get("partial_json", "")}})]
        return []  # thinking and signature deltas are not part of the answer text

    def finish(self) -> StreamChunk:
        """The closing chunk; raises MalformedResponseError if ``message_stop`` never came."""
        if not self.done:
            raise malformed(self.model.provider, self.model.id, "the stream ended before message_stop")
        return StreamChunk(finish_reason=normalize_finish_reason(self._stop) or "stop", usage=parse_usage(self._usage))
