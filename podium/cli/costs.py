"""`podium costs report|stats|export|forecast`: what was spent, on what, and what a batch will cost."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from podium.core.errors import ValidationError
from podium.core.money import fmt_usd, usd
from podium.ledger import (
    CostForecaster,
    CostPredictor,
    ForecastTask,
    LedgerReader,
    build_report,
    build_stats,
    export_rows,
    plot_report,
)
from podium.ledger.reports import GROUPS, PERIODS

app = typer.Typer(
    name="costs", help="Spend reports, statistics, exports and forecasts from the cost ledger.", no_args_is_help=True
)

DbOpt = Annotated[str | None, typer.Option("--db", help="Ledger database URL (default: ledger.url from the config).")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only calls from this date on (YYYY-MM-DD).")]
PeriodOpt = Annotated[str, typer.Option("--period", help=f"Bucket size: {', '.join(PERIODS)}.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def open_reader(ctx: typer.Context | None, db: str | None) -> LedgerReader:
    """The ledger named by ``--db``, else the configured one (``ledger.url`` or $PODIUM_HOME/ledger.db)."""
    if db:
        return LedgerReader(db)
    from podium.catalog import podium_home
    from podium.cli.context import cli_env, load_cli_config

    settings = load_cli_config(ctx).config.ledger
    return LedgerReader(settings.database_url(podium_home(cli_env())))


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"--since {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-06-01", field="since", value=value
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _rows(ctx: typer.Context, db: str | None, since: str | None) -> list[dict]:
    reader = open_reader(ctx, db)
    try:
        return reader.rows(since=parse_since(since))
    finally:
        reader.close()


@app.command("report")
def report_command(
    ctx: typer.Context,
    period: PeriodOpt = "daily",
    by: Annotated[str, typer.Option("--by", help=f"Group by: {', '.join(GROUPS)}.")] = "model",
    since: SinceOpt = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Savings against this model, e.g. anthropic:claude-sonnet-4-5.")
    ] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Also draw spend over time to this PNG.")] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Spend by period and model/strategy/task/key/provider, with savings against a baseline model."""
    spec = None
    if baseline is not None:
        from podium.catalog import Catalog, podium_home
        from podium.cli.context import cli_env

        spec = Catalog.default(podium_home(cli_env())).get(baseline)  # bundled prices plus the user's own
    report = build_report(_rows(ctx, db, since), period=period, by=by, baseline=spec)
    if plot is not None:
        plot_report(report, plot)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    table = Table(title=f"Spend {period} by {by}" + (f" vs {spec.id}" if spec else ""))
    cols = ["period", by, "calls", "errors", "cache hits", "tokens in", "tokens out", "cost"]
    if spec is not None:
        cols += [f"on {spec.id}", "saved"]
    for c in cols:
        table.add_column(c, justify="left" if c in ("period", by) else "right")
    for line in [*report.lines, report.total]:
        cells = [
            line.period.isoformat() if line.period else "total",
            line.group if line.period else "",
            str(line.calls),
            str(line.errors),
            str(line.cache_hits),
            str(line.input_tokens),
            str(line.output_tokens),
            fmt_usd(line.cost_usd),
        ]
        if spec is not None:
            pct = line.savings_pct
            cells += [
                fmt_usd(line.baseline_cost_usd),
                f"{fmt_usd(line.savings_usd)}" + ("" if pct is None else f" ({pct:.0f}%)"),
            ]
        table.add_row(*cells)
    Console().print(table)
    if plot is not None:
        typer.echo(f"wrote {plot}")


@app.command("stats")
def stats_command(
    ctx: typer.Context, period: PeriodOpt = "daily", since: SinceOpt = None, as_json: JsonOpt = False, db: DbOpt = None
) -> None:
    """Calls, outcomes, tokens, spend and latency per period."""
    lines = build_stats(_rows(ctx, db, since), period=period)
    if as_json:
        typer.echo(json.dumps([line.to_dict() for line in lines], indent=2))
        return
    if not lines:
        typer.echo("no calls logged yet")
        return
    table = Table(title=f"Ledger statistics ({period})")
    for c in (
        "period",
        "calls",
        "ok",
        "errors",
        "cache hits",
        "refused",
        "recovered",
        "tokens",
        "cost",
        "avg cost",
        "p50 ms",
        "p95 ms",
    ):
        table.add_column(c, justify="left" if c == "period" else "right")
    for s in lines:
        p50, p95 = s.latency_ms(0.5), s.latency_ms(0.95)
        table.add_row(
            s.period.isoformat(),
            str(s.calls),
            str(s.ok),
            str(s.errors),
            str(s.cache_hits),
            str(s.refused),
            str(s.recovered),
            str(s.input_tokens + s.output_tokens),
            fmt_usd(s.cost_usd),
            fmt_usd(s.avg_cost_usd),
            "-" if p50 is None else f"{p50:.0f}",
            "-" if p95 is None else f"{p95:.0f}",
        )
    Console().print(table)


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    since: SinceOpt = None,
    db: DbOpt = None,
) -> None:
    """Every ledger row as CSV or JSON (money as exact decimal strings)."""
    text = export_rows(_rows(ctx, db, since), fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@app.command("forecast")
def forecast_command(
    ctx: typer.Context,
    tasks: Annotated[int, typer.Option("--tasks", min=1, help="How many tasks the batch holds.")] = 1,
    task_type: Annotated[str | None, typer.Option("--task-type", help="Task type, e.g. code.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model the tasks will run on.")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Budget in USD to judge the risk against.")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="EMA smoothing factor in (0, 1].")] = 0.1,
    as_json: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """Estimate a batch's cost from the ledger's history (EMA per task type and model) and its budget risk."""
    predictor = CostPredictor(alpha=alpha)
    learned = predictor.learn(_rows(ctx, db, None))
    batch = [ForecastTask(f"task-{i + 1}", task_type, model) for i in range(tasks)]
    report = CostForecaster.forecast(batch, {}, predictor, None if budget is None else usd(budget))
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "learned_from_calls": learned}, indent=2))
        return
    per = report.per_task[0]
    typer.echo(f"learned from {learned} calls; per task {fmt_usd(per.estimate_usd)} (basis: {per.basis})")
    typer.echo(f"estimated total: {fmt_usd(report.estimated_total_usd)} for {tasks} tasks")
    if report.budget_usd is not None:
        typer.echo(f"budget: {fmt_usd(report.budget_usd, 2)} ({report.budget_ratio:.0%} used)")
    typer.echo(f"risk: {report.risk_level.value}")
