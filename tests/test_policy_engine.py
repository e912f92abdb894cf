"""Policies enforced by the real engine: over the fake upstream (HTTP on loopback) and a scripted provider."""

from __future__ import annotations

from decimal import Decimal

import pytest

from podium import Podium
from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.routing import RoutingSettings
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import NoCandidateError, PolicyViolationError, ServerError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Message
from podium.engine.providers import ProviderPool
from podium.policy import Policy, PolicyDocument, PolicyHierarchy
from podium.testing import FakeUpstream, ScriptedProvider, SingleProviderRegistry

KEY = "sk-test-policy-0123456789"


def live_client(upstream: FakeUpstream, tmp_path, policy: dict) -> Podium:
    providers = {name: {"base_url": upstream.base_url + "/v1"} for name in ("openai", "mistral")}
    config = PodiumConfig.from_mapping(
        {"providers": providers, "orchestration": {"enabled": False}, "policy": policy}
    )
    env = {"OPENAI_API_KEY": KEY, "MISTRAL_API_KEY": KEY}
    return Podium.from_config(config, env=env, home=tmp_path, layers=False)


async def test_hard_eu_policy_refuses_a_us_model_and_sends_nothing(upstream, tmp_path) -> None:
    upstream.reset()
    policy = {"global": [{"name": "eu_only", "allowed_regions": ["eu"], "enforcement_mode": "hard"}]}
    async with live_client(upstream, tmp_path, policy) as client:
        with pytest.raises(PolicyViolationError) as info:
            await client.complete("hello", model="openai:gpt-4o-mini")
        assert upstream.count() == 0
        answer = await client.complete("hello", model="mistral:mistral-small-latest")
    err = info.value
    assert "'eu_only'" in str(err) and "allowed_regions" in str(err) and "openai:gpt-4o-mini" in str(err)
    assert (err.fields["policy"], err.fields["rule"], err.fields["model"]) == ("eu_only", "allowed_regions",
                                                                               "openai:gpt-4o-mini")
    assert answer.model == "mistral:mistral-small-latest" and upstream.count() == 1


async def test_team_policy_applies_only_to_that_teams_calls(upstream, tmp_path) -> None:
    upstream.reset()
    policy = {"team": {"eng": [{"name": "no_openai", "denied_providers": ["openai"]}]}}
    async with live_client(upstream, tmp_path, policy) as client:
        await client.complete("hi", model="openai:gpt-4o-mini", meta=CallMeta(team="research"))
        with pytest.raises(PolicyViolationError, match="no_openai.*team eng.*denied_providers"):
            await client.complete("hi", model="openai:gpt-4o-mini", meta=CallMeta(team="eng"))
    assert upstream.count() == 1


async def test_slow_answer_breaks_max_latency_as_a_warning_only(upstream, tmp_path) -> None:
    upstream.reset()
    upstream.delay("gpt-4o-mini", 0.05, times=1)
    events: list[Event] = []
    config = PodiumConfig.from_mapping({
        "providers": {"openai": {"base_url": upstream.base_url + "/v1"}}, "orchestration": {"enabled": False},
        "policy": {"global": [{"name": "fast", "max_latency_ms": 10, "enforcement_mode": "hard"}]},
    })
    client = Podium.from_config(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path, layers=False, emit=events.append)
    async with client:
        answer = await client.complete("hello", model="openai:gpt-4o-mini")
    warnings = [e.data for e in events if e.type is EventType.POLICY_WARNING]
    assert answer.latency_ms >= 50 and upstream.count() == 1
    assert [(w["policy"], w["rule"], w["mode"]) for w in warnings] == [("fast", "max_latency_ms", "soft")]


async def test_policy_file_named_in_config_is_enforced(upstream, tmp_path) -> None:
    upstream.reset()
    path = tmp_path / "policies.json"
    path.write_text('{"job": {"job_001": [{"name": "frontier_only", "min_quality_tier": "frontier"}]}}')
    async with live_client(upstream, tmp_path, {"file": str(path)}) as client:
        with pytest.raises(PolicyViolationError, match="frontier_only.*min_quality"):
            await client.complete("hi", model="openai:gpt-4o-mini", meta=CallMeta(project="job_001"))
    assert upstream.count() == 0


# -- a scripted provider with a small catalog -------------------------------------------------------------------

def spec(name: str, *, trains: bool = False, region: str = "us", price: str = "1") -> ModelSpec:
    return ModelSpec(
        id=f"openai:{name}", provider="openai", api_model=name, input_per_million=Decimal(price),
        output_per_million=Decimal(price), region=region, trains_on_outputs=trains,
    )


TRAINS = spec("trains-cheap", trains=True, price="0.1")
PRIVATE = spec("private", price="2")
EU = spec("eu-model", region="eu", price="3")


