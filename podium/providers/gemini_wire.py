"""Gemini API wire format (``POST /v1beta/models/{model}:generateContent``, ``x-goog-api-key``).

Pure translation: no HTTP. System messages become ``systemInstruction``; ``response_format`` becomes
``generationConfig.responseMimeType`` (+ ``responseSchema``, with the JSON-Schema keywords Gemini's OpenAPI subset
rejects removed); tools become ``functionDeclarations``. Images are ``inlineData`` (data URLs) or ``fileData``
(other URLs); the API accepts these camelCase names and the snake_case ones alike.
"""

from __future__ import annotations

import json
from typing import Any

from podium.core.errors import ContentPolicyError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, ImagePart, Message, StreamChunk, Usage
from podium.providers.http_errors import error_from_status, json_object, malformed
from podium.providers.images import guess_media_type, split_data_url
from podium.providers.sse import SSEEvent
from podium.providers.tool_calls import call_arguments, call_name, function_tools, tool_call

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "stop",
    "OTHER": "stop",
}
# Optional request features this wire carries (podium.providers.features): token logprobs only; Gemini's
# candidateCount is not sent, since not every Gemini model accepts more than one candidate.
FEATURES: frozenset[str] = frozenset({"logprobs"})
_UNSUPPORTED_SCHEMA_KEYS = frozenset({"$schema", "additionalProperties", "strict", "$defs", "definitions"})


def request_path(model: ModelSpec, *, stream: bool) -> str:
    """The path after ``/v1beta/``: ``models/{model}:generateContent`` or the SSE streaming variant."""
    if stream:
        return f"models/{model.api_model}:streamGenerateContent?alt=sse"
    return f"models/{model.api_model}:generateContent"


def _part(part: Any) -> dict[str, Any]:
    if not isinstance(part, ImagePart):
        return {"text": part.text}
    inline = split_data_url(part)
    if inline is None:
        return {"fileData": {"mimeType": guess_media_type(part), "fileUri": part.url}}
    return {"inlineData": {"mimeType": inline[0], "data": inline[1]}}


def _function_response(message: Message, names: dict[str, str]) -> dict[str, Any]:
    name = message.name or names.get(message.tool_call_id or "", "")
    try:
        value = json.loads(message.text)
    except ValueError:
        value = message.text
    response = value if isinstance(value, dict) else {"result": value}
    return {"functionResponse": {"name": name, "response": response}}


def _contents(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool call id -> function name, since Gemini answers calls by name
    for m in messages:
        if m.role == "system":
            continue
        if m.role == "tool":
            part = _function_response(m, names)
            if out and out[-1]["role"] == "user" and "functionResponse" in out[-1]["parts"][-1]:
                out[-1]["parts"].append(part)
            else:
                out.append({"role": "user", "parts": [part]})
            continue
        parts = [{"text": m.content}] if isinstance(m.content, str) else [_part(p) for p in m.content]
        parts = [p for p in parts if p.get("text", None) != ""]
        for call in m.tool_calls or ():
            names[call.get("id", "")] = call_name(call)
            parts.append({"functionCall": {"name": call_name(call), "args": call_arguments(call)}})
        out.append({"role": "model" if m.role == "assistant" else "user", "parts": parts or [{"text": ""}]})
    return out


def gemini_schema(schema: Any) -> Any:
    """A JSON schema without the keywords Gemini's ``responseSchema`` does not accept."""
    if isinstance(schema, dict):
        return {k: gemini_schema(v) for k, v in schema.items() if k not in _UNSUPPORTED_SCHEMA_KEYS}
    if isinstance(schema, list):
        return [gemini_schema(v) for v in schema]
    return schema


# reasoning_effort -> thinkingConfig.thinkingBudget, as Google's own OpenAI-compatible endpoint maps it.
THINKING_BUDGETS = {"none": 0, "minimal": 1024, "low": 1024, "medium": 8192, "high": 24576}


def _refuse(name: str, value: Any, why: str) -> ValidationError:
    return ValidationError(f"{name}: the Gemini API {why}; leave {name} out for Gemini models",
                           field=name, value=value)


def check_options(request: ChatRequest) -> None:
    """Refuse the Chat Completions options Gemini has no counterpart for (naming the field)."""
    if request.logit_bias:
        raise _refuse("logit_bias", request.logit_bias, "has no logit bias")
    if request.parallel_tool_calls is False:
        raise _refuse("parallel_tool_calls", False, "cannot be told to call one tool at a time")
    if request.service_tier not in (None, "auto", "default"):
        raise _refuse("service_tier", request.service_tier, "has no service tiers to choose")
    if request.store:
        raise _refuse("store", True, "does not store completions for later retrieval")
    if request.prediction is not None:
        raise _refuse("prediction", request.prediction, "has no predicted outputs")


def _generation_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {
        k: v
        for k, v in {
            "temperature": request.temperature,
            "topP": request.top_p,
            "maxOutputTokens": request.max_tokens,
            "stopSequences": list(request.stop) if request.stop else None,
            "seed": request.seed,
            "responseLogprobs": True if request.logprobs else None,
            "logprobs": request.top_logprobs if request.logprobs else None,
            "presencePenalty": request.presence_penalty,
            "frequencyPenalty": request.frequency_penalty,
            "thinkingConfig": None if request.reasoning_effort is None
            else {"thinkingBudget": THINKING_BUDGETS[request.reasoning_effort]},
        }.items()
        if v is not None
    }
    fmt = request.response_format or {}
    if fmt.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if schema is not None:
            config["responseSchema"] = gemini_schema(schema)
    return config


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}} if name else choice
    mode = {"auto": "AUTO", "required": "ANY", "any": "ANY", "none": "NONE"}.get(str(choice), "AUTO")
    return {"functionCallingConfig": {"mode": mode}}


