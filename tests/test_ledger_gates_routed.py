"""A cascade's gate verdicts land in the ledger's ``gates`` column (real SQLite, the fake upstream on loopback):
the escalated attempt's row says which gate failed, the kept one that its gates passed, and an answer no gate
judged (end of the chain, or a strategy without gates) keeps the column empty."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium import Podium
from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.core.types import Usage
from podium.ledger import LedgerReader
from podium.testing import FakeUpstream, serve

KEY = "test-key-0123456789"
KEYS = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
MINI, HAIKU, GPT4O = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "openai:gpt-4o"
HEDGE = "I'm not sure, I don't know."


def _wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


def _config(base: str, chain: list[str]) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": {"chain": "c", "chains": {"c": chain}, "gates": ["hedging"]},
    })


def _rows(home: Path) -> list[dict[str, Any]]:
    """Every ledger row, oldest first (real SQLite; JSON columns decoded)."""
    return LedgerReader(PodiumConfig().ledger.database_url(home)).rows()


async def test_escalated_and_kept_attempts_carry_their_gate_verdicts(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), HEDGE, usage=Usage(20, 8))
    fake.script(_wire(HAIKU), "Paris is the capital of France.", usage=Usage(22, 9))
    async with serve(fake.app) as base, Podium.from_config(
        _config(base, [MINI, HAIKU, GPT4O]), env=KEYS, home=tmp_path
    ) as client:
        routed = await client.route("What is the capital of France?", strategy="cascade")
    rows = _rows(tmp_path)
    assert [(r["request_id"], r["attempt"], r["model"]) for r in rows] == [
        (f"{routed.request_id}.1", 1, MINI), (f"{routed.request_id}.2", 1, HAIKU),
    ]
    escalated, kept = (r["gates"] for r in rows)
    assert escalated["outcome"] == "escalated" and escalated["hedging"].startswith("failed: ")
    assert kept["outcome"] == "kept" and kept["hedging"].startswith("passed: ")
    assert [t["outcome"] for t in routed.summary()["tried"]] == ["escalated", "kept"]  # what ask --json shows


async def test_answers_no_gate_judged_leave_the_gates_column_empty(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), HEDGE, usage=Usage(20, 8))
    fake.script(_wire(HAIKU), HEDGE, usage=Usage(22, 9))
    async with serve(fake.app) as base, Podium.from_config(_config(base, [MINI, HAIKU]), env=KEYS, home=tmp_path) as client:
        await client.route("What is the capital of France?", strategy="cascade")
        await client.route("What is the capital of France?", strategy="cheapest", candidates=[MINI])
    rows = _rows(tmp_path)
    assert [r["model"] for r in rows] == [MINI, HAIKU, MINI]
    assert rows[0]["gates"]["hedging"].startswith("failed: ")
    assert rows[1]["gates"] is None  # the end of the chain: no gate judged it
    assert rows[2]["gates"] is None  # cheapest has no quality gate
