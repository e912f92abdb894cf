"""The live gates as pure checks (logprob, consistency, what a gated step asks for), and the verify gate's code
runner against real child processes: the answer's code is run on the prompt's tests with no API key in its
environment, no network beyond loopback, and a time limit."""

from __future__ import annotations

import pytest

from podium.core.types import ChatRequest, Completion
from podium.providers.features import LOGPROBS, SAMPLES
from podium.routing.gates.answers import comparable_answer
from podium.routing.gates.sandbox import run_python
from podium.routing.gates.signals import (
    SignalSettings,
    consistency_gate,
    logprob_gate,
    mean_token_probability,
    signal_request,
)
from podium.routing.gates.verify import code_verdict, math_verdict, prompt_tests

CHOICE = ChatRequest.from_prompt("Which is largest?\nA) Mars\nB) Jupiter\nC) Venus")
MATH = ChatRequest.from_prompt("What is the total of 12 and 30?")
CODE = ChatRequest.from_prompt("Write a Python function add(a, b) that returns a + b.\nassert add(1, 2) == 3")
FREE = ChatRequest.from_prompt("Tell me about Jupiter.")


def _answer(text: str = "B", *, logprobs: tuple[float, ...] | None = None,
            samples: tuple[str, ...] | None = None, provider: str = "openai") -> Completion:
    return Completion(text=text, model="openai:gpt-4o-mini", provider=provider, logprobs=logprobs, samples=samples)


# -- logprob -------------------------------------------------------------------------------------------------------


def test_logprob_gate_passes_confident_fails_unsure_and_skips_without_logprobs() -> None:
    kept = logprob_gate(CHOICE, _answer(logprobs=(-0.05, -0.1)), threshold=0.6)
    assert kept.passed and kept.applicable and kept.score == pytest.approx(0.928, abs=1e-3)
    unsure = logprob_gate(CHOICE, _answer(logprobs=(-1.0, -2.0)), threshold=0.6)
    assert not unsure.passed and unsure.reason.startswith("low confidence: mean token probability 0.22")
    none = logprob_gate(CHOICE, _answer(provider="anthropic"), threshold=0.6)
    assert none.passed and not none.applicable and none.reason == "no logprobs from this provider (anthropic)"
    assert not logprob_gate(CHOICE, _answer(logprobs=()), threshold=0.6).applicable


def test_a_token_outside_the_top_20_counts_as_unlikely_not_as_minus_infinity() -> None:
    # OpenAI's -9999 sentinel is floored at -20: one such token among many does not sink the mean.
    assert mean_token_probability((-9999.0,) + (0.0,) * 99) == pytest.approx(0.818, abs=1e-3)


# -- consistency ---------------------------------------------------------------------------------------------------


def test_consistency_gate_votes_on_normalized_answers() -> None:
    agree = consistency_gate(CHOICE, _answer(samples=("B", "The answer is B", "C")), threshold=0.6)
    assert agree.passed and agree.reason == "2/3 samples agree on answer B (0.67 >= 0.60)"
    split = consistency_gate(MATH, _answer("42", samples=("42", "41", "40")), threshold=0.6)
    assert not split.passed and split.reason == "1/3 samples agree on answer 42 (0.33 < 0.60)"
    outvoted = consistency_gate(CHOICE, _answer("C", samples=("C", "B", "B")), threshold=0.6)
    assert not outvoted.passed and outvoted.reason.startswith("the answer is not the majority one")


def test_consistency_gate_compares_code_by_syntax_and_skips_what_it_cannot_compare() -> None:
    a = "```python\ndef add(a, b):\n    return a + b\n```"
    b = "```python\ndef add(a,b):  # sum\n    return a+b\n```"
    assert consistency_gate(CODE, _answer(a, samples=(a, b)), threshold=1.0).passed
    assert comparable_answer(CODE, a) == comparable_answer(CODE, b)
    assert not consistency_gate(FREE, _answer("x", samples=("x", "y")), threshold=0.6).applicable
    assert not consistency_gate(CHOICE, _answer("B"), threshold=0.6).applicable


