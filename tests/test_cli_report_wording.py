"""Small wording of reports: a negative saving reads as an extra cost (`-$0.0034 (12% more)`, never `$-0.0034`),
`costs report` and `costs stats` each say whether refused calls are in their counts, and `router info` lists the
benchmarks it was trained on as words, not a Python dict. Real CLI over a real SQLite ledger (replay answers)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app

runner = CliRunner()
PROMPT = "Write a function to filter odd numbers."
ENV = {"COLUMNS": "200"}


@pytest.fixture()
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One answered call and one the --max-cost cap refused before sending."""
    monkeypatch.chdir(tmp_path)
    answered = runner.invoke(app, ["ask", PROMPT, "--replay"], env=ENV)
    assert answered.exit_code == 0, answered.output
    refused = runner.invoke(app, ["ask", PROMPT, "--replay", "--max-cost", "0.0000001"], env=ENV)
    assert refused.exit_code == 1, refused.output


def test_a_negative_saving_reads_as_an_extra_cost(ledger: None) -> None:
    result = runner.invoke(app, ["costs", "report", "--baseline", "openai:gpt-5-nano"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "$-" not in result.stdout, result.stdout
    assert re.search(r"-\$0\.\d+ \(\d+% more\)", result.stdout), result.stdout


def test_report_and_stats_say_whether_they_count_refused_calls(ledger: None) -> None:
    report = runner.invoke(app, ["costs", "report"], env=ENV)
    stats = runner.invoke(app, ["costs", "stats"], env=ENV)
    assert report.exit_code == 0 and stats.exit_code == 0, report.output + stats.output
    assert "not counted: 1 refused call(s)" in report.stdout, report.stdout
    assert "including 1 refused call(s)" in stats.stdout, stats.stdout


def test_router_info_lists_its_benchmarks_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["router", "info"], env=ENV)
    assert result.exit_code == 0, result.output
    evals = next(line for line in result.stdout.splitlines() if "evals:" in line)
    assert "{" not in evals and "'" not in evals, evals
    assert re.search(r"mmlu [\d,]+", evals), evals


def test_testgen_summary_says_when_delegating_cost_more_than_the_orchestrator_alone() -> None:
    from podium.cli.testgen import _percent
    from podium.core.types import Usage
    from podium.workflows.orchestration import StepRecord, WorkflowSummary

    def step(cost: str, baseline: str) -> StepRecord:
        return StepRecord(role="executor", step="write", model="t:m", strategy="explicit", usage=Usage(10, 10),
                          cost_usd=Decimal(cost), priced=True, baseline_cost_usd=Decimal(baseline), latency_ms=1.0)

    cheaper = WorkflowSummary("w1", "testgen", "t:big", 1.0, (step("0.25", "1"),))
    dearer = WorkflowSummary("w2", "testgen", "t:big", 1.0, (step("1.12", "1"),))
    assert _percent(cheaper) == "75%"
    assert _percent(dearer) == "none: 12% more than the orchestrator alone"
