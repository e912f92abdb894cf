"""OpenAI Responses API (``POST /v1/responses``) <-> Podium: pure translation, no I/O.

Offered: text and image input, ``instructions``, function tools and their results, structured output
(``text.format`` json_object / json_schema), ``reasoning.effort``, streaming, and the sampling options Chat
Completions has. Podium keeps no conversation state, so the stateful parts are refused with a 400 naming the
field: ``previous_response_id``, ``conversation``, ``store: true``, ``background``, ``prompt`` templates,
``include``, built-in tools (web/file search, computer use, code interpreter, MCP) and ``GET``/``DELETE``
``/v1/responses/{id}``. Every response says ``store: false``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, Completion, ContentPart, ImagePart, Message, TextPart, Usage
from podium.server.answer_stream import Ending, Piece, TextPiece, ToolPiece
from podium.server.openai_request import ParsedChat, metadata_fields

_FIELDS = frozenset({"model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "tools",
                     "tool_choice", "text", "stream", "metadata", "user", "parallel_tool_calls", "reasoning", "store",
                     "service_tier", "truncation", "top_logprobs"})
STATEFUL: dict[str, str] = {
    "previous_response_id": "Podium keeps no responses; send the earlier turns in `input`",
    "conversation": "Podium keeps no conversations; send the earlier turns in `input`",
    "background": "background responses are not offered; make a normal (or streaming) request",
    "prompt": "stored prompt templates are not offered; send the prompt in `input`",
    "include": "extra output (`include`) is not offered",
    "stream_options": "stream options are not offered",
    "max_tool_calls": "built-in tools are not offered, so `max_tool_calls` has nothing to limit",
    "prompt_cache_key": "`prompt_cache_key` is not forwarded; leave it out",
    "safety_identifier": "`safety_identifier` is not forwarded; send `user` instead",
}


def _fail(field: str, value: object, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", field=field, value=value)


def _content(raw: object, where: str) -> str | tuple[ContentPart, ...]:
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, list):
        raise _fail(where, raw, "content must be a string or an array of input_text / input_image parts")
    parts: list[ContentPart] = []
    for i, part in enumerate(raw):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text") and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"]))
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append(ImagePart(part["image_url"]))
        else:
            raise _fail(f"{where}[{i}].type", kind, "use input_text or input_image (with image_url) parts")
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    return tuple(parts)


def _input(raw: object) -> list[Message]:
    if isinstance(raw, str):
        return [Message.user(raw)]
    if not isinstance(raw, list) or not raw:
        raise _fail("input", raw, "`input` must be a string or a non-empty array of input items")
    out: list[Message] = []
    for i, item in enumerate(raw):
        where = f"input[{i}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message":
            role = {"developer": "system"}.get(item.get("role"), item.get("role"))
            if role not in ("system", "user", "assistant"):
                raise _fail(f"{where}.role", item.get("role"), "use user, assistant, system or developer")
            out.append(Message(role, _content(item.get("content"), f"{where}.content")))
        elif kind == "function_call":
            call = {"id": item.get("call_id", ""), "type": "function",
                    "function": {"name": item.get("name", ""), "arguments": item.get("arguments") or "{}"}}
            if out and out[-1].role == "assistant" and out[-1].tool_calls and not out[-1].text:
                out[-1] = Message("assistant", "", tool_calls=(*out[-1].tool_calls, call))
            else:
                out.append(Message("assistant", "", tool_calls=(call,)))
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output)
            out.append(Message("tool", text, tool_call_id=str(item.get("call_id", ""))))
        elif kind == "reasoning":
            continue  # an earlier turn's reasoning item: no provider takes it back
        else:
            raise _fail(f"{where}.type", kind, "use message, function_call or function_call_output items")
    return out


def _tools(raw: object) -> tuple[dict[str, Any], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise _fail("tools", raw, "tools must be an array")
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else tool
            raise _fail(f"tools[{i}].type", kind, "only function tools are offered (no built-in tools)")
        out.append({"type": "function", "function": {
            "name": tool.get("name", ""), "description": tool.get("description") or "",
            "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}})
    return tuple(out) or None


def _tool_choice(raw: object) -> Any:
    if raw is None or raw in ("auto", "required", "none"):
        return raw
    if isinstance(raw, dict) and raw.get("type") == "function":
        return {"type": "function", "function": {"name": raw.get("name", "")}}
    raise _fail("tool_choice", raw, 'use "auto", "required", "none" or {"type": "function", "name": ...}')


def _response_format(text: object) -> dict[str, Any] | None:
    fmt = (text or {}).get("format") if isinstance(text, dict) else None
    if fmt is None or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {"name": fmt.get("name", "output"), "schema": fmt.get("schema") or {}, "strict": fmt.get("strict")}
        return {"type": "json_schema", "json_schema": {k: v for k, v in schema.items() if v is not None}}
    raise _fail("text.format.type", fmt.get("type"), "use text, json_object or json_schema")


def parse_responses_request(body: object) -> ParsedChat:
    """A Responses API body as the gateway's ParsedChat; raises ValidationError naming the field."""
    if not isinstance(body, dict):
        raise _fail("body", type(body).__name__, "the request body must be a JSON object")
    for name in body:
        if name in STATEFUL:
            raise _fail(name, body[name], STATEFUL[name])
        if name not in _FIELDS:
            raise _fail(name, body[name], f"`{name}` is not a Responses API field this gateway offers")
    if body.get("store") is True:
        raise _fail("store", True, "Podium does not store responses; leave `store` out or set it to false")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail("model", model, "`model` is required: a catalog model id, an alias, or podium/auto")
    instructions = body.get("instructions")
    messages = ([Message.system(instructions)] if isinstance(instructions, str) and instructions else [])
    messages += _input(body.get("input"))
    reasoning = body.get("reasoning") or {}
    task_type, tags = metadata_fields(body)
    request = ChatRequest(
        messages=tuple(messages), max_tokens=body.get("max_output_tokens"), temperature=body.get("temperature"),
        top_p=body.get("top_p"), tools=_tools(body.get("tools")), tool_choice=_tool_choice(body.get("tool_choice")),
        response_format=_response_format(body.get("text")), user=body.get("user"),
        parallel_tool_calls=body.get("parallel_tool_calls"), reasoning_effort=reasoning.get("effort"),
        service_tier=body.get("service_tier"),
    )
    return ParsedChat(model=model.strip(), request=request, stream=body.get("stream") is True,
                      task_type=task_type, tags=tags)


