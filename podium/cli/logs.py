"""`podium logs [--json] [-n N]`: the latest ledger rows, like `llm logs`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from podium.cli.costs import DbOpt, open_reader
from podium.core.money import fmt_usd
from podium.ledger.export import export_row


def logs_command(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("-n", "--count", min=0, help="How many rows, newest first (0 = all).")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
    db: DbOpt = None,
) -> None:
    """Show the latest calls from the cost ledger: model, status, tokens, cost, latency."""
    reader = open_reader(ctx, db)
    try:
        rows = reader.rows(limit=count or None, newest_first=True)
    finally:
        reader.close()
    if as_json:
        typer.echo(json.dumps([export_row(r) for r in rows], indent=2))
        return
    if not rows:
        typer.echo("no calls logged yet")
        return
    Console().print(_table(rows))


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"latest {len(rows)} calls")
    for c in ("time", "request", "model", "status", "tokens in/out", "cost", "ms"):
        table.add_column(c, justify="right" if c in ("tokens in/out", "cost", "ms") else "left")
    for r in rows:
        status = r["status"] if not r.get("error_type") else f"{r['status']} ({r['error_type']})"
        table.add_row(
            r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            f"{r['request_id']}#{r['attempt']}",
            r["model"],
            status,
            f"{r['input_tokens']}/{r['output_tokens']}",
            fmt_usd(r["cost_usd"]),
            "-" if r.get("latency_ms") is None else f"{r['latency_ms']:.0f}",
        )
    return table


def register(root_app: typer.Typer) -> None:
    """Mount ``podium logs`` on the root app."""
    root_app.command("logs")(logs_command)
