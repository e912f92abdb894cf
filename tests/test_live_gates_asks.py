"""The cascade reads what a prompt asks for from its wording, end to end: the real engine, the fake upstream on
loopback. A cheap answer holding no code for "implement X in Python" escalates, "reply with the number" gets its
second-sample check, and an assert written inline after a colon or in backticks is run on the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podium import Podium
from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.testing import FakeUpstream, serve

KEY = "test-key-0123456789"
KEYS = {"OPENAI_API_KEY": KEY}
MINI, GPT4O = "openai:gpt-4o-mini", "openai:gpt-4o"
CATALOG = Catalog.bundled()
ADD_CODE = "```python\ndef add(a, b):\n    return a + b\n```"
SUB_CODE = "```python\ndef add(a, b):\n    return a - b\n```"


def _wire(model_id: str) -> str:
    return CATALOG.get(model_id).api_model


async def _route(fake: FakeUpstream, home: Path, gates: list[str], prompt: str) -> Any:
    async with serve(fake.app) as base, Podium.from_config(
        PodiumConfig.from_mapping({
            "orchestration": {"enabled": False},
            "providers": {"openai": {"base_url": f"{base}/v1"}},
            "resilience": {"retry": {"max_attempts": 1}},
            "routing": {"chain": "c", "chains": {"c": [MINI, GPT4O]}, "gates": gates},
        }), env=KEYS, home=home,
    ) as client:
        return await client.route(prompt, strategy="cascade")


@pytest.mark.parametrize(
    "prompt", ["Implement a thread-safe LRU cache in Python with unit tests", "Implement binary search in Python."]
)
async def test_a_cheap_answer_without_code_to_an_implement_ask_escalates(tmp_path: Path, prompt: str) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Use an ordered mapping and move each key to the end when it is read.")
    fake.script(_wire(GPT4O), "```python\ndef search(xs, x):\n    return xs.index(x)\n```")
    routed = await _route(fake, tmp_path, ["hedging", "format"], prompt)
    assert routed.completion.model == GPT4O
    assert routed.decision.steps[0].gates["code"] == "failed: python code was asked for but the answer holds none"


async def test_reply_with_the_number_gets_the_second_sample_check(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "391", times=1)
    fake.script(_wire(MINI), "401", times=1)
    fake.script(_wire(GPT4O), "391")
    routed = await _route(fake, tmp_path, ["verify"], "What is 17*23? Reply with the number.")
    assert fake.requests[0].json["n"] == 2 and routed.completion.model == GPT4O
    assert routed.decision.steps[0].gates["verify"] == (
        "failed: math: final answer 391 but a second sample of the same call says 401"
    )


@pytest.mark.parametrize(
    "prompt",
    [
        "Write a Python function add(a, b) that returns the sum. It must pass: assert add(2, 3) == 5",
        "Write a Python function add(a, b) so that `assert add(2, 3) == 5` holds.",
    ],
)
async def test_an_inline_assert_is_run_and_a_wrong_answer_escalates(tmp_path: Path, prompt: str) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), SUB_CODE)
    fake.script(_wire(GPT4O), ADD_CODE)
    routed = await _route(fake, tmp_path, ["verify"], prompt)
    assert routed.completion.model == GPT4O
    assert routed.decision.steps[0].gates["verify"] == (
        "failed: code: 1 of 1 prompt test(s) failed in the sandbox: assert add(2, 3) == 5"
    )


async def test_an_inline_assert_the_answer_passes_keeps_it(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), ADD_CODE)
    prompt = "Write a Python function add(a, b) that returns the sum. It must pass: assert add(2, 3) == 5"
    routed = await _route(fake, tmp_path, ["verify"], prompt)
    assert routed.completion.model == MINI and fake.count() == 1
    assert routed.decision.steps[0].gates["verify"] == "passed: code: all 1 prompt test(s) pass in the sandbox"
