"""`podium feedback ID good|bad|SCORE [--note ...] [--db ...]`: rate an answer; the router learns from it."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from podium.cli.costs import DbOpt
from podium.cli.errors import report
from podium.core.errors import PodiumError


def _ledger_url(ctx: typer.Context, db: str | None) -> str:
    if db:
        from podium.ledger.database import ledger_url

        ledger_url(db, label="--db")  # a bad value is named as the user gave it, with the forms accepted
        return db
    from podium.catalog import podium_home
    from podium.cli.context import cli_env, load_cli_config

    return load_cli_config(ctx).config.ledger.database_url(podium_home(cli_env()))


def feedback_command(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(help="the call's id (x-podium-request-id; `podium logs` lists them)")],
    verdict: Annotated[str, typer.Argument(help="good, bad, or a score from 0 to 1 (e.g. 0.8)")],
    note: Annotated[str | None, typer.Option("--note", help="why (stored with the verdict)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the stored feedback as JSON")] = False,
    db: DbOpt = None,
) -> None:
    """Rate a call's answer. A routed call's rating goes to the model that answered; rating again replaces it.
    `podium router train --from-ledger` learns from these ratings."""
    from podium.ledger import Ledger
    from podium.ledger.feedback import check_note, parse_verdict

    try:
        parsed = parse_verdict(verdict, field="verdict")
        check_note(note, field="--note")
        with Ledger(_ledger_url(ctx, db)) as ledger:
            stored = ledger.add_feedback(request_id, parsed, note=note)
    except PodiumError as exc:
        raise typer.Exit(report(exc)) from None
    if as_json:
        typer.echo(json.dumps(stored.to_dict(), indent=2))
        return
    what = "replaced the earlier rating of" if stored.replaced else "rated"
    typer.echo(f"{what} {stored.request_id}: {stored.label} ({stored.score:g}) for {stored.model} "
               f"(ledger row {stored.call_request_id}#{stored.attempt})")


def register(root_app: typer.Typer) -> None:
    """Mount ``podium feedback`` on the root app."""
    root_app.command("feedback")(feedback_command)
