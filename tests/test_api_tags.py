"""Callers' tags on ledger rows, and `podium costs report --by tag|user`: through the real gateway on loopback, the
official openai SDK, a real SQLite ledger and the CLI."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

from test_api_endpoints import KEY, MINI, gateway  # noqa: F401  (KEY: the upstream fixture reads it)
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.core.types import Usage
from podium.ledger import Ledger, LedgerReader
from podium.testing import FakeUpstream

runner = CliRunner(env={"COLUMNS": "200"})


def _report(db: str, by: str) -> dict[str, dict]:
    res = runner.invoke(app, ["costs", "report", "--db", db, "--json", "--by", by])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    return {line["group"]: line for line in report["lines"]} | {"<total>": report["total"]}


async def test_tags_and_user_reach_the_ledger_and_the_report(upstream: FakeUpstream, tmp_path: Path) -> None:
    upstream.reset()
    api = Catalog.bundled().get(MINI).api_model
    upstream.script(api, "Hi.", usage=Usage(10, 2))
    async with gateway(upstream, tmp_path) as gw:
        client = gw.openai()
        await client.chat.completions.create(model=MINI, messages=[{"role": "user", "content": "a"}], user="alice",
                                             metadata={"team_name": "search", "env": "prod"})
        await client.chat.completions.create(model=MINI, messages=[{"role": "user", "content": "b"}], user="bob",
                                             extra_headers={"x-podium-tags": "env=dev"})
        await client.chat.completions.create(model=MINI, messages=[{"role": "user", "content": "c"}])
        url = gw.config.ledger.database_url(gw.home)
    rows = LedgerReader(url).rows()
    assert [r["tags"] for r in rows] == ['{"env": "prod", "team_name": "search"}', '{"env": "dev"}', None]
    assert [r["user_id"] for r in rows] == ["alice", "bob", None]
    one = Catalog.bundled().get(MINI).cost(Usage(10, 2))

    by_tag = _report(url, "tag")
    assert {g: (line["calls"], Decimal(line["cost_usd"])) for g, line in by_tag.items()} == {
        "env=prod": (1, one), "team_name=search": (1, one), "env=dev": (1, one), "-": (1, one),
        "<total>": (3, 3 * one),  # a call with two tags is in two lines, but counted once in the total
    }
    by_user = _report(url, "user")
    assert {g: line["calls"] for g, line in by_user.items()} == {"alice": 1, "bob": 1, "-": 1, "<total>": 3}


def test_a_ledger_from_before_tags_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Ledger(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:  # as a ledger written before m005_call_tags left it
        conn.execute("ALTER TABLE ledger_calls DROP COLUMN tags")
        conn.execute("DELETE FROM podium_migrations WHERE name = 'm005_call_tags'")
    Ledger(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(ledger_calls)")}
        applied = {row[0] for row in conn.execute("SELECT name FROM podium_migrations")}
    assert "tags" in columns and "m005_call_tags" in applied
