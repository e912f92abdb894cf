"""`podium project run --compare ...` and resuming a pool: agent pools for the `project` command group."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from podium.cli.context import cli_env
from podium.core.money import fmt_usd

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.workflows.project import AgentPool, PoolResult, ProjectSpec, RunSettings
    from podium.workflows.project.pool import PoolAgent

EXIT_INCOMPLETE = 1


def is_pool(run_id: str) -> bool:
    """Whether ``run_id`` names an agent pool (its agents are projects named ``<pool id>-<agent>``)."""
    from podium.catalog.store import podium_home
    from podium.workflows.project.pool import WORKFLOW
    from podium.workflows.records import RunStore

    with RunStore.in_home(podium_home(cli_env())) as store:
        return store.exists(run_id) and store.load(run_id).workflow == WORKFLOW


def run_pool(
    config: PodiumConfig,
    settings: RunSettings,
    agents: list[PoolAgent],
    spec: ProjectSpec,
    output_dir: Path,
    pool_id: str | None,
    as_json: bool,
) -> None:
    from podium.workflows.project import AgentPool

    pool = AgentPool(config, env=cli_env(), settings=settings)
    for agent in agents:
        pool.add_agent(agent.name, strategy=agent.strategy, selection=agent.selection)
    _finish(pool, lambda: pool.run(spec, output_dir=output_dir, pool_id=pool_id), as_json)


def resume_pool(config: PodiumConfig, pool_id: str, max_usd: Decimal | None, as_json: bool) -> None:
    from podium.workflows.project import AgentPool

    pool = AgentPool(config, env=cli_env())
    _finish(pool, lambda: pool.resume(pool_id, max_usd=max_usd), as_json)


def _finish(pool: AgentPool, start: Callable[[], Coroutine[object, object, PoolResult]], as_json: bool) -> None:
    try:
        result = asyncio.run(start())
    finally:
        pool.close()
    for warning in pool.warnings:
        typer.secho(f"warning: {warning}", err=True, fg="yellow")
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        _render(result)
    if result.status != "completed":
        budget = any((o.state.stop_reason or "").startswith("budget") for o in result.outcomes if o.state)
        more = " --budget <more USD>" if budget else ""
        typer.echo(
            f"pool {result.pool_id}: the best agent is {result.status}; continue with "
            f"`podium project resume {result.pool_id}{more}`",
            err=True,
        )
        raise typer.Exit(EXIT_INCOMPLETE)


def _render(result: PoolResult) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("agent", "status", "checks passed", "tasks", "quality", "cost", title=f"agent pool {result.pool_id}")
    for o in result.outcomes:
        row = o.to_dict()
        mark = " (best)" if o.name == result.best else ""
        table.add_row(
            escape(o.name + mark),
            str(row["status"]),
            str(row["checks_passed"]),
            f"{row['tasks_done']}/{row['tasks_total']}",
            f"{row['quality']:.2f}",
            fmt_usd(o.cost_usd, 6),
        )
    console = Console()
    console.print(table)
    t = result.telemetry
    console.print(
        f"best: {escape(str(result.best))} · together {fmt_usd(Decimal(str(t['spent_usd'])), 6)} of "
        f"{fmt_usd(result.max_usd, 2)} · {t['tokens']} tokens · {t['tasks_done']}/{t['tasks_total']} tasks",
        highlight=False,
    )