def usage_json(usage: Usage) -> dict[str, Any]:
    return {"input_tokens": usage.input_tokens, "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
            "output_tokens": usage.output_tokens,
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
            "total_tokens": usage.total_tokens}


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if status == "completed" else []
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(item_id: str, call_id: str, name: str, arguments: str, status: str = "completed") -> dict[str, Any]:
    return {"type": "function_call", "id": item_id, "call_id": call_id, "name": name, "arguments": arguments,
            "status": status}


def response_json(completion: Completion | None, *, response_id: str, created: int, model: str,
                  usage: Usage | None, status: str = "completed") -> dict[str, Any]:
    """The ``response`` object; with ``completion`` None, the opening (in-progress) one of a stream."""
    output: list[dict[str, Any]] = []
    incomplete = None
    if completion is not None:
        if completion.text or not completion.tool_calls:
            output.append(_message_item(f"msg_{response_id}", completion.text))
        for i, call in enumerate(completion.tool_calls or ()):
            fn = call.get("function") or {}
            args = fn.get("arguments")
            output.append(_call_item(f"fc_{response_id}_{i}", call.get("id") or f"call_{i}", fn.get("name", ""),
                                     args if isinstance(args, str) else json.dumps(args or {})))
        if completion.finish_reason == "length":
            status, incomplete = "incomplete", {"reason": "max_output_tokens"}
    return {
        "id": response_id, "object": "response", "created_at": created, "status": status, "model": model,
        "output": output, "usage": usage_json(usage) if usage is not None else None, "error": None,
        "incomplete_details": incomplete, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
        "store": False, "metadata": {},
    }


