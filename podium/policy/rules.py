"""Each policy rule as a small check over catalog facts: (policy, model, call facts) -> why it is denied, or None."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from podium.config.policy import Policy, tier_rank
from podium.config.providers import PROVIDER_ALIASES
from podium.core.model_spec import ModelSpec
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest


@dataclass(frozen=True, slots=True)
class CallFacts:
    """What a rule may know about the call itself (for the per-task cost cap)."""

    input_tokens: int
    max_output_tokens: int | None

    @classmethod
    def of(cls, request: ChatRequest | None) -> CallFacts | None:
        if request is None:
            return None
        return cls(estimate_request_tokens(request), request.max_tokens)


@dataclass(frozen=True, slots=True)
class Violation:
    """One policy rule a model breaks, with the reason in words."""

    policy: str
    rule: str
    model: str
    reason: str
    hard: bool
    scope: str = "global"

    def __str__(self) -> str:
        return f"policy {self.policy!r} ({self.scope}) rule {self.rule}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "model": self.model,
            "reason": self.reason,
            "mode": "hard" if self.hard else "soft",
            "scope": self.scope,
        }


def provider_name(name: str) -> str:
    return PROVIDER_ALIASES.get(name, name)


def model_names(spec: ModelSpec) -> list[str]:
    """Names a model pattern may match: the id, the bare model name and every alias (lower case)."""
    return [spec.id.lower(), spec.id.split(":", 1)[-1].lower(), *(a.lower() for a in spec.aliases)]


def matches_model(pattern: str, spec: ModelSpec) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for name in model_names(spec))


def _money(value: Decimal) -> str:
    return f"${value.normalize():f}"


def _region(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    if p.allowed_regions is None or spec.region.lower() in p.allowed_regions:
        return None
    return f"{spec.id} is in region {spec.region!r}; allowed: {', '.join(p.allowed_regions)}"


def _training(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    if p.allow_training_on_output or not spec.trains_on_outputs:
        return None
    return f"{spec.id} may train on outputs, and the policy forbids that"


def _allowed_providers(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    if p.allowed_providers is None or spec.provider in {provider_name(x) for x in p.allowed_providers}:
        return None
    return f"{spec.id}'s provider {spec.provider!r} is not allowed; allowed: {', '.join(p.allowed_providers)}"


def _denied_providers(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    if spec.provider not in {provider_name(x) for x in p.denied_providers}:
        return None
    return f"{spec.id}'s provider {spec.provider!r} is denied"


def _allowed_models(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    if p.allowed_models is None or any(matches_model(pat, spec) for pat in p.allowed_models):
        return None
    return f"{spec.id} matches none of the allowed models: {', '.join(p.allowed_models)}"


def _denied_models(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    hit = next((pat for pat in p.denied_models if matches_model(pat, spec)), None)
    return None if hit is None else f"{spec.id} matches the denied model pattern {hit!r}"


def _price(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    limit = p.max_price_per_million_usd
    if limit is None:
        return None
    if not spec.priced:
        return f"{spec.id} has no known price, so it cannot be shown to cost at most {_money(limit)} per 1M tokens"
    assert spec.input_per_million is not None and spec.output_per_million is not None
    price = max(spec.input_per_million, spec.output_per_million)
    if price <= limit:
        return None
    return f"{spec.id} costs up to {_money(price)} per 1M tokens; the limit is {_money(limit)}"


def _task_cost(p: Policy, spec: ModelSpec, facts: CallFacts | None) -> str | None:
    limit = p.max_cost_per_task_usd
    if limit is None or facts is None:  # without a request there is no task to price
        return None
    worst = spec.worst_case_cost(facts.input_tokens, facts.max_output_tokens)
    if worst is None:
        return f"{spec.id} has no known price, so its cost cannot be capped at {_money(limit)}"
    if worst <= limit:
        return None
    return f"{spec.id} could cost up to {_money(worst)} for this call; the cap is {_money(limit)} (lower max_tokens)"


def _tier(p: Policy, spec: ModelSpec, _: CallFacts | None) -> str | None:
    tier = p.required_tier
    if tier is None or tier_rank(spec.quality_tier) >= tier_rank(tier):
        return None
    return f"{spec.id} is quality tier {spec.quality_tier!r}; at least {tier!r} is required"


Rule = Callable[[Policy, ModelSpec, "CallFacts | None"], "str | None"]

# Rules that can be decided before a call, by the name users write in policy files.
RULES: dict[str, Rule] = {
    "allowed_regions": _region,
    "allow_training_on_output": _training,
    "allowed_providers": _allowed_providers,
    "denied_providers": _denied_providers,
    "allowed_models": _allowed_models,
    "denied_models": _denied_models,
    "max_price_per_million_usd": _price,
    "max_cost_per_task_usd": _task_cost,
    "min_quality": _tier,
}


def latency_violation(p: Policy, model: str, latency_ms: float) -> str | None:
    """``max_latency_ms`` is only knowable after the answer arrives, so it is checked then."""
    if p.max_latency_ms is None or latency_ms <= p.max_latency_ms:
        return None
    return f"{model} answered in {latency_ms:.0f} ms; the limit is {p.max_latency_ms:.0f} ms"
