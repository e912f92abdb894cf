"""OpenAI Chat Completions request JSON -> ChatRequest. Pure: no I/O, every problem names the field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.core.errors import ValidationError
from podium.core.types import ChatRequest, ContentPart, ImagePart, Message, TextPart

if TYPE_CHECKING:
    from podium.catalog import Catalog

# OpenAI's newer "developer" role is the system prompt of every other provider.
_ROLE_ALIASES = {"developer": "system"}
_MEDIA_TYPE_PREFIX = "data:"


@dataclass(frozen=True, slots=True)
class ParsedChat:
    """What the gateway needs from one request body: the model asked for, the request, and how to answer."""

    model: str
    request: ChatRequest
    stream: bool = False
    include_usage: bool = False
    task_type: str | None = None  # ``metadata.task_type``: validated by the gateway against the task table
    tags: dict[str, str] = field(default_factory=dict)  # the other ``metadata`` keys, stored on ledger rows


# Every Chat Completions request field, and what the gateway does with it. Fields Podium cannot honour on any
# provider are refused with a 400 naming them; the rest reach the wire modules, which translate them or refuse them
# for the provider at hand. No field is dropped without a word.
ACCEPTED_FIELDS = frozenset({
    "model", "messages", "temperature", "max_tokens", "max_completion_tokens", "top_p", "stop", "response_format",
    "tools", "tool_choice", "seed", "user", "n", "stream", "stream_options", "metadata", "logprobs", "top_logprobs",
    "reasoning_effort", "parallel_tool_calls", "presence_penalty", "frequency_penalty", "logit_bias",
    "service_tier", "store", "prediction",
})
REFUSED_FIELDS: dict[str, str] = {
    "functions": "the deprecated `functions` is not supported; send `tools` instead",
    "function_call": "the deprecated `function_call` is not supported; send `tool_choice` instead",
    "audio": "audio output is not supported by this gateway",
    "modalities": "only text output is supported; leave `modalities` out",
    "web_search_options": "web search is not offered by this gateway",
    "verbosity": "`verbosity` is not forwarded by this gateway; leave it out",
    "prompt_cache_key": "`prompt_cache_key` is not forwarded by this gateway; leave it out",
    "safety_identifier": "`safety_identifier` is not forwarded; send `user` instead",
}

def _fail(field: str, value: object, message: str, valid: object = None) -> ValidationError:
    return ValidationError(f"{field}: {message}", field=field, value=value, valid=valid)


def _typed(body: dict[str, Any], name: str, kinds: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if value is None:
        return None
    # bool is an int in Python, but not in JSON Schema: `"max_tokens": true` is a client bug worth naming.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _as_tuple(kinds)):
        raise _fail(name, value, f"expected {what}, got {type(value).__name__} {value!r}"[:200], what)
    return value


def _as_tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _part(raw: object, where: str) -> ContentPart:
    if not isinstance(raw, dict):
        raise _fail(where, raw, "a content part must be an object with a type", ["text", "image_url"])
    kind = raw.get("type")
    if kind == "text":
        text = raw.get("text")
        if not isinstance(text, str):
            raise _fail(f"{where}.text", text, "a text part needs a string `text`")
        return TextPart(text)
    if kind == "image_url":
        image = raw.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str) or not url:
            raise _fail(f"{where}.image_url.url", url, "an image part needs `image_url.url` (https or data URL)")
        media = url[len(_MEDIA_TYPE_PREFIX) :].split(";", 1)[0] if url.startswith(_MEDIA_TYPE_PREFIX) else None
        return ImagePart(url, media_type=media or None)
    raise _fail(f"{where}.type", kind, f"content part type {kind!r} is not supported", ["text", "image_url"])


def _content(raw: object, where: str) -> str | tuple[ContentPart, ...]:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, list):
        return tuple(_part(p, f"{where}[{i}]") for i, p in enumerate(raw))
    raise _fail(where, raw, "content must be a string, an array of content parts, or null")


def _message(raw: object, i: int) -> Message:
    where = f"messages[{i}]"
    if not isinstance(raw, dict):
        raise _fail(where, raw, "each message must be an object with `role` and `content`")
    role = _ROLE_ALIASES.get(raw.get("role"), raw.get("role"))
    if role not in ("system", "user", "assistant", "tool"):
        valid = ["system", "developer", "user", "assistant", "tool"]
        raise _fail(f"{where}.role", raw.get("role"), f"role {raw.get('role')!r} is not valid", valid)
    tool_calls = raw.get("tool_calls")
    if tool_calls is not None and not isinstance(tool_calls, list):
        raise _fail(f"{where}.tool_calls", tool_calls, "tool_calls must be an array")
    return Message(
        role=role,
        content=_content(raw.get("content"), f"{where}.content"),
        name=raw.get("name") if isinstance(raw.get("name"), str) else None,
        tool_call_id=raw.get("tool_call_id") if isinstance(raw.get("tool_call_id"), str) else None,
        tool_calls=tuple(tool_calls) if tool_calls else None,
    )


def _stop(body: dict[str, Any]) -> tuple[str, ...] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    if isinstance(stop, str):
        return (stop,)
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return tuple(stop)
    raise _fail("stop", stop, "stop must be a string or an array of strings")


def _max_tokens(body: dict[str, Any]) -> int | None:
    newer = _typed(body, "max_completion_tokens", int, "an integer")
    return newer if newer is not None else _typed(body, "max_tokens", int, "an integer")


def _stream_flags(body: dict[str, Any]) -> tuple[bool, bool]:
    stream = bool(_typed(body, "stream", bool, "true or false"))
    options = _typed(body, "stream_options", dict, "an object") or {}
    return stream, bool(options.get("include_usage")) and stream


def metadata_fields(body: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
    """OpenAI's ``metadata`` is a string-to-string map: its ``task_type`` routes the call, every other key is a tag."""
    metadata = _typed(body, "metadata", dict, "an object of string values") or {}
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _fail(f"metadata.{key}", value, "metadata values must be strings (up to 512 characters)")
    value = metadata.get("task_type")
    if value is not None and not value.strip():
        raise _fail("metadata.task_type", value, "metadata.task_type must be a non-empty string")
    return value, {k: v for k, v in metadata.items() if k != "task_type"}


