"""Routed calls through the full stack (ledger on SQLite) in replay mode: every sub-call recorded once."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

from podium import Podium
from podium.config.root import PodiumConfig
from podium.providers.replay import ReplayProvider

PROMPT = "Write a function to filter odd numbers."


async def test_ensemble_sub_calls_each_get_one_ledger_row(tmp_path) -> None:
    assert PROMPT in ReplayProvider.sample_prompts(50)
    config = PodiumConfig.from_mapping({"mode": "replay", "orchestration": {"enabled": False}})
    async with Podium.from_config(config, env={}, home=tmp_path) as client:
        result = await client.route(PROMPT, strategy="ensemble")
    assert len(result.attempts) >= 2
    rows = sqlite3.connect(tmp_path / "ledger.db").execute(
        "select request_id, attempt, model, status, cost_usd from ledger_calls"
    ).fetchall()
    assert len(rows) == len(result.attempts)
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    assert {r[2] for r in rows} == {c.model for c in result.attempts}
    assert all(r[3] == "ok" for r in rows)
    assert sum(Decimal(r[4]) for r in rows) == result.total_cost_usd