def build_request(request: ChatRequest, model: ModelSpec, *, stream: bool) -> dict[str, Any]:
    """The exact JSON body (the same for streaming; ``stream`` only changes ``request_path``)."""
    check_options(request)
    body: dict[str, Any] = {"contents": _contents(request.messages)}
    system = [m.text for m in request.messages if m.role == "system"]
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if config := _generation_config(request):
        body["generationConfig"] = config
    if request.tools:
        body["tools"] = [{"functionDeclarations": function_tools(request.tools)}]
        if (tool_config := _tool_config(request.tool_choice)) is not None:
            body["toolConfig"] = tool_config
    body.update(request.extra)
    return body


def parse_usage(raw: dict[str, Any] | None) -> Usage:
    """Gemini counts thinking apart from candidates; Podium's output_tokens include it."""
    if not raw:
        return Usage()
    thoughts = int(raw.get("thoughtsTokenCount") or 0)
    return Usage(
        input_tokens=int(raw.get("promptTokenCount") or 0),
        output_tokens=int(raw.get("candidatesTokenCount") or 0) + thoughts,
        cached_input_tokens=int(raw.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def normalize_finish_reason(reason: str | None) -> str | None:
    return None if reason is None else FINISH_REASONS.get(reason, reason.lower())


def _split_parts(parts: list[dict[str, Any]], first_index: int) -> tuple[str, list[dict[str, Any]]]:
    """Answer text (thought summaries left out) and tool calls from a candidate's parts."""
    text = "".join(p.get("text", "") for p in parts if "text" in p and not p.get("thought"))
    calls = []
    for p in parts:
        if fc := p.get("functionCall"):
            n = first_index + len(calls)
            calls.append(tool_call(fc.get("id") or f"call_{n}", fc.get("name", ""), fc.get("args")))
    return text, calls


def _first_candidate(body: dict[str, Any], model: ModelSpec) -> dict[str, Any]:
    candidates = body.get("candidates")
    if candidates:
        return candidates[0]
    block = (body.get("promptFeedback") or {}).get("blockReason")
    if block:
        raise ContentPolicyError(
            f"gemini blocked the prompt ({block}); rephrase the request or use another provider",
            provider=model.provider,
            model=model.id,
            body=json.dumps(body)[:2048],
        )
    raise malformed(model.provider, model.id, "no candidates in the response", str(body))


def parse_logprobs(candidate: dict[str, Any]) -> tuple[float, ...] | None:
    """``logprobsResult.chosenCandidates[*].logProbability``; when only ``avgLogprobs`` came back, that one value
    (its mean is the same); None when the candidate carries neither."""
    chosen = (candidate.get("logprobsResult") or {}).get("chosenCandidates")
    if isinstance(chosen, list) and chosen:
        values = [c.get("logProbability") for c in chosen if isinstance(c, dict)]
        return tuple(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))
    avg = candidate.get("avgLogprobs")
    if isinstance(avg, (int, float)) and not isinstance(avg, bool):
        return (float(avg),)
    return None


def parse_response(body: dict[str, Any], model: ModelSpec) -> Completion:
    """An unpriced Completion from a GenerateContentResponse."""
    candidate = _first_candidate(body, model)
    text, calls = _split_parts((candidate.get("content") or {}).get("parts") or [], 0)
    finish = normalize_finish_reason(candidate.get("finishReason"))
    metadata = {"upstream_model": body["modelVersion"]} if body.get("modelVersion") else {}
    return Completion(
        text=text,
        model=model.id,
        provider=model.provider,
        usage=parse_usage(body.get("usageMetadata")),
        finish_reason="tool_calls" if calls and finish == "stop" else finish,
        tool_calls=tuple(calls) or None,
        request_id=body.get("responseId"),
        metadata=metadata,
        logprobs=parse_logprobs(candidate),
    )


class GeminiStreamParser:
    """Each SSE event is a whole GenerateContentResponse holding the next piece; the last has finishReason."""

    def __init__(self, model: ModelSpec) -> None:
        self.model = model
        self.done = False
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._calls = 0

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        data = json_object(event.data, provider=self.model.provider, model=self.model.id, what="stream chunk")
        if isinstance(err := data.get("error"), dict):
            status = int(err.get("code") or 500)
            raise error_from_status(status, provider=self.model.provider, model=self.model.id, body=event.data)
        if data.get("usageMetadata"):
            self._usage = parse_usage(data["usageMetadata"])
        if not data.get("candidates"):
            if data.get("promptFeedback"):
                _first_candidate(data, self.model)  # raises ContentPolicyError when the prompt was blocked
            return []
        candidate = data["candidates"][0]
        text, calls = _split_parts((candidate.get("content") or {}).get("parts") or [], self._calls)
        out = [StreamChunk(delta=text)] if text else []
        for call in calls:
            out.append(StreamChunk(tool_call_delta={"index": self._calls, **call}))
            self._calls += 1
        if candidate.get("finishReason"):
            self._finish = normalize_finish_reason(candidate["finishReason"])
            self.done = True
        return out

    def finish(self) -> StreamChunk:
        """The closing chunk; raises MalformedResponseError if no chunk carried a finishReason."""
        if not self.done:
            raise malformed(self.model.provider, self.model.id, "the stream ended before a finishReason")
        finish = "tool_calls" if self._calls and self._finish == "stop" else self._finish
        return StreamChunk(finish_reason=finish, usage=self._usage)
