"""Prices as providers publish them: one test per price shape, each against a cost worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from podium.catalog import Catalog
from podium.catalog.litellm_import import spec_from_litellm_entry
from podium.catalog.mapping import spec_from_mapping, spec_to_mapping
from podium.config.root import PodiumConfig
from podium.core.errors import BudgetExceededError, ConfigError, ValidationError
from podium.core.model_spec import ModelSpec, PriceTier
from podium.core.tokens import estimate_text_tokens
from podium.core.types import ChatRequest, Usage
from podium.engine import Podium
from podium.testing import FakeUpstream

D = Decimal
KEY = "sk-test-pricing-0123456789"


def spec(**prices: object) -> ModelSpec:
    return spec_from_mapping({"id": "test:m", "input_per_million": "1", "output_per_million": "4", **prices})


# -- the case: Gemini 2.5 Pro above 200K tokens ----------------------------------------------------------


def test_gemini_25_pro_300k_prompt_is_billed_at_the_long_prompt_price() -> None:
    pro = Catalog.bundled().get("gemini:gemini-2.5-pro")
    # 300,000 x $2.50/1M + 1,000 x $15/1M (https://ai.google.dev/gemini-api/docs/pricing, prompts > 200K)
    assert pro.cost(Usage(input_tokens=300_000, output_tokens=1_000)) == D("0.765")
    assert pro.worst_case_cost(300_000, 1_000) == D("0.765")
    # At exactly 200K the base price holds: 200,000 x $1.25/1M + 1,000 x $10/1M.
    assert pro.cost(Usage(input_tokens=200_000, output_tokens=1_000)) == D("0.26")


def test_tier_cache_reads_use_the_tiers_cached_price() -> None:
    pro = Catalog.bundled().get("gemini:gemini-2.5-pro")
    # 250K prompt, 100K of it from cache: 150,000 x 2.50 + 100,000 x 0.25 + 2,000 x 15, per 1M.
    usage = Usage(input_tokens=250_000, output_tokens=2_000, cached_input_tokens=100_000)
    assert pro.cost(usage) == D("0.375") + D("0.025") + D("0.03")


def test_tiers_pick_the_highest_threshold_passed_and_fall_back_to_base_cache_prices() -> None:
    m = spec(
        cached_input_per_million="0.1",
        price_tiers=[
            {"above_input_tokens": 272_000, "input_per_million": "3", "output_per_million": "9"},
            {"above_input_tokens": 128_000, "input_per_million": "2", "output_per_million": "8"},
        ],
    )
    assert [t.above_input_tokens for t in m.price_tiers] == [128_000, 272_000]
    assert m.cost(Usage(input_tokens=100_000, output_tokens=10)) == D("0.10004")  # base: 0.1 + 0.00004
    assert m.cost(Usage(input_tokens=200_000, output_tokens=10)) == D("0.40008")  # 2/1M and 8/1M
    # 300K at the 272K tier; its cache price is unset, so cached tokens keep the base $0.10.
    assert m.cost(Usage(input_tokens=300_000, output_tokens=10, cached_input_tokens=100_000)) == D("0.61009")


# -- cache reads and writes --------------------------------------------------------------------------------------


def test_anthropic_cache_read_and_write_prices() -> None:
    sonnet = Catalog.bundled().get("anthropic:claude-sonnet-4-5")
    # $3 in, $15 out, $0.30 cache read, $3.75 cache write (https://platform.claude.com/docs/en/about-claude/pricing)
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cached_input_tokens=6_000, cache_write_tokens=2_000)
    # 2,000 fresh x 3 + 6,000 x 0.30 + 2,000 x 3.75 + 1,000 x 15, per 1M
    assert sonnet.cost(usage) == D("0.006") + D("0.0018") + D("0.0075") + D("0.015")


def test_claude_sonnet_4_long_context_tier_prices_cache_writes_too() -> None:
    sonnet4 = Catalog.bundled().get("anthropic:claude-sonnet-4")
    # above 200K: $6 in, $22.50 out, $0.60 cache read, $7.50 cache write
    usage = Usage(input_tokens=400_000, output_tokens=1_000, cached_input_tokens=100_000, cache_write_tokens=100_000)
    assert sonnet4.cost(usage) == D("1.2") + D("0.06") + D("0.75") + D("0.0225")


# -- reasoning tokens and request fees ---------------------------------------------------------------------------


def test_reasoning_tokens_at_their_own_price() -> None:
    m = spec(reasoning_per_million="10")
    # 1,000 output tokens, 600 of them reasoning: 400 x 4 + 600 x 10 + 500 x 1, per 1M
    assert m.cost(Usage(input_tokens=500, output_tokens=1_000, reasoning_tokens=600)) == D("0.0081")
    # the worst case assumes every output token may be a (dearer) reasoning one: 500 x 1 + 1,000 x 10
    assert m.worst_case_cost(500, 1_000) == D("0.0105")


def test_reasoning_tokens_without_their_own_price_are_output_tokens() -> None:
    m = spec()
    assert m.cost(Usage(input_tokens=500, output_tokens=1_000, reasoning_tokens=600)) == D("0.0045")


def test_per_request_fee_is_added_once() -> None:
    m = spec(request_fee_usd="0.005")
    assert m.cost(Usage(input_tokens=1_000, output_tokens=1_000)) == D("0.005") + D("0.001") + D("0.004")
    assert m.worst_case_cost(1_000, 1_000) == D("0.010")


def test_n_answers_worst_case_counts_every_answer() -> None:
    m = spec()
    assert m.worst_case_cost(1_000, 100, samples=3) == D("0.001") + D("0.0012")


# -- where prices come from: LiteLLM maps and catalog entries ----------------------------------------------------


def test_litellm_above_200k_fields_become_a_tier() -> None:
    entry = {
        "litellm_provider": "gemini", "mode": "chat", "max_input_tokens": 1_048_576,
        "input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-07,
        "input_cost_per_token_above_200k_tokens": 2.5e-06, "output_cost_per_token_above_200k_tokens": 1.5e-05,
        "cache_read_input_token_cost_above_200k_tokens": 2.5e-07,
        "input_cost_per_token_above_200k_tokens_priority": 4.5e-06,  # a service tier, not a prompt-length tier
        "output_cost_per_reasoning_token": 1.2e-05, "input_cost_per_request": 0.001,
    }
    got = spec_from_litellm_entry("gemini/g", entry, "gemini", as_of=date(2025, 11, 1), source="test")
    assert got.price_tiers == (PriceTier(200_000, D("2.5"), D("15"), D("0.25"), None),)
    assert (got.reasoning_per_million, got.request_fee_usd) == (D("12"), D("0.001"))
    # 300K in, 1K out (all reasoning at $12/1M) + the $0.001 fee
    assert got.cost(Usage(input_tokens=300_000, output_tokens=1_000, reasoning_tokens=1_000)) == D("0.763")


def test_tiers_round_trip_through_the_catalog_mapping() -> None:
    pro = Catalog.bundled().get("gemini:gemini-2.5-pro")
    mapped = spec_to_mapping(pro)
    assert mapped["price_tiers"] == [
        {"above_input_tokens": 200000, "input_per_million": "2.5", "output_per_million": "15",
         "cached_input_per_million": "0.25"}
    ]
    assert spec_from_mapping(mapped) == pro


@pytest.mark.parametrize("tiers,names", [
    ([{"above_input_tokens": 0, "input_per_million": "1", "output_per_million": "1"}], "price_tiers"),
    ([{"above_input_tokens": 10, "input_per_million": "1"}], "output_per_million"),
    ([{"above_input_tokens": 10, "input_per_million": "1", "output_per_million": "1", "inptu": 1}], "'inptu'"),
    ("cheap", "above_input_tokens"),
])
def test_a_bad_tier_names_the_field(tiers: object, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        spec(price_tiers=tiers)
    assert info.value.field == "models.test:m.price_tiers"
    assert names in str(info.value)


def test_a_negative_request_fee_is_refused() -> None:
    with pytest.raises(ConfigError, match="request_fee_usd"):
        spec(request_fee_usd="-1")
    with pytest.raises(ValidationError, match="input_cost_per_request"):
        spec_from_litellm_entry("openai/x", {"litellm_provider": "openai", "input_cost_per_token": 1e-6,
                                             "output_cost_per_token": 1e-6, "input_cost_per_request": -1},
                                "openai", as_of=date(2025, 11, 1), source="t")


# -- the bill and the reservation, through the engine and the ledger ---------------------------------------------


def _client(upstream: FakeUpstream, home: Path, **config: object) -> Podium:
    cfg = PodiumConfig.from_mapping({"providers": {"gemini": {"base_url": upstream.base_url}},
                                     "orchestration": {"enabled": False}, **config})
    return Podium.from_config(cfg, env={"GOOGLE_API_KEY": KEY}, home=home)


async def test_the_bill_of_a_long_prompt_uses_the_tier(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.reset()
    upstream.script("gemini-2.5-pro", text="ok", usage=Usage(input_tokens=300_000, output_tokens=1_000))
    async with _client(upstream, tmp_path) as client:
        completion = await client.complete("a long document", model="gemini:gemini-2.5-pro")
    assert completion.cost_usd == D("0.765")


async def test_the_reservation_of_a_long_prompt_uses_the_tier(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.reset()
    prompt = "word " * 250_000  # well over 200K tokens by any estimate
    async with _client(upstream, tmp_path, ledger={"daily_budget_usd": "0.5"}) as client:
        with pytest.raises(BudgetExceededError) as info:
            await client.complete(ChatRequest.from_prompt(prompt, max_tokens=1_000), model="gemini:gemini-2.5-pro")
    tokens = info.value.requested * 10**6 - 1_000 * D(15)  # what is left is the prompt at the tier's $2.50
    assert tokens / D("2.5") >= estimate_text_tokens(prompt) > 200_000
    assert upstream.count("gemini-2.5-pro") == 0
