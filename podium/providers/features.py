"""Which optional request features a provider honours, so routing asks for them only where they exist.

Two facts combine: what a wire protocol can carry (each wire module's ``FEATURES``), and what the server behind
it honours. OpenAI-compatible servers differ (Groq rejects ``n`` > 1; many ignore ``logprobs``), so a compatible
provider gets a feature only when it is listed in ``SERVER_FEATURES``; an unlisted provider gets none, and a
gate that needs the feature then says it was skipped rather than sending a request the server may refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from podium.config.providers import DEFAULT_PROVIDERS, PROVIDER_ALIASES, ProviderSettings
from podium.core.model_spec import ModelSpec
from podium.providers import gemini_wire, openai_wire

LOGPROBS = "logprobs"  # token log probabilities (ChatRequest.logprobs -> Completion.logprobs)
SAMPLES = "n"  # several answers in one call, the prompt billed once (ChatRequest.n -> Completion.samples)

# What each wire kind can carry; a kind missing here (anthropic, replay, a plugin's) carries none.
WIRE_FEATURES: Mapping[str, frozenset[str]] = MappingProxyType({
    "openai": openai_wire.FEATURES,
    "gemini": gemini_wire.FEATURES,
})

# What the server behind each provider honours, by provider name (the first-party APIs and vLLM, whose
# OpenAI-compatible server implements both ``n`` and ``logprobs``).
SERVER_FEATURES: Mapping[str, frozenset[str]] = MappingProxyType({
    "openai": frozenset({LOGPROBS, SAMPLES}),
    "gemini": frozenset({LOGPROBS}),
    "vllm": frozenset({LOGPROBS, SAMPLES}),
})


def provider_features(
    provider: str, providers: Mapping[str, ProviderSettings] = DEFAULT_PROVIDERS
) -> frozenset[str]:
    """The optional features ``provider`` (a name, or an alias) honours; empty for an unknown provider."""
    name = PROVIDER_ALIASES.get(provider, provider)
    settings = providers.get(name)
    if settings is None:
        return frozenset()
    return WIRE_FEATURES.get(settings.kind, frozenset()) & SERVER_FEATURES.get(name, frozenset())


def model_features(spec: ModelSpec) -> frozenset[str]:
    """The optional features the provider serving ``spec`` honours (with the built-in provider settings)."""
    return provider_features(spec.provider)
