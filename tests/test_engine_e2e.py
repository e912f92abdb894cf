"""The library end to end: Podium.from_config -> real HTTP on loopback -> fake upstream, for all three wire formats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from podium import AuthenticationError, Podium, RateLimitError, Usage
from podium.config.root import PodiumConfig
from podium.testing import FakeUpstream

KEY = "sk-test-secret-0123456789"
CASES = [
    ("openai:gpt-4o-mini", "gpt-4o-mini", "openai", "OPENAI_API_KEY", "/v1"),
    ("anthropic:claude-haiku-4-5", None, "anthropic", "ANTHROPIC_API_KEY", ""),
    ("gemini:gemini-2.5-flash", "gemini-2.5-flash", "gemini", "GOOGLE_API_KEY", ""),
]


def client_for(upstream: FakeUpstream, tmp_path) -> Podium:
    providers = {
        name: {"base_url": upstream.base_url + prefix} for _, _, name, _, prefix in CASES
    }
    config = PodiumConfig.from_mapping({"providers": providers, "orchestration": {"enabled": False}})
    env = {var: KEY for *_, var, _ in CASES}
    return Podium.from_config(config, env=env, home=tmp_path, layers=False)


@pytest.mark.parametrize("model_id,wire_model,provider,var,prefix", CASES)
@pytest.mark.parametrize("streaming", [False, True])
async def test_cost_equals_tokens_times_catalog_price(upstream, tmp_path, model_id, wire_model, provider, var, prefix, streaming):
    upstream.reset()
    async with client_for(upstream, tmp_path) as client:
        spec = client.catalog.get(model_id)
        usage = Usage(input_tokens=1234, output_tokens=567)
        upstream.script(spec.api_model, text="Python is a programming language.", usage=usage)
        if streaming:
            stream = client.stream("What is Python?", model=model_id)
            text = "".join([c.delta async for c in stream])
            completion = stream.completion
        else:
            completion = await client.complete("What is Python?", model=model_id)
            text = completion.text
    assert text == "Python is a programming language."
    assert completion.usage.input_tokens == 1234 and completion.usage.output_tokens == 567
    expected = Decimal(1234) * spec.input_per_million / 10**6 + Decimal(567) * spec.output_per_million / 10**6
    assert completion.cost_usd == expected
    assert isinstance(completion.cost_usd, Decimal)
    assert upstream.last.stream is streaming


async def test_upstream_errors_are_typed_and_never_show_the_key(upstream, tmp_path):
    upstream.reset()
    upstream.fail("gpt-4o-mini", status=401)
    upstream.fail("gpt-4o-mini", status=429, retry_after=2)
    async with client_for(upstream, tmp_path) as client:
        with pytest.raises(AuthenticationError) as auth:
            await client.complete("hi", model="openai:gpt-4o-mini")
        with pytest.raises(RateLimitError) as limited:
            await client.complete("hi", model="openai:gpt-4o-mini")
    assert "OPENAI_API_KEY" in str(auth.value) and KEY not in str(auth.value) and KEY not in repr(auth.value)
    assert limited.value.retry_after == 2 and limited.value.source == "upstream"
