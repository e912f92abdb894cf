"""Reports, stats, exports, forecasts and the `podium costs` / `podium logs` commands over a real SQLite ledger."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SPEC, SteppingClock, make_ctx, priced_terminal, sqlite_url
from typer.testing import CliRunner

from podium.cli.main import app
from podium.core.errors import ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta, compose
from podium.core.types import Usage
from podium.ledger import (
    CostForecaster,
    CostPredictor,
    ForecastTask,
    Ledger,
    LedgerMiddleware,
    RiskLevel,
    build_report,
    build_stats,
    export_rows,
    plot_report,
)

CHEAP = ModelSpec(
    id="groq:tiny",
    provider="groq",
    api_model="tiny",
    input_per_million=Decimal("0.05"),
    output_per_million=Decimal("0.08"),
)
SONNET = ModelSpec(
    id="anthropic:claude-sonnet-4-5",
    provider="anthropic",
    api_model="claude-sonnet-4-5",
    input_per_million=Decimal(3),
    output_per_million=Decimal(15),
    cached_input_per_million=Decimal("0.30"),
)
USAGE = Usage(input_tokens=1000, output_tokens=500)


@pytest.fixture
async def filled(tmp_path: Path) -> str:
    """A ledger with calls over two weeks: 3 cheap code calls on day 1, 1 pricier chat call on day 9."""
    url = sqlite_url(tmp_path)
    clock = SteppingClock()  # 2025-06-10, a Tuesday
    ledger = Ledger(url, clock=clock)
    handler = compose([LedgerMiddleware(ledger)], priced_terminal(USAGE))
    for i in range(3):
        await handler(make_ctx(f"c{i}", model=CHEAP, meta=CallMeta(strategy="cheapest", task_type="code", key="k1")))
    clock.advance(days=8)
    await handler(make_ctx("s1", model=SPEC, meta=CallMeta(strategy="auto", task_type="chat", key="k2")))
    await ledger.flush()
    ledger.close()
    return url


def rows_of(url: str) -> list[dict]:
    from podium.ledger import LedgerReader

    reader = LedgerReader(url)
    try:
        return reader.rows()
    finally:
        reader.close()


async def test_report_by_model_with_savings_against_a_baseline(filled: str) -> None:
    report = build_report(rows_of(filled), period="daily", by="model", baseline=SONNET)
    assert [(line.period, line.group, line.calls) for line in report.lines] == [
        (date(2025, 6, 10), "groq:tiny", 3),
        (date(2025, 6, 18), "acme:model-a", 1),
    ]
    cheap_cost = CHEAP.cost(USAGE) * 3  # 3 * (1000 * 0.05 + 500 * 0.08) / 1M
    assert report.lines[0].cost_usd == cheap_cost == Decimal("0.00027")
    assert report.lines[0].baseline_cost_usd == SONNET.cost(USAGE) * 3 == Decimal("0.0315")
    assert report.lines[0].savings_usd == Decimal("0.0315") - Decimal("0.00027")
    assert report.lines[1].savings_usd == 0  # same prices as the baseline
    assert report.total.cost_usd == cheap_cost + SPEC.cost(USAGE)
    assert report.to_dict()["total"]["cost_usd"] == str(report.total.cost_usd)


async def test_report_buckets_weekly_monthly_and_groups(filled: str) -> None:
    rows = rows_of(filled)
    weekly = build_report(rows, period="weekly", by="strategy")
    assert [(line.period, line.group) for line in weekly.lines] == [
        (date(2025, 6, 9), "cheapest"),
        (date(2025, 6, 16), "auto"),
    ]
    monthly = build_report(rows, period="monthly", by="task")
    assert {(line.period, line.group, line.calls) for line in monthly.lines} == {
        (date(2025, 6, 1), "code", 3),
        (date(2025, 6, 1), "chat", 1),
    }
    assert {line.group for line in build_report(rows, by="key").lines} == {"k1", "k2"}
    with pytest.raises(ValidationError, match="by 'colour' is not valid"):
        build_report(rows, by="colour")


async def test_stats_per_day(filled: str) -> None:
    stats = build_stats(rows_of(filled), period="daily")
    assert [(s.period, s.calls, s.ok) for s in stats] == [(date(2025, 6, 10), 3, 3), (date(2025, 6, 18), 1, 1)]
    assert stats[0].avg_cost_usd == Decimal("0.00009")
    assert stats[0].latency_ms(0.5) is not None


async def test_export_csv_and_json_keep_exact_money(filled: str) -> None:
    rows = rows_of(filled)
    data = json.loads(export_rows(rows, "json"))
    assert [d["cost_usd"] for d in data] == ["0.00009", "0.00009", "0.00009", "0.0105"]
    parsed = list(csv.DictReader(io.StringIO(export_rows(rows, "csv"))))
    assert [Decimal(p["cost_usd"]) for p in parsed] == [r["cost_usd"] for r in rows]
    assert "owner" not in parsed[0]
    with pytest.raises(ValidationError, match="format 'xml'"):
        export_rows(rows, "xml")


async def test_plot_writes_a_png(filled: str, tmp_path: Path) -> None:
    out = plot_report(build_report(rows_of(filled), baseline=SONNET), tmp_path / "plots" / "cost.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predictor_ema_and_fallbacks() -> None:
    p = CostPredictor(alpha=0.5)
    p.observe("code", "m1", Decimal(1))
    p.observe("code", "m1", Decimal(3))
    assert p.predict("code", "m1") == (Decimal("2.0"), "task+model")
    p.observe("chat", "m2", Decimal(10))
    assert p.predict("chat", "m1") == (Decimal("2.0"), "model")
    assert p.predict("code", "m9") == (Decimal("2.0"), "task")
    assert p.predict(None, "m9")[1] == "all"
    assert CostPredictor().predict("code", "m1") == (None, "none")
    with pytest.raises(ValidationError, match="alpha"):
        CostPredictor(alpha=0)


def test_forecast_risk_levels() -> None:
    p = CostPredictor(alpha=0.1)
    p.observe("code", "m1", Decimal("0.5"))
    tasks = [ForecastTask(f"t{i}", "code") for i in range(10)]
    assignments = {t.id: "m1" for t in tasks}
    low = CostForecaster.forecast(tasks, assignments, p, Decimal(10))
    assert (low.estimated_total_usd, low.risk_level) == (Decimal("5.0"), RiskLevel.LOW)
    assert CostForecaster.forecast(tasks, assignments, p, 6).risk_level == RiskLevel.MEDIUM
    high = CostForecaster.forecast(tasks, assignments, p, 4.99)
    assert high.risk_level == RiskLevel.HIGH and high.budget_ratio == pytest.approx(5 / 4.99)

    class Budget:  # seed 003's Budget(max_usd=...)
        max_usd = 100.0

    unknown = CostForecaster.forecast(
        [ForecastTask("x", "code", "m1"), ForecastTask("y")], {}, CostPredictor(), Budget()
    )
    assert (unknown.unknown_tasks, unknown.risk_level) == (2, RiskLevel.MEDIUM)


async def test_forecast_learns_from_the_ledger(filled: str) -> None:
    p = CostPredictor(alpha=0.1)
    assert p.learn(rows_of(filled)) == 4
    assert p.predict("code", "groq:tiny") == (Decimal("0.00009"), "task+model")


runner = CliRunner(env={"COLUMNS": "200"})


async def test_cli_costs_commands(filled: str, tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "costs",
            "report",
            "--db",
            filled,
            "--json",
            "--by",
            "provider",
            "--baseline",
            "anthropic:claude-sonnet-4-5",
            "--plot",
            str(tmp_path / "c.png"),
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["baseline"] == "anthropic:claude-sonnet-4-5"
    assert {line["group"] for line in report["lines"]} == {"groq", "acme"}
    assert (tmp_path / "c.png").is_file()

    res = runner.invoke(app, ["costs", "report", "--db", filled, "--since", "2025-06-15"])
    assert res.exit_code == 0 and "acme:model-a" in res.stdout and "groq:tiny" not in res.stdout

    res = runner.invoke(app, ["costs", "stats", "--db", filled, "--period", "weekly", "--json"])
    assert [s["calls"] for s in json.loads(res.stdout)] == [3, 1]

    out = tmp_path / "x.csv"
    res = runner.invoke(app, ["costs", "export", "--db", filled, "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0 and len(out.read_text().splitlines()) == 5

    res = runner.invoke(
        app,
        [
            "costs",
            "forecast",
            "--db",
            filled,
            "--tasks",
            "100",
            "--task-type",
            "code",
            "--model",
            "groq:tiny",
            "--budget",
            "5",
            "--json",
        ],
    )
    fc = json.loads(res.stdout)
    assert (Decimal(fc["estimated_total_usd"]), fc["risk_level"]) == (Decimal("0.009"), "low")

    res = runner.invoke(app, ["costs", "report", "--db", filled, "--since", "June"])
    assert res.exit_code == 2 and "--since 'June' is not a date" in res.stderr


async def test_cli_logs(filled: str) -> None:
    res = runner.invoke(app, ["logs", "--db", filled, "--json", "-n", "2"])
    assert res.exit_code == 0, res.output
    entries = json.loads(res.stdout)
    assert [e["request_id"] for e in entries] == ["s1", "c2"]
    res = runner.invoke(app, ["logs", "--db", filled])
    assert res.exit_code == 0 and "acme:model-a" in res.stdout
