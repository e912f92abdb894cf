"""An ensemble whose aggregator or judge fails keeps the members' answers it already paid for: the vote among them
answers, and the decision records the failed call. The library against the fake upstream on loopback, with a real
SQLite ledger."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

from podium import Podium
from podium.config.root import PodiumConfig
from podium.core.types import ChatRequest, Usage
from podium.testing import FakeUpstream, serve

KEY = "sk-test-0123456789"
KEYS = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
MINI, HAIKU, GPT4O = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "openai:gpt-4o"


def _config(base: str, **routing: Any) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}, "fallback": {"enabled": False}},
        "routing": {"ensemble_models": [MINI, HAIKU], **routing},
    })  # fmt: skip


async def _route_with_gpt4o_failing(tmp_path: Path, **routing: Any) -> tuple[FakeUpstream, Any]:
    """Members mini and haiku both answer "4"; every gpt-4o call (the aggregator or judge) gets HTTP 500."""
    fake = FakeUpstream(api_key=KEY)
    fake.script("gpt-4o-mini", text="The answer is 4.", usage=Usage(20, 5))
    fake.script("claude-haiku-4-5-20251001", text="The answer is 4.", usage=Usage(20, 5))
    fake.fail("gpt-4o", status=500, times=5)
    request = ChatRequest.from_prompt("What is 2 + 2?", max_tokens=100)
    async with serve(fake.app) as base:
        client = Podium.from_config(_config(base, **routing), env=KEYS, home=tmp_path)
        async with client:
            return fake, await client.route(request, strategy="ensemble")


def _ok_costs(db: Path, request_id: str) -> list[tuple[str, str, Decimal]]:
    con = sqlite3.connect(db)
    try:
        found = con.execute(
            "select model, status, cost_usd from ledger_calls where request_id like ? order by id", (request_id + ".%",)
        ).fetchall()
    finally:
        con.close()
    return [(m, s, Decimal(str(c or 0))) for m, s, c in found]


async def test_a_failing_aggregator_falls_back_to_the_vote_among_the_paid_answers(tmp_path: Path) -> None:
    fake, result = await _route_with_gpt4o_failing(tmp_path, ensemble_method="synthesize", aggregator_model=GPT4O)
    assert fake.count("gpt-4o") >= 1  # the aggregator really was asked
    assert result.completion.model in (MINI, HAIKU) and "4" in result.completion.text
    tried = [(t["model"], t["role"], t["outcome"]) for t in result.summary()["tried"]]
    assert tried == [(MINI, "answer", "voted"), (HAIKU, "answer", "voted"), (GPT4O, "aggregator", "failed")]
    assert any("aggregator" in n and "falling back to the vote" in n for n in result.decision.explanation)
    paid = [(m, c) for m, s, c in _ok_costs(tmp_path / "ledger.db", result.request_id) if s == "ok"]
    assert sorted(m for m, _ in paid) == sorted([MINI, HAIKU])
    assert result.total_cost_usd == sum((c for _, c in paid), Decimal(0)) > 0


async def test_a_failing_judge_falls_back_to_the_vote_among_the_paid_answers(tmp_path: Path) -> None:
    _, result = await _route_with_gpt4o_failing(tmp_path, ensemble_method="judge", judge_model=GPT4O)
    assert result.completion.model in (MINI, HAIKU) and "4" in result.completion.text
    tried = [(t["model"], t["role"], t["outcome"]) for t in result.summary()["tried"]]
    assert tried[:2] == [(MINI, "answer", "voted"), (HAIKU, "answer", "voted")]
    assert tried[2:] == [(GPT4O, "judge", "failed")] * 2
