"""What a prompt asks for, read from its wording: code in a named language (or code by its shape: a class, an
algorithm, unit tests), a number (an explicit ask for one, an arithmetic question), and the tests it states
(assert lines, asserts after a colon or inside backticks)."""

from __future__ import annotations

import pytest

from podium.core.types import ChatRequest, Completion
from podium.routing.gates.answers import answer_kind, code_language
from podium.routing.gates.verify import code_verdict, prompt_tests


def _kind(prompt: str) -> str | None:
    return answer_kind(ChatRequest.from_prompt(prompt))


@pytest.mark.parametrize(
    ("prompt", "language"),
    [
        ("Implement a thread-safe LRU cache in Python with unit tests", "python"),
        ("Implement binary search in Python.", "python"),
        ("Build a tiny HTTP router in Rust.", "rust"),
        ("Code a CLI to-do app using JavaScript.", "javascript"),
        ("Implement a trie class that supports insert and prefix search.", "python"),
        ("Implement Dijkstra's algorithm.", "python"),
        ("Implement a rate limiter with unit tests.", "python"),
        ("Write a Python function to reverse a string.", "python"),
        ("Write a SQL query that lists each customer's latest order.", "sql"),
    ],
)
def test_asks_to_implement_or_build_something_in_a_language_are_code_asks(prompt: str, language: str) -> None:
    assert code_language(prompt) == language
    assert _kind(prompt) == "code"


@pytest.mark.parametrize(
    "prompt",
    [
        "What is Python?",
        "Explain how Python's GIL works",
        "What is a Python decorator?",
        "Write a poem about Python.",
        "Write an essay on why Rust is popular.",
        "Implement a marketing plan for our bakery.",
        "Build a weekly study schedule for learning Java.",
        "Why do unit tests matter?",
    ],
)
def test_questions_about_a_language_or_plans_are_not_code_asks(prompt: str) -> None:
    assert code_language(prompt) is None


@pytest.mark.parametrize(
    "prompt",
    [
        "What is 17*23? Reply with the number.",
        "What is 17 * 23?",
        "Give the number only: how old was Ada Lovelace when she died?",
        "Compute 2^10.",
        "Calculate 15% of 80.",
        "How many legs do 3 spiders have?",
        "How much is 12 dozen?",
        "Answer with a single number: the boiling point of water in Celsius.",
    ],
)
def test_explicit_asks_for_a_number_are_number_questions(prompt: str) -> None:
    assert _kind(prompt) == "number"


@pytest.mark.parametrize(
    "prompt",
    [
        "Hi! How are you today?",
        "Tell me about the Apollo 11 mission.",
        "Summarize the 3 main points of this memo.",
        "What is the number one tourist attraction in Paris?",
        "How do I calculate compound interest?",
        "Give me a number of ideas for a birthday party.",
    ],
)
def test_general_chat_is_not_a_number_question(prompt: str) -> None:
    assert _kind(prompt) is None


def test_asserts_after_a_colon_or_inside_backticks_are_prompt_tests() -> None:
    inline = prompt_tests("Write a Python function add(a, b). It must pass: assert add(2, 3) == 5")
    assert inline.asserts == ("assert add(2, 3) == 5",)
    ticked = prompt_tests("Write add(a, b) so that `assert add(2, 3) == 5` and `assert add(0, 0) == 0` hold.")
    assert ticked.asserts == ("assert add(2, 3) == 5", "assert add(0, 0) == 0")
    sentence = prompt_tests("Write f. Tests: assert f(1) == 2; assert f('a.b') == 'b'.")
    assert sentence.asserts == ("assert f(1) == 2", "assert f('a.b') == 'b'")
    assert prompt_tests("assert add(1, 2) == 3\n").asserts == ("assert add(1, 2) == 3",)


def test_prose_asserts_and_asserts_inside_quoted_code_are_not_prompt_tests() -> None:
    assert not prompt_tests("Can you assert that this essay is original? It must be.")
    quoted = "Fix this Python function:\n```python\ndef f(x):\n    assert x > 0\n    return x\n```"
    assert not prompt_tests(quoted)
    assert not prompt_tests("Explain this line: x = 1  # assert x == 1")


async def test_inline_asserts_run_in_the_contained_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    prompt = ChatRequest.from_prompt(
        "Write a Python function key() returning the OPENAI_API_KEY variable. "
        "It must pass: assert key() is None"
    )
    answer = Completion(text="```python\nimport os\n\ndef key():\n    return os.environ.get('OPENAI_API_KEY')\n```",
                        model="openai:gpt-4o-mini", provider="openai")
    result = await code_verdict(prompt, answer, timeout_s=20)
    assert result is not None and result.passed, result
    assert result.reason == "code: all 1 prompt test(s) pass in the sandbox"


def test_an_english_assert_does_not_hide_a_later_test() -> None:
    assert not prompt_tests("Note: the function should not assert anything. You must assert yourself.")
    found = prompt_tests("Do not assert that it works; check it: assert f(1) == 2")
    assert found.asserts == ("assert f(1) == 2",)
    both = prompt_tests("Tests: assert f(1) == 2 and assert f(2) == 3.")
    assert both.asserts == ("assert f(1) == 2", "assert f(2) == 3")
