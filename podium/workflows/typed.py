"""Typed model output: ask for JSON, validate it against a JSON Schema (and an optional semantic check), and ask
once more with the problem quoted when it does not fit. Every workflow's structured calls go through here."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar, overload

from podium.core.errors import PodiumError, ValidationError
from podium.core.json_types import JSONObject, JSONValue
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Message

if TYPE_CHECKING:
    from podium.engine import Podium

T = TypeVar("T")
RETRY_PROMPT = "That reply cannot be used: {error}. Reply again with the corrected JSON object only."
_FENCE = re.compile(r"```(?:json)?\s*\n(?P<body>.*?)```", re.DOTALL | re.IGNORECASE)
Check = Callable[[JSONObject], T]  # returns the typed value, or raises ValidationError naming the key
Prepare = Callable[[JSONObject], JSONObject]


class InvalidModelOutputError(PodiumError):
    """The model's reply did not fit the schema on any attempt; ``field`` names the key, ``cost_usd`` and
    ``tokens`` say what the attempts spent."""

    def __init__(self, message: str, *, field: str | None, value: object, cost_usd: Decimal, tokens: int) -> None:
        super().__init__(message, field=field, value=value)
        self.field = field
        self.value = value
        self.cost_usd = cost_usd
        self.tokens = tokens


@dataclass(slots=True)
class TypedAnswer(Generic[T]):
    """The checked value and what producing it cost (every attempt)."""

    value: T
    model: str = ""
    cost_usd: Decimal = ZERO
    tokens: int = 0
    attempts: int = 0
    exchanges: list[dict[str, str]] = field(default_factory=list)  # prompt/response pairs, for opt-in logging


def parse_json_object(text: str) -> JSONObject:
    """The JSON object in ``text`` (bare, or in a ```json fence, or between the first ``{`` and the last ``}``)."""
    candidates = [m.group("body") for m in _FENCE.finditer(text)] + [text]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for chunk in candidates:
        try:
            value = json.loads(chunk)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ValidationError("the reply holds no JSON object", field="<reply>", value=text[:80])


def schema_problem(value: JSONValue, schema: JSONObject) -> ValidationError | None:
    """The first way ``value`` breaks ``schema``, as a ValidationError naming the key; None when it fits."""
    import jsonschema  # a base dependency, imported on first use: listing projects need not pay for it

    validator = jsonschema.Draft202012Validator(schema)
    error = next(iter(sorted(validator.iter_errors(value), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "<top level>"
    return ValidationError(f"{where}: {error.message}", field=where, value=error.instance)


@overload
async def ask_typed(
    client: Podium,
    messages: Sequence[Message],
    *,
    schema: JSONObject,
    meta: CallMeta,
    model: str | None = None,
    strategy: str | None = None,
    candidates: Sequence[str] | None = None,
    check: Check[T],
    prepare: Prepare | None = None,
    max_tokens: int | None = 2048,
    retries: int = 1,
) -> TypedAnswer[T]: ...


@overload
async def ask_typed(
    client: Podium,
    messages: Sequence[Message],
    *,
    schema: JSONObject,
    meta: CallMeta,
    model: str | None = None,
    strategy: str | None = None,
    candidates: Sequence[str] | None = None,
    check: None = None,
    prepare: Prepare | None = None,
    max_tokens: int | None = 2048,
    retries: int = 1,
) -> TypedAnswer[JSONObject]: ...


async def ask_typed(
    client: Podium,
    messages: Sequence[Message],
    *,
    schema: JSONObject,
    meta: CallMeta,
    model: str | None = None,
    strategy: str | None = None,
    candidates: Sequence[str] | None = None,
    check: Check[T] | None = None,
    prepare: Prepare | None = None,
    max_tokens: int | None = 2048,
    retries: int = 1,
) -> TypedAnswer[T] | TypedAnswer[JSONObject]:
    """Call ``model`` (or route by ``strategy``) for a JSON object fitting ``schema`` and ``check``
    (``prepare`` normalises the parsed object first, e.g. lower-cases enum values).

    Raises InvalidModelOutputError after ``1 + retries`` unusable replies; BudgetExceededError and provider errors
    pass through unchanged.
    """
    history = list(messages)
    out: TypedAnswer[None] = TypedAnswer(value=None)  # what the attempts cost so far
    last: ValidationError | None = None
    for _ in range(1 + max(0, retries)):
        request = ChatRequest(messages=tuple(history), max_tokens=max_tokens)
        text = await _call(client, request, out, model=model, strategy=strategy, candidates=candidates, meta=meta)
        out.exchanges.append({"prompt": history[-1].text if history else "", "response": text})
        try:
            value = parse_json_object(text)
            if prepare is not None:
                value = prepare(value)
            problem = schema_problem(value, schema)
            if problem is not None:
                raise problem
            spent = (out.model, out.cost_usd, out.tokens, out.attempts, out.exchanges)
            return TypedAnswer(check(value), *spent) if check is not None else TypedAnswer(value, *spent)
        except ValidationError as exc:
            last = exc
            history += [Message.assistant(text), Message.user(RETRY_PROMPT.format(error=exc))]
    assert last is not None
    raise InvalidModelOutputError(
        f"the model {out.model} returned unusable output {out.attempts} times: {last}",
        field=last.field,
        value=last.value,
        cost_usd=out.cost_usd,
        tokens=out.tokens,
    )


async def _call(
    client: Podium,
    request: ChatRequest,
    out: TypedAnswer[None],
    *,
    model: str | None,
    strategy: str | None,
    candidates: Sequence[str] | None,
    meta: CallMeta,
) -> str:
    out.attempts += 1
    if model:
        completion = await client.complete(request, model=model, meta=meta)
        out.cost_usd += completion.cost_usd or ZERO
        out.tokens += completion.usage.total_tokens
    else:
        routed = await client.route(request, strategy=strategy or "table", meta=meta, candidates=candidates)
        completion = routed.completion
        out.cost_usd += routed.total_cost_usd or ZERO
        out.tokens += sum(c.usage.total_tokens for c in routed.attempts)
    out.model = completion.model
    return completion.text
