"""Which models a strategy may choose from when the user names none."""

from __future__ import annotations

import pytest

from podium import Podium
from podium.config.root import PodiumConfig
from podium.core.errors import ConfigError, NoCandidateError


def client(env: dict[str, str], tmp_path, **cfg) -> Podium:
    config = PodiumConfig.from_mapping({"orchestration": {"enabled": False}, **cfg})
    return Podium.from_config(config, env=env, home=tmp_path, layers=False)


async def test_live_candidates_are_current_models_with_a_key(tmp_path) -> None:
    async with client({"ANTHROPIC_API_KEY": "k"}, tmp_path) as c:
        decision = await c.explain("Summarise the plot of Hamlet in two lines.", strategy="cheapest")
    ids = {cand.id for cand in decision.candidates}
    assert ids and all(i.startswith("anthropic:") for i in ids)
    assert not any(c.catalog.get(i).deprecated for i in ids)


async def test_no_key_and_no_local_server_names_what_to_set(tmp_path) -> None:
    async with client({}, tmp_path) as c:
        with pytest.raises(NoCandidateError, match="OPENAI_API_KEY"):
            await c.explain("hello", strategy="cheapest")


async def test_replay_chooses_among_recorded_models(tmp_path) -> None:
    async with client({}, tmp_path, mode="replay") as c:
        decision = await c.explain("Write a function to filter odd numbers.", strategy="cheapest")
    ids = {cand.id for cand in decision.candidates}
    assert "openai:gpt-4-1106-preview" in ids and "together:mixtral-8x7b-chat" in ids


def test_an_unknown_fallback_model_fails_at_start_up_naming_the_key(tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"fallback_strategy\.models\[1\] = 'gpt-4o-mni'"):
        client({}, tmp_path, orchestration={"fallback_strategy": {"models": ["gpt-4o-mini", "gpt-4o-mni"]}})
