"""Judged (free-form) prompts: a candidate is rated by how far it stands below the strongest candidate, scaled by
how much the prompt separates models."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from podium.catalog import Catalog
from podium.core.types import Usage
from podium.routing.arena_priors import (
    ELO_LOGIT_UNIT,
    HARD_SEPARABILITY,
    JUDGED_MARGIN,
    SCORE_UNIT,
    judged_logits,
    separability,
)
from podium.routing.task_analysis import DIFFICULTIES, TASK_TYPES
from podium.routing.decision_rules import choose_cheapest
from podium.routing.learned_router import default_router

ROOT = Path(__file__).resolve().parents[1]
GPT4, MIXTRAL = "openai:gpt-4-1106-preview", "together:mixtral-8x7b-chat"


def test_the_strongest_candidate_gets_the_margin_and_weaker_ones_fall_with_the_gap() -> None:
    scores = np.array([0.5, 0.0, -1.0])  # profile figures on the router's scale (100 Elo per unit)
    out = judged_logits(scores, 1.0)
    assert out[0] == pytest.approx(JUDGED_MARGIN)
    assert out[1] == pytest.approx(JUDGED_MARGIN - 0.5 * SCORE_UNIT / ELO_LOGIT_UNIT)
    assert out[0] > out[1] > out[2]


def test_a_prompt_that_separates_more_widens_the_gap_and_rows_are_prompts() -> None:
    scores = np.array([[0.5, 0.0], [0.5, 0.0]])
    out = judged_logits(scores, np.array([0.5, 2.0]))
    assert out[0, 0] == out[1, 0] == pytest.approx(JUDGED_MARGIN)
    assert out[1, 1] < out[0, 1]


def test_separability_grows_with_difficulty_and_is_bounded_by_the_hard_prompt_fit() -> None:
    for task in TASK_TYPES:
        ks = [separability(task, d) for d in DIFFICULTIES]
        assert ks == sorted(ks) and ks[0] < 1.0
        assert max(ks) == pytest.approx(HARD_SEPARABILITY)
    assert separability("code", "moderate") > separability("chat", "moderate")


def test_the_hard_prompt_separability_is_the_fit_of_the_bundled_leaderboards() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "fit_separability.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "2.71" in done.stdout


def test_a_router_trained_on_any_mix_rates_judged_prompts_the_same_way() -> None:
    """Separability comes from task analysis, not from weights fitted on closed benchmarks, so a router trained on
    a different mix (as `podium eval` trains one) ranks a judged prompt's candidates alike."""
    from podium.routing.datasets import load_bundled
    from podium.routing.router_training import fit_router

    small = fit_router([r for r in load_bundled() if r.eval_name == "winogrande"][:300], plans=False)
    models = [GPT4, MIXTRAL, "openai:gpt-3.5-turbo-1106"]
    for prompt in ("Compose a haiku about autumn leaves.", "Give me three tips for sleeping better."):
        assert small.predict(prompt, models) == pytest.approx(default_router().predict(prompt, models))


def _cheapest(prompt: str, models: list[str]) -> str:
    catalog, router = Catalog.bundled(), default_router()
    costs: dict[str, Decimal | None] = {m: catalog.get(m).cost(Usage(input_tokens=200, output_tokens=300)) for m in models}
    return choose_cheapest(router.predict(prompt, models), costs, 0.7)


RECORDED = ["openai:gpt-3.5-turbo-1106", GPT4, MIXTRAL, "together:mistral-7b-chat", "together:llama-2-70b-chat"]


@pytest.mark.parametrize("prompt", ["Compose a haiku about autumn leaves.", "Write a catchy slogan for a lemonade stand.",
                                    "Give me three tips for sleeping better."])
def test_short_chat_prompts_go_below_the_strongest_recorded_model(prompt: str) -> None:
    assert _cheapest(prompt, RECORDED) == MIXTRAL


@pytest.mark.parametrize("prompt", [
    ("Write a Rust function that parses a simple arithmetic expression with +,-,*,/ and parentheses into an AST and "
     "evaluates it."),
    ("Debug this code and explain the bug:\n```python\ndef avg(xs):\n    return sum(xs) / len(xs) if xs else 0\n"
     "print(avg([1,2,'3']))\n```"),
])
def test_code_prompts_judged_on_their_answer_go_to_the_strongest_recorded_model(prompt: str) -> None:
    assert _cheapest(prompt, RECORDED) == GPT4


def test_with_current_models_a_short_chat_prompt_takes_the_small_model_and_a_harder_one_a_bigger_one() -> None:
    family = ["openai:gpt-5-nano", "openai:gpt-5-mini", "openai:gpt-5"]
    assert _cheapest("Tell me a fun fact about octopuses.", family) == "openai:gpt-5-nano"
    hard = "Implement a thread-safe LRU cache in Java with O(1) get and put, and explain the locking strategy."
    assert _cheapest(hard, family) != "openai:gpt-5-nano"