def test_gated_requests_ask_only_for_what_the_gate_needs_and_the_provider_offers() -> None:
    live = SignalSettings(consistency_samples=5)
    both = frozenset({LOGPROBS, SAMPLES})
    asked = signal_request(CHOICE, ("logprob", "consistency"), both, live)
    assert (asked.logprobs, asked.n) == (True, 5)
    assert signal_request(CHOICE, ("hedging", "format"), both, live) is CHOICE
    assert signal_request(CHOICE, ("logprob", "consistency"), frozenset(), live) is CHOICE
    assert signal_request(FREE, ("consistency",), both, live) is FREE  # nothing to vote on in free text
    assert signal_request(MATH, ("verify",), both, live).n == 2  # the math check's second sample


# -- verify --------------------------------------------------------------------------------------------------------


def test_prompt_tests_finds_asserts_doctests_and_test_functions() -> None:
    assert prompt_tests(CODE.last_user_text).asserts == ("assert add(1, 2) == 3",)
    doc = prompt_tests('Complete this:\n```python\ndef sq(x):\n    """\n    >>> sq(3)\n    9\n    """\n```')
    assert doc.doctest_text and not doc.asserts
    block = prompt_tests("Write a function f.\n```python\ndef test_f():\n    assert f() == 1\n```")
    assert len(block.test_blocks) == 1 and not block.asserts
    assert not prompt_tests("Write a function that adds two numbers.")


async def test_code_verdict_runs_doctests_and_test_functions_in_the_sandbox() -> None:
    doc = ChatRequest.from_prompt('Write a python function sq.\n```python\ndef sq(x):\n    """\n    >>> sq(3)\n    9\n    """\n```')
    good = await code_verdict(doc, _answer("```python\ndef sq(x):\n    return x * x\n```"), timeout_s=20)
    bad = await code_verdict(doc, _answer("```python\ndef sq(x):\n    return x + x\n```"), timeout_s=20)
    assert good is not None and good.passed and good.reason == "code: all 1 prompt test(s) pass in the sandbox"
    assert bad is not None and not bad.passed and "doctest sq(3) gave '6', not '9'" in bad.reason
    fn = ChatRequest.from_prompt("Write a function f.\n```python\ndef test_f():\n    assert f() == 1\n```")
    result = await code_verdict(fn, _answer("def f():\n    return 2\n"), timeout_s=20)
    assert result is not None and not result.passed and "test_f (AssertionError" in result.reason


async def test_the_answers_code_gets_no_api_key_and_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    prompt = ChatRequest.from_prompt(
        "Write a Python function keys() returning the environment's variable names.\n"
        "assert not [k for k in keys() if 'API_KEY' in k]\nassert 'HOME' in keys()"
    )
    answer = _answer("```python\nimport os\n\ndef keys():\n    return list(os.environ)\n```")
    result = await code_verdict(prompt, answer, timeout_s=20)
    assert result is not None and result.passed, result
    online = _answer("```python\nimport socket\nsocket.create_connection(('192.0.2.1', 80), timeout=5)\n"
                     "def add(a, b):\n    return a + b\n```")
    blocked = await code_verdict(CODE, online, timeout_s=20)
    assert blocked is not None and not blocked.passed
    assert "does not run: OSError: network access to '192.0.2.1' is disabled" in blocked.reason


async def test_code_that_does_not_finish_is_stopped_at_the_time_limit() -> None:
    spin = _answer("```python\nwhile True:\n    pass\n```")
    result = await code_verdict(CODE, spin, timeout_s=0.5)
    assert result is not None and not result.passed
    assert result.reason == "code: the answer's code did not finish within 0.5s"


def test_run_python_reports_what_the_child_printed_and_its_exit_code() -> None:
    outcome = run_python("import sys\nprint('hi')\nsys.exit(3)", timeout_s=20)
    assert outcome.exit_code == 3 and "hi" in outcome.output and not outcome.ok


def test_math_verdict_compares_final_numbers() -> None:
    assert math_verdict(MATH, "so 42", "#### 42", source="s").passed
    assert math_verdict(MATH, "42", "41", source="s").reason == "math: final answer 42 but s says 41"
    assert math_verdict(MATH, "no idea", "42", source="s").reason == "math: the answer states no final number"
