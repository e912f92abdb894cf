"""`podium costs report|stats|export|forecast`: what was spent, on what, and what a batch will cost."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from podium.cli.paths import writable_file
from podium.cli.tables import Column, print_table
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
from podium.ledger.rows import REFUSED, row_category

app = typer.Typer(
    name="costs", help="Spend reports, statistics, exports and forecasts from the cost ledger.", no_args_is_help=True
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Ledger database: a file path (SQLite), sqlite:///path or postgresql://user@host/db "
        "(default: ledger.url from the config).",
    ),
]
SinceOpt = Annotated[str | None, typer.Option("--since", help="Only calls from this date on (YYYY-MM-DD).")]
PeriodOpt = Annotated[str, typer.Option("--period", help=f"Bucket size: {', '.join(PERIODS)}.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
CategoryOpt = Annotated[
    str | None,
    typer.Option(
        "--category",
        help="Only calls of this category: a `category` tag, else the workflow (testgen, project, ...), else "
        "orchestration (a strategy chose the model) or direct (a model was named). `--by category` lists them.",
    ),
]


def open_reader(ctx: typer.Context | None, db: str | None, *, must_exist: bool = True) -> LedgerReader:
    """The ledger named by ``--db``, else the configured one (``ledger.url`` or $PODIUM_HOME/ledger.db). A ``--db``
    SQLite file that does not exist is an error unless ``must_exist`` is False (a forecast needs no history)."""
    if db:
        from podium.ledger.database import ledger_url

        parsed = ledger_url(db, label="--db")  # a bad value is named as the user gave it, with the forms accepted
        sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
        if must_exist and sqlite_file:
            _existing_ledger(ctx, db, Path(str(parsed.database)).expanduser())
        return LedgerReader(db)
    return LedgerReader(_configured_url(ctx))


def _configured_url(ctx: typer.Context | None) -> str:
    from podium.catalog import podium_home
    from podium.cli.context import cli_env, load_cli_config

    return load_cli_config(ctx).config.ledger.database_url(podium_home(cli_env()))


def _existing_ledger(ctx: typer.Context | None, db: str, path: Path) -> None:
    """A ``--db`` file that does not exist is a typo, not an empty ledger: reading it would report $0 spent."""
    if path.exists() or any(p.exists() and not p.is_dir() for p in path.parents):
        return  # a folder, or a file in the way of one: the ledger's own error says which
    try:
        configured = f"; the configured ledger is {_configured_url(ctx)}"
    except Exception:  # noqa: BLE001 - a broken config must not hide the error being reported
        configured = ""
    raise ValidationError(
        f"--db {db}: no ledger there ({path} does not exist); give the path of an existing ledger file, or leave "
        f"--db out to read the configured one{configured}",
        field="db",
        value=db,
    )


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


def _rows(
    ctx: typer.Context, db: str | None, since: str | None, *, must_exist: bool = True, category: str | None = None
) -> list[dict]:
    reader = open_reader(ctx, db, must_exist=must_exist)
    try:
        rows = reader.rows(since=parse_since(since))
    finally:
        reader.close()
    return rows if category is None else in_category(rows, category)


def in_category(rows: list[dict], category: str) -> list[dict]:
    """The rows of ``category``; a category no call has is an error naming those the ledger holds."""
    chosen = [r for r in rows if row_category(r) == category]
    if rows and not chosen:
        known = sorted({row_category(r) for r in rows})
        raise ValidationError(
            f"--category {category}: no calls of that category; the ledger has {', '.join(known)}",
            field="category",
            value=category,
            valid=known,
        )
    return chosen


@app.command("report")
def report_command(
    ctx: typer.Context,
    period: PeriodOpt = "daily",
    by: Annotated[str, typer.Option("--by", help=f"Group by: {', '.join(GROUPS)}.")] = "model",
    since: SinceOpt = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", help="Savings against this model, e.g. anthropic:claude-sonnet-4-5.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw spend over time to this PNG (missing folders are created).")
    ] = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    category: CategoryOpt = None,
) -> None:
    """Spend by period and model/strategy/task/key/provider/user/tag/category, with savings against a baseline model.

    ``--by tag`` puts a call in one line per key=value of its tags, so those lines may add up to more than the total.
    """
    plot = None if plot is None else writable_file(plot, "--plot")
    spec = None
    if baseline is not None:
        from podium.cli.context import cli_catalog, load_cli_config

        spec = cli_catalog(load_cli_config(ctx)).get(baseline)  # bundled prices plus the user's own
    ledger_rows = _rows(ctx, db, since, category=category)
    report = build_report(ledger_rows, period=period, by=by, baseline=spec)
    if plot is not None:
        plot_report(report, plot)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    cols = [Column("period", key=True), Column(by, key=True)]
    cols += [Column(c, right=True) for c in ("calls", "errors", "cache hits", "tokens in", "tokens out", "cost")]
    if spec is not None:
        cols += [Column(f"on {spec.id}", right=True), Column("saved", right=True)]
    rows = []
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
            cells += [fmt_usd(line.baseline_cost_usd), saved_cell(line.savings_usd, line.savings_pct)]
        rows.append(cells)
    title = f"Spend {period} by {by}" + (f" in category {category}" if category else "")
    print_table(Console(), title + (f" vs {spec.id}" if spec else ""), cols, rows)
    refused = _refused(ledger_rows)
    if refused:
        typer.echo(f"calls: answered and failed attempts; not counted: {refused} refused call(s), never sent "
                   "(`podium costs stats` counts them)")
    if plot is not None:
        typer.echo(f"wrote {plot}")


def _refused(rows: list[dict]) -> int:
    """Calls a budget or policy refused before sending: in the ledger, but not in the report's call counts."""
    return sum(1 for r in rows if r.get("status") == REFUSED)


