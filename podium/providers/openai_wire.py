"""OpenAI Chat Completions wire format (also spoken by Groq, OpenRouter, DeepSeek, Ollama, vLLM, llama.cpp).

Pure translation: no HTTP. ``build_request`` gives the JSON body of ``POST {base}/chat/completions``.
"""

from __future__ import annotations

from typing import Any

from podium.core.embeddings import EmbeddingInput, EmbeddingResult
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, ImagePart, Message, StreamChunk, Usage
from podium.providers.http_errors import error_from_status, json_object, malformed
from podium.providers.sse import SSEEvent

PATH = "/chat/completions"
EMBEDDINGS_PATH = "/embeddings"
# Optional request features this wire carries (podium.providers.features): token logprobs, and ``n`` answers in
# one call with the prompt billed once.
FEATURES: frozenset[str] = frozenset({"logprobs", "n"})
# Completion.metadata keys this wire fills for the gateway to answer in the same shape.
LOGPROBS_CONTENT = "logprobs_content"
CHOICES = "choices"
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}


def _content(message: Message) -> str | list[dict[str, Any]]:
    if isinstance(message.content, str):
        return message.content
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": part.url}})
        else:
            parts.append({"type": "text", "text": part.text})
    return parts


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": _content(message)}
    if message.name:
        out["name"] = message.name
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.tool_calls:
        out["tool_calls"] = list(message.tool_calls)
        if not out["content"]:
            out["content"] = None
    return out


def build_request(request: ChatRequest, model: ModelSpec, *, stream: bool) -> dict[str, Any]:
    """The exact JSON body for this request."""
    body: dict[str, Any] = {"model": model.api_model, "messages": [_message(m) for m in request.messages]}
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop) if request.stop else None,
        "seed": request.seed,
        "user": request.user,
        "response_format": request.response_format,
        "tools": list(request.tools) if request.tools else None,
        "tool_choice": request.tool_choice,
        "logprobs": request.logprobs,
        "top_logprobs": request.top_logprobs,
        "n": request.n,
        "reasoning_effort": request.reasoning_effort,
        "parallel_tool_calls": request.parallel_tool_calls,
        "presence_penalty": request.presence_penalty,
        "frequency_penalty": request.frequency_penalty,
        "logit_bias": request.logit_bias,
        "service_tier": request.service_tier,
        "store": request.store,
        "prediction": request.prediction,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.max_tokens is not None:
        # OpenAI itself deprecated max_tokens (its reasoning models reject it); compatible servers still want it.
        key = "max_completion_tokens" if model.provider == "openai" else "max_tokens"
        body[key] = request.max_tokens
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(request.extra)
    return body


def parse_usage(raw: dict[str, Any] | None) -> Usage:
    """prompt_tokens already include cached tokens; completion_tokens already include reasoning tokens."""
    if not raw:
        return Usage()
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


def normalize_finish_reason(reason: str | None) -> str | None:
    return None if reason is None else FINISH_REASONS.get(reason, reason)


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, list):  # some compatible servers answer with content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def parse_logprobs(choice: dict[str, Any]) -> tuple[float, ...] | None:
    """``choices[i].logprobs.content[*].logprob``, or None when the choice carries no token logprobs."""
    content = (choice.get("logprobs") or {}).get("content")
    if not isinstance(content, list):
        return None
    values = [t.get("logprob") for t in content if isinstance(t, dict)]
    return tuple(float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool))


def _choices(choices: list[Any]) -> tuple[dict[str, Any], ...]:
    """Every choice's message, finish reason and logprobs, in index order (``n`` > 1), OpenAI-shaped."""
    ordered = sorted((c for c in choices if isinstance(c, dict)), key=lambda c: c.get("index", 0))
    return tuple(
        {"message": c.get("message") or {}, "finish_reason": normalize_finish_reason(c.get("finish_reason")),
         "logprobs": c.get("logprobs")}
        for c in ordered
    )


def _samples(choices: list[Any]) -> tuple[str, ...] | None:
    """Every choice's text, in index order, when ``n`` > 1 answers came back."""
    if len(choices) < 2:
        return None
    ordered = sorted((c for c in choices if isinstance(c, dict)), key=lambda c: c.get("index", 0))
    return tuple(_text((c.get("message") or {}).get("content")) for c in ordered)


