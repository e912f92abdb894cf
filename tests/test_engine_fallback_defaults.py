"""Which other models an explicit ``model=`` call may land on: only the ones the user configured.

Through the whole stack (resilience, ledger) against the fake upstream on loopback. A bad key is reported, not
paid around at another provider; the seed's built-in fallback list and the catalog's local models are used only
when the config names them.
"""

from __future__ import annotations

import socket
from decimal import Decimal
from pathlib import Path

import pytest

from podium import AllAttemptsFailedError, AuthenticationError, Podium
from podium.config.root import PodiumConfig
from podium.core.errors import ConfigError, ProviderError
from podium.ledger import LedgerReader
from podium.testing import FakeUpstream

KEY = "sk-test-secret-0123456789"
ENV = {"OPENAI_API_KEY": KEY, "GOOGLE_API_KEY": KEY, "GEMINI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY, "OLLAMA_API_KEY": KEY}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(upstream: FakeUpstream, tmp_path: Path, **extra: object) -> Podium:
    mapping: dict = {
        "providers": {
            "openai": {"base_url": upstream.base_url + "/v1"},
            "gemini": {"base_url": upstream.base_url},
            "anthropic": {"base_url": upstream.base_url},
            # the fake upstream wants a key on every call; a real Ollama needs none
            "ollama": {"base_url": upstream.base_url + "/v1", "api_key_env": "OLLAMA_API_KEY"},
        },
        "resilience": {"retry": {"max_attempts": 1}},
        "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
    }
    for key, value in extra.items():
        mapping[key] = {**mapping.get(key, {}), **value} if isinstance(value, dict) else value
    return Podium.from_config(PodiumConfig.from_mapping(mapping), env=ENV, home=tmp_path)


async def test_a_rejected_key_is_reported_not_answered_by_another_provider(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=401, times=None)
    upstream.script("gemini-2.5-pro", "answer from gemini")
    async with _client(upstream, tmp_path, orchestration={"fallback_strategy": {"models": ["gemini-2.5-pro"]}}) as c:
        with pytest.raises(AuthenticationError) as err:
            await c.complete("hi", model="openai:gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(err.value) and KEY not in str(err.value)
    assert upstream.count("gemini-2.5-pro") == 0 and upstream.count("gpt-4o-mini") == 1


async def test_the_seed_fallback_list_applies_only_when_the_config_sets_it(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=500, times=None)
    upstream.script("gemini-2.5-pro", "answer from gemini")
    async with _client(upstream, tmp_path / "a") as plain:
        with pytest.raises(ProviderError):
            await plain.complete("hi", model="openai:gpt-4o-mini")
    assert upstream.count("gemini-2.5-pro") == 0  # the built-in default list is not a user's choice

    chosen = {"fallback_strategy": {"models": ["gemini-2.5-pro"]}}
    async with _client(upstream, tmp_path / "b", orchestration=chosen) as configured:
        done = await configured.complete("hi", model="openai:gpt-4o-mini")
    assert done.model == "gemini:gemini-2.5-pro" and done.text == "answer from gemini"


async def test_local_models_answer_only_when_configured(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=503, times=None)
    upstream.script("llama3.2", "answer from the local model")
    async with _client(upstream, tmp_path / "a") as plain:
        with pytest.raises(ProviderError):
            await plain.complete("hi", model="openai:gpt-4o-mini")
    assert upstream.count("llama3.2") == 0

    local = {"retry": {"max_attempts": 1}, "fallback": {"local_models": ["ollama:llama3.2"]}}
    async with _client(upstream, tmp_path / "b", resilience=local) as configured:
        done = await configured.complete("hi", model="openai:gpt-4o-mini")
    assert done.model == "ollama:llama3.2" and done.text == "answer from the local model"


async def test_a_local_model_with_no_server_fails_alone(tmp_path) -> None:
    """The walkthrough's case: no Ollama running must not fan out over every local model in the catalog."""
    config = PodiumConfig.from_mapping({
        "providers": {"ollama": {"base_url": f"http://127.0.0.1:{_closed_port()}/v1"}},
        "resilience": {"retry": {"max_attempts": 2, "base_delay": 0.0}},
        "ledger": {"url": f"sqlite:///{tmp_path / 'ledger.db'}"},
    })
    async with Podium.from_config(config, env={}, home=tmp_path) as client:
        with pytest.raises(ProviderError) as err:
            await client.complete("hi", model="ollama:llama3.2")
    assert not isinstance(err.value, AllAttemptsFailedError)
    assert "could not connect to ollama" in str(err.value)
    rows = LedgerReader(config.ledger.database_url(tmp_path)).rows()
    assert [r["model"] for r in rows] == ["ollama:llama3.2", "ollama:llama3.2"]  # its own retries, nothing else


def test_an_unknown_local_fallback_model_fails_at_start_up(tmp_path) -> None:
    config = PodiumConfig.from_mapping({"resilience": {"fallback": {"local_models": ["ollama:llama9"]}}})
    with pytest.raises(ConfigError, match=r"resilience\.fallback\.local_models\[0\] = 'ollama:llama9'"):
        Podium.from_config(config, env={}, home=tmp_path)


@pytest.mark.parametrize("blocked", ["disabled", "policy"])
async def test_a_local_fallback_that_may_not_run_leaves_the_real_error(upstream, tmp_path, blocked) -> None:
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=500, times=None)
    extra: dict = {"resilience": {"retry": {"max_attempts": 1}, "fallback": {"local_models": ["ollama:llama3.2"]}}}
    if blocked == "disabled":
        extra["providers"] = {"ollama": {"base_url": upstream.base_url + "/v1", "api_key_env": "OLLAMA_API_KEY",
                                         "enabled": False}}
    else:
        extra["policy"] = {"global": [{"name": "no_local", "denied_providers": ["ollama"]}]}
    async with _client(upstream, tmp_path, **extra) as client:
        with pytest.raises(ProviderError) as err:
            await client.complete("hi", model="openai:gpt-4o-mini")
    assert type(err.value).__name__ == "ServerError"  # the upstream's answer, not a config/policy refusal
    assert upstream.count("llama3.2") == 0


async def test_a_routed_call_never_leaves_its_candidates_through_a_fallback(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=500, times=None)
    upstream.script("gemini-2.5-pro", "answer from gemini")
    chosen = {"fallback_strategy": {"models": ["gemini-2.5-pro"]}}
    async with _client(upstream, tmp_path, orchestration=chosen) as client:
        with pytest.raises(AllAttemptsFailedError) as err:
            await client.route("hi", strategy="cheapest", candidates=["openai:gpt-4o-mini"])
    assert [model for model, _ in err.value.attempts] == ["openai:gpt-4o-mini"]
    assert upstream.count("gemini-2.5-pro") == 0


async def test_a_cascade_whose_judge_fails_keeps_going_without_losing_the_paid_answer(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.script("gpt-4o-mini", "Paris is the capital of France.")
    upstream.script("gpt-4o", "Paris.")
    upstream.fail("gemini-2.5-pro", status=500, times=None)
    routing = {"chains": {"two": ["openai:gpt-4o-mini", "openai:gpt-4o"]}, "chain": "two", "gates": ["judge"],
               "judge_model": "gemini:gemini-2.5-pro"}
    async with _client(upstream, tmp_path, routing=routing) as client:
        result = await client.route("What is the capital of France?", strategy="cascade")
    assert result.completion.text in ("Paris is the capital of France.", "Paris.")
    judge_steps = [s for s in result.decision.steps if s.role == "judge"]
    assert judge_steps and all(s.outcome == "failed" for s in judge_steps)
    paid = sum((a.cost_usd for a in result.attempts), Decimal(0))
    assert result.total_cost_usd == paid and paid > 0
