"""FallbackPolicy: which models come next after each kind of failure."""

from __future__ import annotations

import pytest

from podium.config.resilience import FallbackSettings
from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContentPolicyError,
    ContextWindowExceededError,
    MalformedResponseError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    ValidationError,
)
from podium.core.model_spec import ModelSpec
from podium.resilience import FallbackPolicy


def _m(mid: str, api: str | None = None, window: int = 128_000) -> ModelSpec:
    provider, name = mid.split(":", 1)
    return ModelSpec(id=mid, provider=provider, api_model=api or name, context_window=window)


MINI = _m("openai:gpt-4o-mini")
MINI_OR = _m("openrouter:openai/gpt-4o-mini")
GPT4O = _m("openai:gpt-4o")
HAIKU = _m("anthropic:claude-haiku-4-5", window=200_000)
FLASH = _m("gemini:gemini-2.5-flash", window=1_000_000)
LLAMA = _m("ollama:llama3.2", window=8_192)
CANDIDATES = [MINI, GPT4O, HAIKU, MINI_OR, LLAMA, FLASH]


def _ids(models: list[ModelSpec]) -> list[str]:
    return [m.id for m in models]


def _err(cls: type, provider: str = "openai") -> Exception:
    return cls("x", provider=provider, status=500)


@pytest.mark.parametrize("cls", [ServerError, UpstreamConnectionError, CircuitOpenError])
def test_provider_down_prefers_same_model_elsewhere_and_demotes_the_provider(cls: type) -> None:
    nxt = FallbackPolicy().next_candidates(_err(cls), [MINI], CANDIDATES)
    assert _ids(nxt) == [MINI_OR.id, HAIKU.id, FLASH.id, GPT4O.id, LLAMA.id]


@pytest.mark.parametrize("cls", [RateLimitError, MalformedResponseError])
def test_model_level_errors_keep_the_strategy_order(cls: type) -> None:
    nxt = FallbackPolicy().next_candidates(_err(cls), [MINI], CANDIDATES)
    assert _ids(nxt) == [MINI_OR.id, GPT4O.id, HAIKU.id, FLASH.id, LLAMA.id]


def test_context_window_overflow_goes_only_to_larger_windows() -> None:
    err = ContextWindowExceededError("too long", provider="openai", status=400)
    nxt = FallbackPolicy().next_candidates(err, [MINI], CANDIDATES)
    assert _ids(nxt) == [HAIKU.id, FLASH.id]


def test_content_policy_goes_to_another_provider() -> None:
    err = ContentPolicyError("refused", provider="openai", status=400)
    nxt = FallbackPolicy().next_candidates(err, [MINI], CANDIDATES)
    assert {m.provider for m in nxt}.isdisjoint({"openai"})
    assert _ids(nxt) == [HAIKU.id, FLASH.id, MINI_OR.id, LLAMA.id]  # the same model elsewhere would refuse too


def test_auth_error_skips_the_provider_with_the_bad_key() -> None:
    nxt = FallbackPolicy().next_candidates(AuthenticationError("401", provider="openai"), [MINI.id], CANDIDATES)
    assert "openai" not in {m.provider for m in nxt}


def test_other_bad_requests_and_foreign_errors_do_not_fall_back() -> None:
    policy = FallbackPolicy()
    assert policy.next_candidates(BadRequestError("bad", provider="openai", status=400), [MINI], CANDIDATES) == []
    assert policy.next_candidates(ValidationError("bad"), [MINI], CANDIDATES) == []


def test_local_model_is_last_and_reached_when_every_remote_failed() -> None:
    policy = FallbackPolicy()
    tried: list[ModelSpec] = []
    order: list[str] = []
    current = MINI
    while True:
        tried.append(current)
        order.append(current.id)
        nxt = policy.next_candidates(_err(ServerError, current.provider), tried, CANDIDATES)
        if not nxt:
            break
        current = nxt[0]
    assert order[-1] == LLAMA.id
    assert set(order) == set(_ids(CANDIDATES))


def test_configured_local_models_and_local_providers_join_the_end() -> None:
    box = _m("lab:qwen2.5-7b")
    policy = FallbackPolicy(local_providers={"lab"}, local_models=[box])
    nxt = policy.next_candidates(_err(ServerError), [MINI], [MINI, HAIKU])
    assert _ids(nxt) == [HAIKU.id, box.id]
    off = FallbackPolicy(FallbackSettings(local=False), local_providers={"lab"}, local_models=[box])
    assert _ids(off.next_candidates(_err(ServerError), [MINI], [MINI, HAIKU])) == [HAIKU.id]


def test_toggles_switch_each_fallback_off() -> None:
    assert FallbackPolicy(FallbackSettings(enabled=False)).next_candidates(_err(ServerError), [MINI], CANDIDATES) == []
    policy = FallbackPolicy(FallbackSettings(on_context_window=False, on_content_policy=False, on_provider_error=False))
    for err in (ContextWindowExceededError("x", provider="openai"), ContentPolicyError("x", provider="openai"),
                _err(ServerError)):  # fmt: skip
        assert policy.next_candidates(err, [MINI], CANDIDATES) == []
    same_order = FallbackPolicy(FallbackSettings(prefer_other_provider=False))
    assert _ids(same_order.next_candidates(_err(ServerError), [MINI], CANDIDATES))[:2] == [GPT4O.id, HAIKU.id]
