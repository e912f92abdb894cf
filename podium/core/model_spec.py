"""What Podium knows about one model: where it lives, what it costs, what it can do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from podium.core.money import ZERO, token_cost
from podium.core.types import Completion, Usage

CAPABILITIES: tuple[str, ...] = ("code", "math", "reasoning", "vision", "long-context", "fast", "tools", "json")
QUALITY_TIERS: tuple[str, ...] = ("basic", "standard", "advanced", "frontier")
# The task categories a quality profile rates, besides its overall figure.
PROFILE_CATEGORIES: tuple[str, ...] = ("code", "math", "reasoning", "knowledge", "writing")
PROFILE_KEYS: tuple[str, ...] = ("overall", *PROFILE_CATEGORIES)
# What a model answers: chat calls, or embedding calls (``POST /v1/embeddings``); routing picks only chat models.
MODEL_KINDS: tuple[str, ...] = ("chat", "embedding")


@dataclass(frozen=True, slots=True)
class QualityFigure:
    """One quality figure on the Arena Elo-equivalent scale, with where it comes from, like a price.

    ``estimate`` marks a figure derived from others (a sibling model, the overall figure) rather than measured.
    """

    score: float
    source: str = ""
    as_of: date | None = None
    estimate: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class QualityProfile:
    """How good a model is overall and per task category (``PROFILE_CATEGORIES``), each figure sourced and dated."""

    overall: QualityFigure
    categories: tuple[tuple[str, QualityFigure], ...] = ()

    def figure(self, category: str) -> QualityFigure:
        """The category's figure; the overall one for a category the profile does not rate."""
        for name, fig in self.categories:
            if name == category:
                return fig
        return self.overall

    def score(self, category: str = "overall") -> float:
        return self.overall.score if category == "overall" else self.figure(category).score

    def items(self) -> list[tuple[str, QualityFigure]]:
        """Every figure, overall first, then the categories in ``PROFILE_CATEGORIES`` order."""
        return [("overall", self.overall), *((c, self.figure(c)) for c in PROFILE_CATEGORIES)]


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices (USD per 1M tokens) for a whole call whose prompt is longer than ``above_input_tokens``.

    Providers publish long-prompt prices this way (Gemini 2.5 Pro above 200K, GPT-5.4 above 272K): once the prompt
    crosses the threshold, every token of the call is billed at the tier's price, not only the part above it.
    A cache price the tier leaves out is the base one, as LiteLLM computes it.
    """

    above_input_tokens: int
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None
    cache_write_per_million: Decimal | None = None


@dataclass(frozen=True, slots=True)
class _Rates:
    input: Decimal
    output: Decimal
    cached: Decimal
    write: Decimal


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A catalog entry. Prices are USD per 1M tokens; None means the price is unknown.

    The one owner of pricing: every cost Podium computes (gateway bill, ledger reservation and settlement, strategy
    estimates, terminal pricing, recorded data) goes through ``cost``, ``worst_case_cost`` or ``completion_cost``.
    """

    id: str  # "provider:model", e.g. "anthropic:claude-haiku-4-5"
    provider: str  # provider name, e.g. "anthropic", "groq", "ollama", "replay"
    api_model: str  # the name the provider's API expects
    input_per_million: Decimal | None = None
    output_per_million: Decimal | None = None
    cached_input_per_million: Decimal | None = None
    cache_write_per_million: Decimal | None = None
    context_window: int = 8192
    max_output_tokens: int = 4096
    capabilities: frozenset[str] = field(default_factory=frozenset)
    quality_tier: str = "standard"
    free_tier: bool = False
    region: str = "global"
    trains_on_outputs: bool = False
    open_weights: bool = False  # the weights are published (llama, mistral, qwen, deepseek, gemma, ...)
    default_rpm: int | None = None
    default_tpm: int | None = None
    price_source: str = ""
    price_as_of: date | None = None
    aliases: tuple[str, ...] = ()
    deprecated: bool = False
    description: str = ""
    legacy: bool = False  # superseded by a newer model of its provider: routed to only when named
    quality: QualityProfile | None = None
    # Reasoning tokens' own price where a provider publishes one (LiteLLM ``output_cost_per_reasoning_token``);
    # None bills them as output tokens, which they are part of.
    reasoning_per_million: Decimal | None = None
    request_fee_usd: Decimal | None = None  # a flat fee per request (LiteLLM ``input_cost_per_request``)
    price_tiers: tuple[PriceTier, ...] = ()  # long-prompt prices, lowest threshold first
    kind: str = "chat"  # one of MODEL_KINDS

    @property
    def current(self) -> bool:
        """A chat model neither retired nor superseded: a model strategies may pick on their own."""
        return self.kind == "chat" and not (self.deprecated or self.legacy)

    @property
    def priced(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None

    def tier_for(self, input_tokens: int) -> PriceTier | None:
        """The long-prompt tier a prompt of ``input_tokens`` is billed at, or None for the base prices."""
        chosen = None
        for tier in self.price_tiers:
            if input_tokens > tier.above_input_tokens and (chosen is None or tier.above_input_tokens > chosen.above_input_tokens):
                chosen = tier
        return chosen

    def _rates(self, input_tokens: int) -> _Rates:
        assert self.input_per_million is not None and self.output_per_million is not None
        base_in, base_out = self.input_per_million, self.output_per_million
        cached, write = self.cached_input_per_million, self.cache_write_per_million
        tier = self.tier_for(input_tokens)
        if tier is not None:
            base_in, base_out = tier.input_per_million, tier.output_per_million
            cached = tier.cached_input_per_million if tier.cached_input_per_million is not None else cached
            write = tier.cache_write_per_million if tier.cache_write_per_million is not None else write
        return _Rates(base_in, base_out, base_in if cached is None else cached, base_in if write is None else write)

    def cost(self, usage: Usage) -> Decimal | None:
        """Exact cost of ``usage`` at this model's prices, or None when the price is unknown.

        The prompt's length picks the price tier; cache reads and writes, reasoning tokens and a per-request fee
        are billed at their own prices where the provider publishes them.
        """
        if not self.priced:
            return None
        rates = self._rates(usage.input_tokens)
        uncached = max(0, usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens)
        reasoning = min(usage.reasoning_tokens, usage.output_tokens) if self.reasoning_per_million is not None else 0
        total = (
            token_cost(uncached, rates.input)
            + token_cost(usage.cached_input_tokens, rates.cached)
            + token_cost(usage.cache_write_tokens, rates.write)
            + token_cost(usage.output_tokens - reasoning, rates.output)
            + (token_cost(reasoning, self.reasoning_per_million) if self.reasoning_per_million is not None else ZERO)
            + (self.request_fee_usd or ZERO)
        )
        return total if total != ZERO else ZERO

    def completion_cost(self, completion: Completion) -> Decimal | None:
        """What ``completion`` cost: the exact figure when the provider reported one (replay), else ``cost``."""
        return completion.cost_usd if completion.cost_usd is not None else self.cost(completion.usage)

    def worst_case_cost(self, input_tokens: int, max_output_tokens: int | None, samples: int = 1) -> Decimal | None:
        """Upper bound for a call: every prompt token uncached (at the tier the prompt's length reaches), and the full
        output allowance used by each of ``samples`` answers, at the dearer of the output and reasoning prices."""
        out = (max_output_tokens if max_output_tokens is not None else self.max_output_tokens) * max(1, samples)
        dearer_reasoning = self.reasoning_per_million is not None and self.output_per_million is not None and (
            self.reasoning_per_million > self._rates(input_tokens).output
        )
        return self.cost(Usage(input_tokens=input_tokens, output_tokens=out, reasoning_tokens=out if dearer_reasoning else 0))

    def has(self, *caps: str) -> bool:
        return all(c in self.capabilities for c in caps)