def saved_cell(amount: Decimal | None, pct: float | Decimal | None) -> str:
    """``$0.0100 (40%)`` saved, or ``-$0.003380 (12% more)`` when the calls cost more than the baseline would."""
    if amount is None or amount >= 0:
        return fmt_usd(amount) + ("" if pct is None else f" ({pct:.0f}%)")
    return f"-{fmt_usd(-amount)}" + ("" if pct is None else f" ({abs(pct):.0f}% more)")


@app.command("stats")
def stats_command(
    ctx: typer.Context,
    period: PeriodOpt = "daily",
    since: SinceOpt = None,
    as_json: JsonOpt = False,
    db: DbOpt = None,
    category: CategoryOpt = None,
) -> None:
    """Calls, outcomes, tokens, spend and latency per period."""
    lines = build_stats(_rows(ctx, db, since, category=category), period=period)
    if as_json:
        typer.echo(json.dumps([line.to_dict() for line in lines], indent=2))
        return
    if not lines:
        typer.echo("no calls logged yet")
        return
    cols = [Column("period", key=True)]
    for c in (
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
        cols.append(Column(c, right=True))
    rows = []
    for s in lines:
        p50, p95 = s.latency_ms(0.5), s.latency_ms(0.95)
        rows.append([
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
        ])
    print_table(Console(), f"Ledger statistics ({period})", cols, rows)
    refused = sum(s.refused for s in lines)
    if refused:
        typer.echo(f"calls: every call logged, including {refused} refused call(s) never sent "
                   "(`podium costs report` leaves them out)")


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    since: SinceOpt = None,
    db: DbOpt = None,
    category: CategoryOpt = None,
) -> None:
    """Every ledger row as CSV or JSON (money as exact decimal strings)."""
    out = None if out is None else writable_file(out, "--out")
    text = export_rows(_rows(ctx, db, since, category=category), fmt)
    if out is None:
        typer.echo(text, nl=False)
        return
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
    limit = None if budget is None else positive_budget(budget)
    rows = _rows(ctx, db, None, must_exist=False)  # no history yet: the forecast uses catalog prices
    task_type, model = _known_subject(ctx, task_type, model, rows)
    predictor = CostPredictor(alpha=alpha)
    learned = predictor.learn(rows)
    batch = [ForecastTask(f"task-{i + 1}", task_type, model) for i in range(tasks)]
    report = CostForecaster.forecast(batch, {}, predictor, limit)
    if as_json:
        typer.echo(json.dumps({**report.to_dict(), "learned_from_calls": learned}, indent=2))
        return
    per = report.per_task[0]
    typer.echo(f"learned from {learned} calls; per task {fmt_usd(per.estimate_usd)} (basis: {per.basis})")
    typer.echo(f"estimated total: {fmt_usd(report.estimated_total_usd)} for {tasks} tasks")
    if report.budget_usd is not None:
        typer.echo(f"budget: {fmt_usd(report.budget_usd, 2)} ({report.budget_ratio:.0%} used)")
    typer.echo(f"risk: {report.risk_level.value}")


_MAX_BUDGET = Decimal(10) ** 12  # a trillion dollars: beyond that the figure is a typo


def positive_budget(text: str) -> Decimal:
    """``--budget`` as an exact amount; zero, negative or not a number is one line saying what is valid."""
    try:
        amount = usd(text)
    except ValidationError:
        amount = None
    if amount is None or amount <= 0 or amount > _MAX_BUDGET:
        raise ValidationError(
            f"--budget {text} is not valid: give an amount in USD greater than 0 and at most {_MAX_BUDGET:,}, "
            "e.g. --budget 25",
            field="budget",
            value=text,
            valid="a number > 0",
        )
    return amount


def _known_subject(
    ctx: typer.Context, task_type: str | None, model: str | None, rows: list[dict]
) -> tuple[str | None, str | None]:
    """``--task-type`` as a known task type and ``--model`` as a catalog id (aliases resolved, as the ledger records
    them). Names the ledger has history for are accepted as they are; an unknown task type lists the known ones, an
    unknown model gets close catalog names."""
    if task_type is None and model is None:
        return None, None
    from podium.cli.context import cli_catalog, load_cli_config
    from podium.routing.strategies import task_type_name

    loaded = load_cli_config(ctx)
    if task_type is not None and task_type not in {r.get("task_type") for r in rows}:
        task_type = task_type_name(task_type, loaded.config.routing.task_table)
    if model is not None and model not in {r.get("model") for r in rows}:
        model = cli_catalog(loaded).resolve(model)
    return task_type, model
