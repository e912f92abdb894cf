"""The 11 models of the bundled replay data: ids, aliases, and historical prices checked against recorded costs."""

from __future__ import annotations

import csv
import gzip
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from podium.catalog import Catalog

REPLAY = {
    "openai:gpt-4-1106-preview": ["gpt-4-1106-preview"],
    "openai:gpt-3.5-turbo-1106": ["gpt-3.5-turbo-1106"],
    "anthropic:claude-v2": ["claude-v2"],
    "anthropic:claude-v1": ["claude-v1"],
    "anthropic:claude-instant-v1": ["claude-instant-v1"],
    "together:llama-2-70b-chat": ["meta/llama-2-70b-chat"],
    "together:mixtral-8x7b-chat": ["mistralai/mixtral-8x7b-chat", "mistralai/Mixtral-8x7B-Instruct-v0.1"],
    "together:mistral-7b-chat": ["mistralai/mistral-7b-chat"],
    "together:yi-34b-chat": ["zero-one-ai/Yi-34B-Chat"],
    "together:wizardlm-13b-v1.2": ["WizardLM/WizardLM-13B-V1.2"],
    "together:codellama-34b-instruct": ["meta/code-llama-instruct-34b-chat"],
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for name in ("arc_challenge_train.csv.gz", "mbpp_train.csv.gz", "winograde_train.csv.gz"):
        with resources.files("podium.data").joinpath(name).open("rb") as fh, gzip.open(fh, "rt") as text:
            out.extend(csv.DictReader(text))
    return out


@pytest.mark.parametrize(("model_id", "aliases"), REPLAY.items())
def test_replay_models_exist_with_recorded_names(catalog: Catalog, model_id: str, aliases: list[str]) -> None:
    spec = catalog.get(model_id)
    for alias in aliases:
        assert catalog.resolve(alias) == model_id
        assert alias in spec.aliases
    assert "RouterBench" in spec.price_source
    assert spec.price_as_of is not None and date(2023, 11, 1) <= spec.price_as_of <= date(2024, 3, 31)


def _recorded(row: dict[str, str], column: str) -> Decimal:
    return Decimal(repr(float(row[f"{column}|total_cost"]))) * 1_000_000  # micro-dollars


def _tokens_fit(cost_micro: Decimal, price: Decimal) -> bool:
    tokens = cost_micro / price
    return abs(tokens - tokens.to_integral_value()) < Decimal("0.01")


def test_flat_priced_models_fit_recorded_costs(catalog: Catalog, rows: list[dict[str, str]]) -> None:
    """Together bills input and output alike, so every recorded cost is a whole number of tokens at the price."""
    for model_id, aliases in REPLAY.items():
        spec = catalog.get(model_id)
        if spec.input_per_million != spec.output_per_million:
            continue
        assert spec.input_per_million is not None
        fits = sum(_tokens_fit(_recorded(r, aliases[0]), spec.input_per_million) for r in rows)
        assert fits == len(rows), model_id


def test_openai_and_anthropic_prices_fit_recorded_costs(catalog: Catalog, rows: list[dict[str, str]]) -> None:
    """Solve GPT token counts from the two GPT columns; Claude columns then fit whole output-token counts."""
    gpt35, gpt4 = catalog.get("gpt-3.5-turbo-1106"), catalog.get("gpt-4-1106-preview")
    assert (gpt35.input_per_million, gpt35.output_per_million) == (Decimal(1), Decimal(2))
    assert (gpt4.input_per_million, gpt4.output_per_million) == (Decimal(10), Decimal(30))
    misses = {"gpt": 0, "claude-v1": 0, "claude-v2": 0, "claude-instant-v1": 0}
    for row in rows:
        c35, c4 = _recorded(row, "gpt-3.5-turbo-1106"), _recorded(row, "gpt-4-1106-preview")
        out = (c4 - 10 * c35) / 10  # from in + 2*out = c35 and 10*in + 30*out = c4
        inp = c35 - 2 * out
        misses["gpt"] += not (_tokens_fit(out, Decimal(1)) and out >= 0)
        for name in ("claude-v1", "claude-v2", "claude-instant-v1"):
            spec = catalog.get(name)
            claude_out = (_recorded(row, name) - spec.input_per_million * inp) / spec.output_per_million  # type: ignore[operator]
            misses[name] += not _tokens_fit(claude_out, Decimal(1))
    # A handful of rows carry rounding noise in the recording; the prices must explain >= 99% of rows.
    assert all(m <= len(rows) // 100 for m in misses.values()), misses
