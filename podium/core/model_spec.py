"""What Podium knows about one model: where it lives, what it costs, what it can do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from podium.core.money import ZERO, token_cost
from podium.core.types import Usage

CAPABILITIES: tuple[str, ...] = ("code", "math", "reasoning", "vision", "long-context", "fast", "tools", "json")
QUALITY_TIERS: tuple[str, ...] = ("basic", "standard", "advanced", "frontier")


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A catalog entry. Prices are USD per 1M tokens; None means the price is unknown."""

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

    @property
    def priced(self) -> bool:
        return self.input_per_million is not None and self.output_per_million is not None

    def cost(self, usage: Usage) -> Decimal | None:
        """Exact cost of ``usage`` at this model's prices, or None when the price is unknown."""
        if not self.priced:
            return None
        assert self.input_per_million is not None and self.output_per_million is not None
        cached_price = self.cached_input_per_million if self.cached_input_per_million is not None else self.input_per_million
        write_price = self.cache_write_per_million if self.cache_write_per_million is not None else self.input_per_million
        uncached = max(0, usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens)
        total = (
            token_cost(uncached, self.input_per_million)
            + token_cost(usage.cached_input_tokens, cached_price)
            + token_cost(usage.cache_write_tokens, write_price)
            + token_cost(usage.output_tokens, self.output_per_million)
        )
        return total if total != ZERO else ZERO

    def worst_case_cost(self, input_tokens: int, max_output_tokens: int | None) -> Decimal | None:
        """Upper bound for a call: every prompt token uncached, and the full output allowance used."""
        out = max_output_tokens if max_output_tokens is not None else self.max_output_tokens
        return self.cost(Usage(input_tokens=input_tokens, output_tokens=out))

    def has(self, *caps: str) -> bool:
        return all(c in self.capabilities for c in caps)