def scripted_client(provider: ScriptedProvider, policies: list[Policy], *, events: list[Event] | None = None,
                    fallback_models: tuple[str, ...] = ()) -> Podium:
    pool = ProviderPool(registry=SingleProviderRegistry(provider), clock=SYSTEM_CLOCK, env={"OPENAI_API_KEY": "k"})
    sink = events.append if events is not None else (lambda e: None)
    return Podium(
        catalog=Catalog([TRAINS, PRIVATE, EU]),
        providers=pool,
        routing_settings=RoutingSettings(candidates=[TRAINS.id, PRIVATE.id, EU.id]),
        fallback_models=fallback_models,
        emit=sink,
        policies=PolicyHierarchy(PolicyDocument(**{"global": policies})),
    )


NO_TRAINING = Policy(name="no_training", allow_training_on_output=False)


async def test_strategy_candidates_exclude_models_that_train_on_outputs() -> None:
    provider = ScriptedProvider()
    async with scripted_client(provider, [NO_TRAINING]) as client:
        decision = await client.explain("Say hi.", strategy="cheapest")
        answer = await client.complete("Say hi.", strategy="cheapest")
    ids = {c.id for c in decision.candidates}
    assert TRAINS.id not in ids and PRIVATE.id in ids
    assert answer.model == PRIVATE.id  # the cheapest model the policy allows
    assert [m for m, _ in provider.calls] == [PRIVATE.id]


async def test_when_policies_remove_every_candidate_the_error_says_why_per_model() -> None:
    provider = ScriptedProvider()
    policies = [NO_TRAINING, Policy(name="eu_only", allowed_regions=["eu"]), Policy(name="no_eu", denied_models=["eu-*"])]
    async with scripted_client(provider, policies) as client:
        with pytest.raises(NoCandidateError) as info:
            await client.complete("Say hi.", strategy="cheapest", meta=CallMeta())
    text = str(info.value)
    assert f"{TRAINS.id}: policy 'no_training'" in text and f"{PRIVATE.id}: policy 'eu_only'" in text
    assert f"{EU.id}: policy 'no_eu' (global) rule denied_models" in text
    assert provider.calls == []


async def test_every_candidate_removed_names_each_model() -> None:
    eu_only = Policy(name="eu_only", allowed_regions=["eu"])
    async with scripted_client(ScriptedProvider(), [NO_TRAINING, eu_only]) as client:
        with pytest.raises(NoCandidateError, match=r"openai:trains-cheap: .*openai:private: policy 'eu_only'"):
            await client.explain("Say hi.", strategy="cheapest", candidates=[TRAINS.id, PRIVATE.id])


async def test_soft_policy_warns_and_the_call_proceeds() -> None:
    provider = ScriptedProvider()
    events: list[Event] = []
    soft = Policy(name="eu_preferred", allowed_regions=["eu"], enforcement_mode="soft")
    async with scripted_client(provider, [soft], events=events) as client:
        answer = await client.complete("hello", model=PRIVATE.id)
    warnings = [e.data for e in events if e.type is EventType.POLICY_WARNING]
    assert answer.model == PRIVATE.id and [m for m, _ in provider.calls] == [PRIVATE.id]
    assert warnings == [{"policy": "eu_preferred", "rule": "allowed_regions", "model": PRIVATE.id,
                         "reason": f"{PRIVATE.id} is in region 'us'; allowed: eu", "mode": "soft", "scope": "global"}]


async def test_a_fallback_that_violates_a_hard_policy_is_skipped() -> None:
    provider = ScriptedProvider()
    provider.fail(PRIVATE.id, ServerError("boom", provider="openai", status=500))
    events: list[Event] = []
    client = scripted_client(provider, [NO_TRAINING], events=events, fallback_models=(TRAINS.id, EU.id))
    async with client:
        answer = await client.complete("hello", model=PRIVATE.id)
    assert answer.model == EU.id
    assert [m for m, _ in provider.calls] == [PRIVATE.id, EU.id]
    assert [(e.data["from"], e.data["to"]) for e in events if e.type is EventType.FALLBACK] == [(PRIVATE.id, EU.id)]


async def test_per_task_cost_cap_uses_the_worst_case_of_this_request() -> None:
    cap = Policy(name="cost_cap", max_cost_per_task_usd="0.001")
    provider = ScriptedProvider()
    big = ChatRequest(messages=(Message(role="user", content="hello"),), max_tokens=10_000)  # up to $0.02 at $2/1M
    small = ChatRequest(messages=(Message(role="user", content="hello"),), max_tokens=100)
    async with scripted_client(provider, [cap]) as client:
        with pytest.raises(PolicyViolationError, match=r"max_cost_per_task_usd: openai:private could cost up to \$0\.02"):
            await client.complete(big, model=PRIVATE.id)
        await client.complete(small, model=PRIVATE.id)
    assert [m for m, _ in provider.calls] == [PRIVATE.id]