def _check_fields(body: dict[str, Any]) -> None:
    for name in body:
        if name in REFUSED_FIELDS:
            raise _fail(name, body[name], REFUSED_FIELDS[name])
        if name not in ACCEPTED_FIELDS:
            raise _fail(name, body[name], f"`{name}` is not a Chat Completions field this gateway knows",
                        sorted(ACCEPTED_FIELDS))


def _logit_bias(body: dict[str, Any]) -> dict[str, float] | None:
    bias = _typed(body, "logit_bias", dict, "an object of token id -> bias from -100 to 100")
    return dict(bias) if bias else None


def _options(body: dict[str, Any]) -> dict[str, Any]:
    """The optional sampling and service fields, type-checked (ChatRequest checks their ranges)."""
    return {
        "logprobs": _typed(body, "logprobs", bool, "true or false"),
        "top_logprobs": _typed(body, "top_logprobs", int, "an integer from 0 to 20"),
        "reasoning_effort": _typed(body, "reasoning_effort", str, "one of none, minimal, low, medium, high"),
        "parallel_tool_calls": _typed(body, "parallel_tool_calls", bool, "true or false"),
        "presence_penalty": _typed(body, "presence_penalty", (int, float), "a number from -2 to 2"),
        "frequency_penalty": _typed(body, "frequency_penalty", (int, float), "a number from -2 to 2"),
        "logit_bias": _logit_bias(body),
        "service_tier": _typed(body, "service_tier", str, "one of auto, default, flex, scale, priority"),
        "store": _typed(body, "store", bool, "true or false"),
        "prediction": _typed(body, "prediction", dict, 'an object such as {"type": "content", "content": "..."}'),
    }


def parse_chat_request(body: object) -> ParsedChat:
    """Translate a Chat Completions body; raises ValidationError naming the field and what is valid."""
    if not isinstance(body, dict):
        raise _fail("body", type(body).__name__, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail("model", model, "`model` is required: a catalog model id, an alias, or podium/auto")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _fail("messages", messages, "`messages` must be a non-empty array of messages")
    _check_fields(body)
    n = _typed(body, "n", int, "an integer from 1 to 16")
    stream, include_usage = _stream_flags(body)
    if stream and n not in (None, 1):
        raise _fail("n", n, "n > 1 is answered whole only; leave `stream` out or ask for one answer", 1)
    tools = _typed(body, "tools", list, "an array of tools")
    request = ChatRequest(
        messages=tuple(_message(m, i) for i, m in enumerate(messages)),
        temperature=_typed(body, "temperature", (int, float), "a number from 0 to 2"),
        max_tokens=_max_tokens(body),
        top_p=_typed(body, "top_p", (int, float), "a number from 0 to 1"),
        stop=_stop(body),
        response_format=_typed(body, "response_format", dict, 'an object such as {"type": "json_object"}'),
        tools=tuple(tools) if tools else None,
        tool_choice=body.get("tool_choice"),
        seed=_typed(body, "seed", int, "an integer"),
        user=_typed(body, "user", str, "a string"),
        n=n,
        **_options(body),
    )
    task_type, tags = metadata_fields(body)
    return ParsedChat(
        model=model.strip(), request=request, stream=stream, include_usage=include_usage,
        task_type=task_type, tags=tags,
    )


TAGS_HEADER = "x-podium-tags"
_MAX_TAGS = 32


def call_tags(metadata: dict[str, str], header: str | None) -> dict[str, str]:
    """The call's tags: ``metadata`` keys (task_type aside) and ``x-podium-tags: key=value, key2=value2``; a bare
    ``name`` is the tag ``name=""``. The header wins over metadata for a key both name."""
    tags = dict(metadata)
    for item in (header or "").split(","):
        name, _, value = item.partition("=")
        if not name.strip():
            if item.strip():
                raise _fail(TAGS_HEADER, header, "each tag is key=value (or a bare key), separated by commas")
            continue
        tags[name.strip()] = value.strip()
    if len(tags) > _MAX_TAGS:
        raise _fail(TAGS_HEADER, len(tags), f"a call takes at most {_MAX_TAGS} tags (metadata keys and header)")
    return tags


def refuse_unhonoured(request: ChatRequest, model: str | None, catalog: Catalog) -> None:
    """Refuse ``n`` > 1 and ``logprobs`` where they cannot be honoured: a ``podium/*`` virtual model (it answers with
    one routed model's answer), or a model whose provider does not honour them (podium.providers.features)."""
    if (request.n or 1) == 1 and not request.logprobs:
        return
    from podium.providers.features import LOGPROBS, SAMPLES, model_features

    asked: list[tuple[str, str, Any]] = []
    if (request.n or 1) > 1:
        asked.append((SAMPLES, "n", request.n))
    if request.logprobs:
        asked.append((LOGPROBS, "logprobs", True))
    features = frozenset() if model is None else model_features(catalog.get(model))
    for feature, name, value in asked:
        if feature not in features:
            where = f"model {model}'s provider" if model else "a podium/* virtual model (it answers with one model)"
            raise _fail(name, value, f"{name} is not honoured by {where}; name a model of a provider that honours it "
                                     "(openai, vllm; gemini for logprobs) or leave it out")