def parse_response(body: dict[str, Any], model: ModelSpec) -> Completion:
    """An unpriced Completion from a chat.completion object (``usage`` covers every choice, prompt counted once)."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise malformed(model.provider, model.id, "no choices[0].message", str(body)) from exc
    tool_calls = message.get("tool_calls") or None
    metadata = {"upstream_model": body["model"]} if body.get("model") else {}
    if message.get("refusal"):
        metadata["refusal"] = message["refusal"]
    if isinstance((choice.get("logprobs") or {}).get("content"), list):
        metadata[LOGPROBS_CONTENT] = choice["logprobs"]["content"]  # token, bytes and top_logprobs, for the gateway
    if len(body["choices"]) > 1:
        metadata[CHOICES] = _choices(body["choices"])
    if body.get("service_tier"):
        metadata["service_tier"] = body["service_tier"]
    return Completion(
        text=_text(message.get("content")),
        model=model.id,
        provider=model.provider,
        usage=parse_usage(body.get("usage")),
        finish_reason=normalize_finish_reason(choice.get("finish_reason")),
        tool_calls=tuple(tool_calls) if tool_calls else None,
        request_id=body.get("id"),
        metadata=metadata,
        logprobs=parse_logprobs(choice),
        samples=_samples(body["choices"]),
    )


class OpenAIStreamParser:
    """Turns ``chat.completion.chunk`` events into StreamChunks; the last one comes at ``data: [DONE]``."""

    def __init__(self, model: ModelSpec) -> None:
        self.model = model
        self.done = False
        self._finish: str | None = None
        self._usage: Usage | None = None

    def feed(self, event: SSEEvent) -> list[StreamChunk]:
        if event.data.strip() == "[DONE]":
            self.done = True
            return []
        data = json_object(event.data, provider=self.model.provider, model=self.model.id, what="stream chunk")
        if "error" in data:
            raise error_from_status(500, provider=self.model.provider, model=self.model.id, body=event.data)
        if data.get("usage"):
            self._usage = parse_usage(data["usage"])
        out: list[StreamChunk] = []
        for choice in data.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out.append(StreamChunk(delta=delta["content"]))
            out.extend(StreamChunk(tool_call_delta=tc) for tc in delta.get("tool_calls") or ())
            if choice.get("finish_reason"):
                self._finish = normalize_finish_reason(choice["finish_reason"])
        return out

    def finish(self) -> StreamChunk:
        """The closing chunk (finish reason + usage); raises MalformedResponseError if ``[DONE]`` never came."""
        if not self.done:
            raise malformed(self.model.provider, self.model.id, "the stream ended before data: [DONE]")
        return StreamChunk(finish_reason=self._finish or "stop", usage=self._usage)


def usage_to_wire(usage: Usage) -> dict[str, Any]:
    """Podium Usage in OpenAI's ``usage`` shape (what a server speaking this wire format returns)."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def build_embedding_request(
    inputs: tuple[EmbeddingInput, ...], model: ModelSpec, *, dimensions: int | None = None, user: str | None = None
) -> dict[str, Any]:
    """The JSON body of ``POST {base}/embeddings``: vectors asked for as floats (the gateway encodes base64 itself)."""
    raw = [i if isinstance(i, str) else list(i) for i in inputs]
    body: dict[str, Any] = {"model": model.api_model, "input": raw, "encoding_format": "float"}
    if dimensions is not None:
        body["dimensions"] = dimensions
    if user is not None:
        body["user"] = user
    return body


def parse_embedding_response(body: dict[str, Any], model: ModelSpec, *, count: int) -> EmbeddingResult:
    """An embeddings ``list`` as an unpriced EmbeddingResult, vectors in input order (by ``index``)."""
    data = body.get("data")
    if not isinstance(data, list) or len(data) != count:
        raise malformed(model.provider, model.id, f"data: expected {count} embeddings, got {_count(data)}")
    vectors: dict[int, tuple[float, ...]] = {}
    for item in data:
        index, vector = item.get("index") if isinstance(item, dict) else None, _vector(item)
        if not isinstance(index, int) or not 0 <= index < count or index in vectors or vector is None:
            raise malformed(model.provider, model.id, "data[]: each embedding needs a distinct index and a float list")
        vectors[index] = vector
    raw_usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    usage = Usage(input_tokens=int(raw_usage.get("prompt_tokens") or 0))
    return EmbeddingResult(tuple(vectors[i] for i in range(count)), usage, model=model.id, provider=model.provider)


def embedding_response_to_wire(vectors: list[Any], model: str, usage: Usage) -> dict[str, Any]:
    """An embeddings answer in OpenAI's shape; each vector a float list or a base64 string (what a server returns)."""
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        "model": model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens},
    }


def _vector(item: Any) -> tuple[float, ...] | None:
    vector = item.get("embedding") if isinstance(item, dict) else None
    if not isinstance(vector, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vector):
        return None
    return tuple(float(x) for x in vector)


def _count(data: Any) -> str:
    return str(len(data)) if isinstance(data, list) else type(data).__name__
