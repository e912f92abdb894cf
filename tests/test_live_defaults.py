"""A fresh install with real keys routes on today's models: easy prompts to a cheap current model, hard ones to the
strongest, across key sets. Every call goes through the real CLI to the fake upstream on loopback (each provider's
own wire format), with no config beyond the providers' base URLs.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.testing import FakeUpstream

runner = CliRunner()
KEY = "sk-live-defaults-0123456789"
CATALOG = Catalog.bundled()
ENV_OF = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GOOGLE_API_KEY"}

EASY = [
    "What is the capital of France?",
    "Translate 'good morning' into Spanish.",
    "Write a haiku about autumn.",
]
HARD = [
    "Prove that there are infinitely many primes congruent to 3 mod 4.",
    (
        "Implement a thread-safe LRU cache in Python with O(1) get and put, with unit tests, and explain the "
        "concurrency design."
    ),
    "Design a distributed rate limiter for a multi-region API gateway; discuss consistency trade-offs.",
]
KEY_SETS = [("openai",), ("anthropic",), ("gemini",), ("openai", "anthropic", "gemini")]


@pytest.fixture()
def fake(upstream: FakeUpstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    fake, base = upstream, upstream.base_url  # type: ignore[attr-defined]
    fake.reset()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(
        f"providers:\n  openai: {{base_url: '{base}/v1'}}\n  anthropic: {{base_url: '{base}'}}\n"
        f"  gemini: {{base_url: '{base}'}}\nresilience:\n  retry: {{max_attempts: 1}}\n"
    )
    return fake


def _current(providers: tuple[str, ...]) -> list:
    return [s for s in CATALOG if s.provider in providers and s.current and s.priced]


def _price(spec) -> Decimal:  # type: ignore[no-untyped-def]
    return spec.input_per_million + spec.output_per_million


def _ask(prompt: str, providers: tuple[str, ...]) -> dict:
    env = {ENV_OF[p]: KEY for p in providers}
    result = runner.invoke(app, ["ask", prompt, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("providers", KEY_SETS, ids=["+".join(k) for k in KEY_SETS])
@pytest.mark.parametrize("prompt", EASY)
def test_an_easy_prompt_goes_to_a_cheap_current_model(fake: FakeUpstream, prompt: str, providers: tuple[str, ...]) -> None:
    answer = _ask(prompt, providers)
    chosen = CATALOG.get(answer["model"])
    models = _current(providers)
    prices = sorted(_price(s) for s in models)
    assert chosen.provider in providers and chosen.current
    # Price tier: among the cheapest quarter of the current models these keys reach.
    assert _price(chosen) <= prices[len(prices) // 4], (chosen.id, [str(p) for p in prices])
    assert not chosen.legacy and "1106" not in chosen.id
    assert fake.count(chosen.api_model) == 1


@pytest.mark.parametrize("providers", KEY_SETS, ids=["+".join(k) for k in KEY_SETS])
@pytest.mark.parametrize("prompt", HARD)
def test_a_hard_prompt_goes_to_the_strongest_current_model(fake: FakeUpstream, prompt: str,
                                                           providers: tuple[str, ...]) -> None:
    answer = _ask(prompt, providers)
    chosen = CATALOG.get(answer["model"])
    best = max(s.quality.score("overall") for s in _current(providers))
    assert chosen.provider in providers and chosen.current
    # Quality tier: within 30 Elo of the strongest current model these keys reach.
    assert chosen.quality.score("overall") >= best - 30, (chosen.id, best)


def test_the_capital_of_france_with_only_an_openai_key_costs_a_fraction_of_the_2023_default(fake: FakeUpstream) -> None:
    answer = _ask("What is the capital of France?", ("openai",))
    chosen = CATALOG.get(answer["model"])
    old = CATALOG.get("openai:gpt-4-1106-preview")
    assert _price(chosen) * 20 < _price(old), chosen.id
    assert answer["text"] == "echo: What is the capital of France?"


def test_legacy_models_are_used_when_named(fake: FakeUpstream) -> None:
    result = runner.invoke(app, ["ask", "hi", "--model", "openai:gpt-4-1106-preview", "--json"],
                           env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "openai:gpt-4-1106-preview"
    assert fake.count("gpt-4-1106-preview") == 1


def test_models_picks_among_the_named_candidates_only(fake: FakeUpstream) -> None:
    named = "openai:gpt-4.1-mini,openai:gpt-5"
    result = runner.invoke(app, ["ask", "What is the capital of France?", "--models", named, "--json"],
                           env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == "openai:gpt-4.1-mini"


def test_models_with_model_is_a_usage_error(fake: FakeUpstream) -> None:
    result = runner.invoke(app, ["ask", "hi", "--models", "openai:gpt-5", "--model", "openai:gpt-5"],
                           env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 2
    assert "use --model for one model or --models to route among several, not both" in result.output


def test_an_unknown_name_in_models_fails_with_suggestions(fake: FakeUpstream) -> None:
    result = runner.invoke(app, ["ask", "hi", "--models", "openai:gpt-5-nanoo"], env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 2
    assert "gpt-5-nano" in result.output
