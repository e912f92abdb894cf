"""`podium logs [--json] [-n N]`: the latest ledger rows, like `llm logs`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console

from podium.cli.costs import DbOpt, open_reader
from podium.cli.tables import Column, print_table
from podium.core.errors import ValidationError
from podium.core.money import fmt_usd
from podium.ledger.export import export_row


def logs_command(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("-n", "--count", help="How many rows, newest first.")] = 3,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Every row, newest first (in place of -n).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show the latest calls from the cost ledger: model, status, tokens, cost, latency."""
    if count < 1:
        raise ValidationError(
            f"-n {count} is not valid: give how many rows to show (1 or more), or --all for every row",
            field="count",
            value=count,
            valid="a whole number of 1 or more",
        )
    reader = open_reader(ctx, db)
    try:
        rows = reader.rows(limit=None if show_all else count, newest_first=True)
    finally:
        reader.close()
    if as_json:
        typer.echo(json.dumps([export_row(r) for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no calls logged yet")
        return
    print_table(Console(), f"latest {len(rows)} calls", COLUMNS, [_cells(r) for r in rows])


COLUMNS = (
    Column("time", key=True),
    Column("request", key=True),
    Column("model", key=True),
    Column("status"),
    Column("tokens in/out", right=True),
    Column("cost", right=True),
    Column("ms", right=True),
)


def _cells(r: dict[str, Any]) -> list[str]:
    status = r["status"] if not r.get("error_type") else f"{r['status']} ({r['error_type']})"
    return [
        r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
        f"{r['request_id']}#{r['attempt']}",
        r["model"],
        status,
        f"{r['input_tokens']}/{r['output_tokens']}",
        fmt_usd(r["cost_usd"]),
        "-" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f}",
    ]


def register(root_app: typer.Typer) -> None:
    """Mount ``podium logs`` on the root app."""
    root_app.command("logs")(logs_command)
