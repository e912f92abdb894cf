"""Task analysis on clear examples, and the learned task classifier on held-out benchmark prompts."""

from __future__ import annotations

import pytest

from podium.routing.datasets import load_bundled, split_records
from podium.routing.task_analysis import DIFFICULTIES, TASK_TYPES, USE_CASES, analyze
from podium.routing.task_classifier import EVAL_TASK_TYPES, default_task_classifier, train_task_classifier


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        ("Write a Python function that reverses a linked list.", "code"),
        ("Janet has 3 apples and buys 5 more. How many apples does she have now?", "math"),
        ("Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nC) nitrogen\nD) helium", "knowledge_qa"),
        ("Write a short poem about autumn leaves.", "writing"),
        ("hello, how are you today?", "chat"),
        ("Extract every email address from this text and return them as JSON.", "extraction"),
        ("Plan a three-day itinerary for Rome with milestones for each day.", "planning"),
        ("Why does the moon look bigger near the horizon? Reason it out step by step.", "reasoning"),
    ],
)
def test_clear_examples(prompt: str, task_type: str) -> None:
    profile = analyze(prompt)
    assert profile.task_type == task_type, profile.signals
    assert profile.task_type in TASK_TYPES and profile.difficulty in DIFFICULTIES
    assert set(profile.use_cases) <= set(USE_CASES)


def test_difficulty_speed_and_reasoning_flags() -> None:
    assert analyze("What is the capital of France?").difficulty == "simple"
    hard = analyze("Prove that the algorithm is correct and analyze its asymptotic complexity in detail.")
    assert hard.difficulty in ("complex", "expert") and hard.needs_reasoning
    assert "reasoning" in hard.use_cases
    quick = analyze("Quickly, in one word: the capital of Japan?")
    assert quick.speed_critical and "speed-critical" in quick.use_cases
    assert not analyze("Tell me about Japan.").speed_critical
    assert analyze("Solve 12 * 7 + 3 = ?").task_type == "math"


def test_signals_explain_the_decision() -> None:
    profile = analyze("Write a function to sort a list in Python.")
    assert profile.signals["rules"]["code"] >= 1
    assert set(profile.signals["learned"]) == {"code", "knowledge_qa", "math", "reasoning"}
    assert 0 <= profile.signals["learned_trust"] <= 1


def test_bundled_benchmarks_get_their_task_type() -> None:
    records = load_bundled()[::5]
    right = sum(analyze(r.prompt).task_type == EVAL_TASK_TYPES[r.eval_name] for r in records)
    assert right / len(records) > 0.95


def test_classifier_trained_on_a_split_generalizes() -> None:
    train, test = split_records(load_bundled(), test_fraction=0.3, seed=0)
    clf = train_task_classifier(train[::3], min_df=3)
    hits = [
        max(clf.predict(r.prompt).items(), key=lambda kv: kv[1])[0] == EVAL_TASK_TYPES[r.eval_name] for r in test[::4]
    ]
    assert sum(hits) / len(hits) > 0.95
    assert default_task_classifier().labels == ("code", "knowledge_qa", "math", "reasoning")
