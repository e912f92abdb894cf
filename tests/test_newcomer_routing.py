"""Routing a newcomer notices: "What is Python?" is a question about a language, not a coding task, and an ensemble
whose members give the same free-text answer reports that they agree."""

from __future__ import annotations

import pytest

from podium.core.types import ChatRequest, Completion
from podium.routing.strategies.ensemble import vote
from podium.routing.task_analysis import analyze


@pytest.mark.parametrize(
    "prompt", ["What is Python?", "What is C++?", "who created Java?", "What is a Python decorator?"]
)
def test_what_is_a_language_is_a_knowledge_question(prompt: str) -> None:
    assert analyze(prompt).task_type == "knowledge_qa"


@pytest.mark.parametrize(
    ("prompt", "task_type"),
    [
        ("Write a Python function to reverse a list.", "code"),
        ("What is 2+2?", "math"),
        ("Fix the bug in this Python code: def f(x) return x", "code"),
    ],
)
def test_tasks_that_only_mention_a_language_keep_their_type(prompt: str, task_type: str) -> None:
    assert analyze(prompt).task_type == task_type


def _answer(model: str, text: str) -> Completion:
    return Completion(text=text, model=model, provider=model.split(":")[0])


def test_identical_free_text_answers_agree() -> None:
    request = ChatRequest.from_prompt("Tell me a fun fact about octopuses.")
    answers = [
        _answer("openai:a", "An octopus has three hearts."),
        _answer("openai:b", "an octopus has  three hearts"),
        _answer("openai:c", "Octopuses can taste with their arms."),
    ]
    index, agreement, why = vote(request, answers, {"openai:a": 0.6, "openai:b": 0.5, "openai:c": 0.9})
    assert agreement == pytest.approx(2 / 3)
    assert index == 0 and "2 of 3 answers agree" in why


def test_free_text_answers_that_all_differ_have_no_agreement_figure() -> None:
    request = ChatRequest.from_prompt("Tell me a fun fact about octopuses.")
    answers = [_answer("openai:a", "Three hearts."), _answer("openai:b", "Blue blood.")]
    assert vote(request, answers, {})[1] is None