class ResponseEvents:
    """Renders pieces as Responses stream events, numbered in order."""

    def __init__(self, *, response_id: str, created: int, model: str) -> None:
        self.response_id, self.created, self.model = response_id, created, model
        self._seq = 0

    def _event(self, name: str, data: dict[str, Any]) -> bytes:
        obj = {"type": name, "sequence_number": self._seq, **data}
        self._seq += 1
        return f"event: {name}\ndata: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()

    async def render(self, pieces: AsyncIterator[Piece]) -> AsyncIterator[bytes]:
        opening = response_json(None, response_id=self.response_id, created=self.created, model=self.model,
                                usage=None, status="in_progress")
        yield self._event("response.created", {"response": opening})
        yield self._event("response.in_progress", {"response": opening})
        text, calls, index, open_item = "", {}, -1, None  # open_item: "text" or a tool index
        async for piece in pieces:
            if isinstance(piece, Ending):
                if open_item is not None:
                    for frame in self._close(open_item, index, text, calls):
                        yield frame
                done = response_json(piece.completion, response_id=self.response_id, created=self.created,
                                     model=piece.completion.model, usage=piece.usage)
                yield self._event("response.completed", {"response": done})
                return
            key = "text" if isinstance(piece, TextPiece) else piece.index
            if key != open_item:
                if open_item is not None:
                    for frame in self._close(open_item, index, text, calls):
                        yield frame
                index, open_item = index + 1, key
                for frame in self._open(piece, index, calls):
                    yield frame
            if isinstance(piece, TextPiece):
                text += piece.text
                yield self._event("response.output_text.delta", {"item_id": f"msg_{self.response_id}",
                                  "output_index": index, "content_index": 0, "delta": piece.text, "logprobs": []})
            elif piece.arguments:
                calls[piece.index]["arguments"] += piece.arguments
                yield self._event("response.function_call_arguments.delta", {
                    "item_id": calls[piece.index]["id"], "output_index": index, "delta": piece.arguments})

    def _open(self, piece: TextPiece | ToolPiece, index: int, calls: dict[int, dict[str, Any]]) -> list[bytes]:
        if isinstance(piece, TextPiece):
            item_id = f"msg_{self.response_id}"
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            return [self._event("response.output_item.added", {"output_index": index,
                                "item": _message_item(item_id, "", "in_progress")}),
                    self._event("response.content_part.added", {"item_id": item_id, "output_index": index,
                                "content_index": 0, "part": part})]
        call = _call_item(f"fc_{self.response_id}_{piece.index}", piece.call_id or f"call_{piece.index}",
                          piece.name or "", "", "in_progress")
        calls[piece.index] = call
        return [self._event("response.output_item.added", {"output_index": index, "item": call})]

    def _close(self, item: str | int, index: int, text: str, calls: dict[int, dict[str, Any]]) -> list[bytes]:
        if item == "text":
            item_id = f"msg_{self.response_id}"
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            return [self._event("response.output_text.done", {"item_id": item_id, "output_index": index,
                                "content_index": 0, "text": text, "logprobs": []}),
                    self._event("response.content_part.done", {"item_id": item_id, "output_index": index,
                                "content_index": 0, "part": part}),
                    self._event("response.output_item.done", {"output_index": index,
                                "item": _message_item(item_id, text)})]
        call = {**calls[int(item)], "status": "completed"}
        return [self._event("response.function_call_arguments.done", {"item_id": call["id"], "output_index": index,
                            "arguments": call["arguments"]}),
                self._event("response.output_item.done", {"output_index": index, "item": call})]
