"""Embedding calls, independent of any provider's wire format: the inputs and the typed answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from podium.core.errors import ValidationError
from podium.core.types import Usage

# One input: a text, or a token array (the ids of an already tokenized text).
EmbeddingInput = str | tuple[int, ...]
_INPUT_HINT = "use a string, a list of strings, a token array (list of ints) or a list of token arrays"


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    """One embedding call's answer: a vector per input, in input order. ``cost_usd`` is None until priced."""

    vectors: tuple[tuple[float, ...], ...]
    usage: Usage
    model: str
    provider: str
    cost_usd: Decimal | None = None
    request_id: str | None = None
    latency_ms: float = 0.0


def embedding_inputs(value: object) -> tuple[EmbeddingInput, ...]:
    """The inputs of an embedding call in the OpenAI shapes; a ValidationError naming ``input`` otherwise."""
    if isinstance(value, str):
        return (_text(value),)
    if not isinstance(value, Sequence) or not value:
        raise ValidationError(f"input: {_INPUT_HINT} (not empty)", field="input", value=value)
    if all(_is_token(v) for v in value):
        return (tuple(value),)  # type: ignore[arg-type]
    out: list[EmbeddingInput] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(_text(item, f"input[{i}]"))
        elif isinstance(item, Sequence) and item and all(_is_token(t) for t in item):
            out.append(tuple(item))
        else:
            raise ValidationError(f"input[{i}]: {_INPUT_HINT}", field=f"input[{i}]", value=item)
    return tuple(out)


def input_text(item: EmbeddingInput) -> str:
    """An input as text for the ledger's prompt column: a token array as its space-separated ids."""
    return item if isinstance(item, str) else " ".join(str(t) for t in item)


def _is_token(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: str, where: str = "input") -> str:
    if not value:
        raise ValidationError(f"{where}: an empty string has no embedding; {_INPUT_HINT}", field=where, value=value)
    return value
