"""The replay provider: recorded answers at their exact recorded cost, misses, streaming, settings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import ReplayMissError
from podium.core.model_spec import ModelSpec
from podium.core.provider import Provider
from podium.core.types import ChatRequest, Message
from podium.providers.recorded_data import EvalRecord, Outcome
from podium.providers.replay import ReplayProvider

GPT4 = ModelSpec(id="openai:gpt-4-1106-preview", provider="openai", api_model="gpt-4-1106-preview")
MIXTRAL = ModelSpec(id="together:mixtral-8x7b-chat", provider="together", api_model="mixtral-8x7b-chat")

RECORDS = [
    EvalRecord(
        "toy.1",
        "What is the boiling point of water at sea level in Celsius?",
        "toy",
        {
            GPT4.id: Outcome(1.0, Decimal("0.0042639999999999996"), "It boils at 100 degrees Celsius at sea level."),
            MIXTRAL.id: Outcome(0.0, Decimal("0.0001"), "90"),
        },
    )
]


def test_replay_is_a_provider() -> None:
    assert isinstance(ReplayProvider(RECORDS), Provider)
    assert ReplayProvider.name == "replay"


async def test_hit_returns_recorded_text_and_exact_cost() -> None:
    provider = ReplayProvider(RECORDS)
    request = ChatRequest.from_prompt("what is the BOILING point of water   at sea level in celsius?")
    done = await provider.complete(request, GPT4)
    assert done.text == "It boils at 100 degrees Celsius at sea level."
    assert done.cost_usd == Decimal("0.0042639999999999996")
    assert done.provider == "replay" and done.model == GPT4.id and done.latency_ms == 0
    assert done.metadata["usage_estimated"] is True and done.metadata["correct"] == 1.0
    assert done.usage.input_tokens > 0 and done.usage.output_tokens > 0
    other = await provider.complete(request, MIXTRAL)
    assert (other.text, other.cost_usd, other.metadata["correct"]) == ("90", Decimal("0.0001"), 0.0)


async def test_full_prompt_text_is_tried_when_last_user_message_misses() -> None:
    provider = ReplayProvider(
        [EvalRecord("s.1", "Be brief.\nSay hi", "toy", {GPT4.id: Outcome(1.0, Decimal("0.001"), "hi")})]
    )
    request = ChatRequest(messages=(Message.system("Be brief."), Message.user("Say hi")))
    assert (await provider.complete(request, GPT4)).text == "hi"


async def test_miss_names_the_model() -> None:
    provider = ReplayProvider(RECORDS)
    with pytest.raises(ReplayMissError, match="openai:gpt-4-1106-preview") as err:
        await provider.complete(ChatRequest.from_prompt("never recorded"), GPT4)
    assert err.value.model == GPT4.id
    unknown = ModelSpec(id="openai:gpt-9", provider="openai", api_model="gpt-9")
    with pytest.raises(ReplayMissError, match="gpt-9"):
        await provider.complete(ChatRequest.from_prompt(RECORDS[0].prompt), unknown)


async def test_model_found_by_api_name_alias() -> None:
    provider = ReplayProvider(RECORDS)
    spec = ModelSpec(id="replay:gpt-4-1106-preview", provider="replay", api_model="gpt-4-1106-preview")
    assert (await provider.complete(ChatRequest.from_prompt(RECORDS[0].prompt), spec)).cost_usd == Decimal(
        "0.0042639999999999996"
    )


async def test_stream_yields_text_in_chunks_then_usage() -> None:
    provider = ReplayProvider(RECORDS)
    chunks = [c async for c in provider.stream(ChatRequest.from_prompt(RECORDS[0].prompt), GPT4)]
    assert len(chunks) >= 3
    assert "".join(c.delta for c in chunks) == RECORDS[0].outcomes[GPT4.id].response
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage is not None
    assert chunks[-1].cost_usd == RECORDS[0].outcomes[GPT4.id].cost_usd  # the same cost as a non-streamed call
    assert all(c.usage is None and c.cost_usd is None for c in chunks[:-1])
    with pytest.raises(ReplayMissError):
        [c async for c in provider.stream(ChatRequest.from_prompt("nope"), GPT4)]


async def test_bundled_data_and_sample_prompts() -> None:
    prompts = ReplayProvider.sample_prompts(3)
    assert len(prompts) == 3 and all(len(p) <= 300 for p in prompts)
    provider = ReplayProvider.from_settings(ProviderSettings(name="replay", kind="replay"), http_client=None, env={})
    assert provider.sample_prompts(3) == prompts
    assert len(provider.models) == 11
    done = await provider.complete(ChatRequest.from_prompt(prompts[0]), GPT4)
    assert isinstance(done.cost_usd, Decimal) and done.cost_usd > 0
    await provider.aclose()


async def test_settings_base_url_points_at_a_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "mine_dev.csv"
    path.write_text("prompt,gpt-4-1106-preview,gpt-4-1106-preview_response\nPing?,True,Pong!\n")
    provider = ReplayProvider.from_settings(ProviderSettings(name="replay", kind="replay", base_url=str(path)))
    assert (await provider.complete(ChatRequest.from_prompt("ping?"), GPT4)).text == "Pong!"


async def test_streamed_and_plain_replay_calls_charge_the_same_recorded_cost(tmp_path: Path) -> None:
    """Through the engine and its SQLite ledger: a streamed replay answer costs what the recording says, exactly
    as the non-streamed one does (not an estimate from counted tokens)."""
    from podium.config.root import PodiumConfig
    from podium.engine.client import Podium
    from podium.providers.recorded_data import bundled_records

    record = next(r for r in bundled_records() if GPT4.id in r.outcomes and len(r.prompt) < 400)
    recorded = record.outcomes[GPT4.id].cost_usd
    config = PodiumConfig.from_mapping({"mode": "replay", "ledger": {"url": f"sqlite:///{tmp_path / 'l.db'}"}})
    async with Podium.from_config(config, env={}, home=tmp_path) as client:
        plain = await client.complete(record.prompt, model=GPT4.id)
        streamed = await client.stream(record.prompt, model=GPT4.id).collect()
    assert plain.cost_usd == streamed.cost_usd == recorded
    assert len(str(recorded).split(".")[-1]) <= 12  # recorder float noise is not carried into money
