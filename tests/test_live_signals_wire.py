"""Live signals on the wire: token logprobs and n samples, as pure translation and over loopback HTTP against the
fake upstream (OpenAI and Gemini shapes; Anthropic offers neither)."""

from __future__ import annotations

import math

import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Usage
from podium.providers import AnthropicProvider, GeminiProvider, OpenAIProvider, gemini_wire, openai_wire
from podium.providers.features import LOGPROBS, SAMPLES, model_features, provider_features
from podium.testing import FakeUpstream, serve

KEY = "sk-live-signals-0123"
MINI = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")
FLASH = ModelSpec(id="gemini:gemini-2.5-flash", provider="gemini", api_model="gemini-2.5-flash")
HAIKU = ModelSpec(id="anthropic:claude-haiku-4-5", provider="anthropic", api_model="claude-haiku-4-5")


# -- ChatRequest ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"top_logprobs": 3}, "top_logprobs"), ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"), ({"n": 0}, "n")],
)
def test_bad_signal_fields_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ChatRequest.from_prompt("hi", **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field and field in str(info.value)


# -- pure translation ----------------------------------------------------------------------------------------------


def test_openai_body_carries_logprobs_and_n_only_when_asked() -> None:
    plain = openai_wire.build_request(ChatRequest.from_prompt("hi"), MINI, stream=False)
    assert not {"logprobs", "top_logprobs", "n"} & set(plain)
    asked = ChatRequest.from_prompt("hi", logprobs=True, top_logprobs=2, n=3)
    body = openai_wire.build_request(asked, MINI, stream=False)
    assert (body["logprobs"], body["top_logprobs"], body["n"]) == (True, 2, 3)


def test_openai_parse_reads_choice_logprobs_and_every_sample() -> None:
    def choice(i: int, text: str, lps: list[float] | None) -> dict[str, object]:
        content = None if lps is None else {"content": [{"token": "t", "logprob": lp, "bytes": [116], "top_logprobs": []}
                                                        for lp in lps]}
        return {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": content}

    body = {
        "id": "c1", "model": "gpt-4o-mini",
        "choices": [choice(0, "A", [-0.1, -2.3]), choice(1, "B", [-1.0])],
        "usage": {"prompt_tokens": 10, "completion_tokens": 6},
    }
    c = openai_wire.parse_response(body, MINI)
    assert c.text == "A" and c.logprobs == (-0.1, -2.3) and c.samples == ("A", "B")
    assert c.usage == Usage(10, 6)
    single = openai_wire.parse_response({**body, "choices": [choice(0, "A", None)]}, MINI)
    assert single.logprobs is None and single.samples is None


def test_gemini_generation_config_and_logprobs_result() -> None:
    asked = ChatRequest.from_prompt("hi", logprobs=True, top_logprobs=2)
    config = gemini_wire.build_request(asked, FLASH, stream=False)["generationConfig"]
    assert config == {"responseLogprobs": True, "logprobs": 2}
    assert "generationConfig" not in gemini_wire.build_request(ChatRequest.from_prompt("hi"), FLASH, stream=False)
    candidate = {
        "content": {"parts": [{"text": "A"}], "role": "model"}, "finishReason": "STOP", "avgLogprobs": -1.2,
        "logprobsResult": {"chosenCandidates": [{"token": "A", "tokenId": 1, "logProbability": -0.1},
                                                {"token": ".", "tokenId": 2, "logProbability": -2.3}]},
    }
    c = gemini_wire.parse_response({"candidates": [candidate]}, FLASH)
    assert c.logprobs == (-0.1, -2.3)
    avg_only = {k: v for k, v in candidate.items() if k != "logprobsResult"}
    assert gemini_wire.parse_response({"candidates": [avg_only]}, FLASH).logprobs == (-1.2,)
    bare = {k: v for k, v in avg_only.items() if k != "avgLogprobs"}
    assert gemini_wire.parse_response({"candidates": [bare]}, FLASH).logprobs is None


def test_feature_registry_says_which_providers_offer_what() -> None:
    assert provider_features("openai") == {LOGPROBS, SAMPLES}
    assert provider_features("gemini") == provider_features("google") == {LOGPROBS}
    assert provider_features("anthropic") == frozenset()
    assert provider_features("groq") == frozenset()  # OpenAI wire, but its server refuses n > 1
    assert provider_features("no-such-provider") == frozenset()
    assert model_features(MINI) == {LOGPROBS, SAMPLES} and model_features(HAIKU) == frozenset()


# -- over HTTP, against the fake upstream --------------------------------------------------------------------------


def _settings(name: str, kind: str, base: str) -> ProviderSettings:
    return ProviderSettings(name=name, kind=kind, base_url=base, api_key_env="K")  # type: ignore[arg-type]


async def test_openai_adapter_gets_scripted_logprobs_and_n_choices_billed_once() -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script("gpt-4o-mini", "A", usage=Usage(40, 2), logprobs=[-0.1, -2.3], times=1)
    fake.script("gpt-4o-mini", "B", usage=Usage(40, 3), times=1)
    fake.script("gpt-4o-mini", "A", usage=Usage(40, 2), times=1)
    request = ChatRequest.from_prompt("Pick A or B", logprobs=True, top_logprobs=1, n=3)
    async with serve(fake.app) as base, OpenAIProvider(_settings("openai", "openai", base + "/v1"), env={"K": KEY}) as provider:
        c = await provider.complete(request, MINI)
    assert fake.count("gpt-4o-mini") == 1  # one request for three answers
    sent = fake.last.json
    assert (sent["logprobs"], sent["top_logprobs"], sent["n"]) == (True, 1, 3)
    assert c.text == "A" and c.samples == ("A", "B", "A")
    assert c.logprobs == (-0.1, -2.3)
    assert c.usage == Usage(40, 7)  # the prompt billed once, every answer's output added up


async def test_openai_adapter_without_asking_gets_no_logprobs() -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script("gpt-4o-mini", "A", logprobs=[-0.1])
    async with serve(fake.app) as base, OpenAIProvider(_settings("openai", "openai", base + "/v1"), env={"K": KEY}) as provider:
        c = await provider.complete(ChatRequest.from_prompt("hi"), MINI)
    assert c.logprobs is None and c.samples is None


async def test_gemini_adapter_gets_chosen_candidate_logprobs() -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script("gemini-2.5-flash", "Paris is it", logprobs=[-0.2, -0.4, -0.6])
    async with serve(fake.app) as base, GeminiProvider(_settings("gemini", "gemini", base), env={"K": KEY}) as provider:
        c = await provider.complete(ChatRequest.from_prompt("capital?", logprobs=True, top_logprobs=2), FLASH)
        unasked = await provider.complete(ChatRequest.from_prompt("capital?"), FLASH)
    assert fake.requests[0].json["generationConfig"] == {"responseLogprobs": True, "logprobs": 2}
    assert c.logprobs == (-0.2, -0.4, -0.6)
    assert unasked.logprobs is None


async def test_unscripted_fake_logprobs_are_confident_defaults() -> None:
    fake = FakeUpstream(api_key=KEY)
    async with serve(fake.app) as base, GeminiProvider(_settings("gemini", "gemini", base), env={"K": KEY}) as provider:
        c = await provider.complete(ChatRequest.from_prompt("two words", logprobs=True), FLASH)
    assert c.text == "echo: two words"
    assert c.logprobs is not None and len(c.logprobs) == 3 and math.exp(sum(c.logprobs) / 3) > 0.98


async def test_anthropic_adapter_sends_no_logprobs_and_returns_none() -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script("claude-haiku-4-5", "A", logprobs=[-5.0])
    async with serve(fake.app) as base, AnthropicProvider(_settings("anthropic", "anthropic", base), env={"K": KEY}) as provider:
        c = await provider.complete(ChatRequest.from_prompt("hi", logprobs=True, n=3), HAIKU)
    assert not {"logprobs", "n"} & set(fake.last.json)
    assert c.logprobs is None and c.samples is None
