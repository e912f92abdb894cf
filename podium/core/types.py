"""Request and response types shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from podium.core.errors import ValidationError
from podium.core.json_types import JSONValue

if TYPE_CHECKING:
    from podium.core.routed import RoutedResult

Role = Literal["system", "user", "assistant", "tool"]
REASONING_EFFORTS: tuple[str, ...] = ("none", "minimal", "low", "medium", "high")
SERVICE_TIERS: tuple[str, ...] = ("auto", "default", "flex", "scale", "priority")
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image given by URL or as a data URL (``data:image/png;base64,...``)."""

    url: str
    media_type: str | None = None
    type: Literal["image"] = "image"


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str | tuple[ContentPart, ...]
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(
                f"message role {self.role!r} is not valid; use one of {', '.join(ROLES)}",
                field="role",
                value=self.role,
            )
        if isinstance(self.content, list):
            object.__setattr__(self, "content", tuple(self.content))

    @property
    def text(self) -> str:
        """The message's text, with image parts left out."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", text)

    @classmethod
    def user(cls, text: str) -> Message:
        return cls("user", text)

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", text)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat call, independent of any provider's wire format.

    ``model`` is a Podium model id (``provider:model``) or alias, or None when a strategy picks.
    """

    messages: tuple[Message, ...]
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    response_format: dict[str, Any] | None = None
    tools: tuple[dict[str, Any], ...] | None = None
    tool_choice: JSONValue = None  # "auto", "none", "required" or {"type": "function", ...}
    seed: int | None = None
    user: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Live quality signals: token log probabilities, and ``n`` answers sampled in one call (prompt billed once).
    # Only providers whose wire carries them send them (podium.providers.features); others ignore them.
    logprobs: bool | None = None
    top_logprobs: int | None = None
    n: int | None = None
    # OpenAI Chat Completions options. Each wire module sends the ones its API takes (translated where it has a
    # counterpart) and refuses the rest with a ValidationError naming the field: none is dropped without a word.
    reasoning_effort: str | None = None  # REASONING_EFFORTS
    parallel_tool_calls: bool | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    service_tier: str | None = None  # SERVICE_TIERS
    store: bool | None = None
    prediction: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.messages, list):
            object.__setattr__(self, "messages", tuple(self.messages))
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        elif isinstance(self.stop, list):
            object.__setattr__(self, "stop", tuple(self.stop))
        if isinstance(self.tools, list):
            object.__setattr__(self, "tools", tuple(self.tools))
        if not self.messages:
            raise ValidationError("messages must hold at least one message", field="messages", value=[])
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ValidationError(
                f"temperature {self.temperature} is out of range; use a number from 0 to 2",
                field="temperature",
                value=self.temperature,
            )
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValidationError(
                f"max_tokens {self.max_tokens} is not valid; use a whole number of at least 1",
                field="max_tokens",
                value=self.max_tokens,
            )
        self._check_signals()

    def _check_signals(self) -> None:
        if self.top_logprobs is not None and not 0 <= self.top_logprobs <= 20:
            raise ValidationError(
                f"top_logprobs {self.top_logprobs} is out of range; use a whole number from 0 to 20",
                field="top_logprobs",
                value=self.top_logprobs,
            )
        if self.top_logprobs is not None and not self.logprobs:
            raise ValidationError(
                "top_logprobs needs logprobs=True; set logprobs too, or leave top_logprobs out",
                field="top_logprobs",
                value=self.top_logprobs,
            )
        if self.n is not None and not 1 <= self.n <= 16:
            raise ValidationError(
                f"n {self.n} is out of range; use a whole number of answers from 1 to 16",
                field="n",
                value=self.n,
            )
        self._check_options()

    def _check_options(self) -> None:
        for name in ("presence_penalty", "frequency_penalty"):
            value = getattr(self, name)
            if value is not None and not -2 <= value <= 2:
                raise ValidationError(f"{name} {value} is out of range; use a number from -2 to 2", field=name, value=value)
        for name, valid in (("reasoning_effort", REASONING_EFFORTS), ("service_tier", SERVICE_TIERS)):
            value = getattr(self, name)
            if value is not None and value not in valid:
                raise ValidationError(f"{name} {value!r} is not valid; use one of {', '.join(valid)}",
                                      field=name, value=value, valid=list(valid))
        for token, bias in (self.logit_bias or {}).items():
            if isinstance(bias, bool) or not isinstance(bias, (int, float)) or not -100 <= bias <= 100:
                raise ValidationError(f"logit_bias[{token!r}] = {bias!r} is not valid; use a number from -100 to 100",
                                      field=f"logit_bias.{token}", value=bias)

    @classmethod
    def from_prompt(cls, prompt: str, *, system: str | None = None, **kwargs: Any) -> ChatRequest:
        msgs: list[Message] = []
        if system:
            msgs.append(Message.system(system))
        msgs.append(Message.user(prompt))
        return cls(messages=tuple(msgs), **kwargs)

    def with_model(self, model: str) -> ChatRequest:
        return replace(self, model=model)

    @property
    def prompt_text(self) -> str:
        """All message text joined, used for task analysis, token estimates and cache keys."""
        return "\n".join(m.text for m in self.messages)

    @property
    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.role == "user":
                return m.text
        return self.messages[-1].text


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them.

    ``input_tokens`` counts every prompt token, cached ones included; ``cached_input_tokens`` is the part read
    from the provider's prompt cache and ``cache_write_tokens`` the part written to it. ``output_tokens``
    counts every generated token, reasoning included; ``reasoning_tokens`` is the part spent on reasoning.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }


@dataclass(frozen=True, slots=True)
class Completion:
    """One model's answer. ``cost_usd`` is None until priced (the engine prices from the catalog)."""

    text: str
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal | None = None
    latency_ms: float = 0.0
    finish_reason: str | None = None
    tool_calls: tuple[dict[str, Any], ...] | None = None
    cached: bool = False
    request_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The answer's token log probabilities when asked for (``ChatRequest.logprobs``); a provider that reports
    # only their mean gives that one value.
    logprobs: tuple[float, ...] | None = None
    # Every answer's text when several were sampled in one call (``ChatRequest.n``); ``samples[0]`` is ``text``.
    samples: tuple[str, ...] | None = None
    # A routed answer's whole run: every attempt's usage and cost, the models tried and the decision (None when
    # the call named a model).
    routed: RoutedResult | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of ``podium ask``."""
        return {
            "text": self.text,
            "model": self.model,
            "provider": self.provider,
            "usage": self.usage.to_dict(),
            "cost_usd": None if self.cost_usd is None else str(self.cost_usd),
            "latency_ms": round(self.latency_ms, 3),
            "finish_reason": self.finish_reason,
        }


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """A piece of a streamed answer. The last chunk carries ``finish_reason`` and, where known, ``usage`` and
    ``cost_usd`` (only a provider that knows the exact cost sets it: replay's recorded cost)."""

    delta: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_call_delta: dict[str, Any] | None = None
    cost_usd: Decimal | None = None
