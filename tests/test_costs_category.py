"""`podium costs report|stats|export --category NAME` and `--by category`, as the task-router tool's cost tracker
offers them (`cost_tracker.py report --category orchestration`), over a real SQLite ledger."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import make_ctx, priced_terminal, sqlite_url
from typer.testing import CliRunner

from podium.cli.main import app
from podium.core.pipeline import CallMeta, compose
from podium.core.types import Usage
from podium.ledger import Ledger, LedgerMiddleware, build_report
from podium.ledger.rows import row_category

runner = CliRunner()
USAGE = Usage(input_tokens=1000, output_tokens=500)  # $0.0105 a call on the support model
CALLS = {  # request id -> what the call was for
    "named": CallMeta(),  # a model named by the caller
    "routed-1": CallMeta(strategy="cheapest", task_type="code"),
    "routed-2": CallMeta(strategy="cascade", task_type="chat"),
    "testgen": CallMeta(strategy="delegate", tags={"workflow": "testgen", "step": "generate"}),
    "tagged": CallMeta(strategy="cheapest", tags={"category": "marketing"}),
}


@pytest.fixture
async def ledger_url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path)
    ledger = Ledger(url)
    handler = compose([LedgerMiddleware(ledger)], priced_terminal(USAGE))
    for request_id, meta in CALLS.items():
        await handler(make_ctx(request_id, meta=meta))
    await ledger.flush()
    ledger.close()
    return url


def test_a_calls_category() -> None:
    assert row_category({"strategy": None, "tags": None}) == "direct"
    assert row_category({"strategy": "auto", "tags": None}) == "orchestration"
    assert row_category({"strategy": "delegate", "tags": '{"workflow": "project"}'}) == "project"
    assert row_category({"strategy": "auto", "tags": '{"category": "support", "workflow": "app"}'}) == "support"


def test_report_by_category(ledger_url: str) -> None:
    from podium.ledger import LedgerReader

    report = build_report(LedgerReader(ledger_url).rows(), by="category")
    calls = {line.group: line.calls for line in report.lines}
    assert calls == {"direct": 1, "orchestration": 2, "testgen": 1, "marketing": 1}
    result = runner.invoke(app, ["costs", "report", "--db", ledger_url, "--by", "category", "--json"])
    assert result.exit_code == 0, result.output
    assert {line["group"] for line in json.loads(result.stdout)["lines"]} == set(calls)


def test_report_stats_and_export_of_one_category(ledger_url: str) -> None:
    result = runner.invoke(app, ["costs", "report", "--db", ledger_url, "--category", "orchestration", "--json"])
    assert result.exit_code == 0, result.output
    total = json.loads(result.stdout)["total"]
    assert total["calls"] == 2 and Decimal(total["cost_usd"]) == Decimal("0.021")

    table = runner.invoke(app, ["costs", "report", "--db", ledger_url, "--category", "orchestration"],
                          env={"COLUMNS": "120"})  # fmt: skip
    assert table.exit_code == 0 and "in category orchestration" in table.stdout

    stats = runner.invoke(app, ["costs", "stats", "--db", ledger_url, "--category", "testgen", "--json"])
    assert [s["calls"] for s in json.loads(stats.stdout)] == [1]

    exported = runner.invoke(app, ["costs", "export", "--db", ledger_url, "--category", "marketing", "--format", "json"])
    assert exported.exit_code == 0, exported.output
    assert [r["request_id"] for r in json.loads(exported.stdout)] == ["tagged"]


def test_an_unknown_category_is_one_line_naming_the_known_ones(ledger_url: str) -> None:
    result = runner.invoke(app, ["costs", "report", "--db", ledger_url, "--category", "orchestrator"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "--category orchestrator" in lines[0] and "direct, marketing, orchestration, testgen" in lines[0]
