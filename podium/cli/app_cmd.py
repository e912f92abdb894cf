"""`podium app`: architecture advice, and building an app as a checked, resumable project under that advice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from podium.cli.context import cli_env, load_cli_config
from podium.core.errors import BudgetExceededError
from podium.core.money import fmt_usd

app = typer.Typer(
    help="Build apps: a reasoning model decides the architecture, then the project orchestrator builds and checks.",
    no_args_is_help=True,
)

EXIT_INCOMPLETE = 1
DescriptionArg = Annotated[str, typer.Argument(help="What to build.")]
CriteriaOpt = Annotated[
    str, typer.Option("--criteria", help="How to judge it done (e.g. 'pytest passes, ruff clean').")
]
AppTypeOpt = Annotated[
    str | None, typer.Option("--app-type", help="fastapi, flask, cli, library or script (detected when omitted).")
]
AdvisorOpt = Annotated[
    str | None,
    typer.Option(
        "--advisor-model", help="Model that decides the architecture (default: the task table's reasoning row)."
    ),
]
LogOpt = Annotated[bool, typer.Option("--log-prompts", help="Keep the advisor's prompts and answers.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@app.command("advise")
def advise(
    ctx: typer.Context,
    description: DescriptionArg,
    criteria: CriteriaOpt = "",
    app_type: AppTypeOpt = None,
    model: AdvisorOpt = None,
    budget: Annotated[str, typer.Option("--budget", help="Hard limit for the advice in USD.")] = "0.50",
    log_prompts: LogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Decide structural pattern, topology, API and data paradigm, with a rationale. No code is written."""
    from podium.workflows.app import ArchitectureAdvisor
    from podium.workflows.session import positive_usd

    amount = positive_usd(budget, "--budget")
    advisor = ArchitectureAdvisor(load_cli_config(ctx).config, env=cli_env(), model=model, log_prompts=log_prompts)
    try:
        decision = asyncio.run(advisor.analyze(description, criteria, app_type=app_type, max_usd=amount))
    finally:
        advisor.close()
    if as_json:
        typer.echo(json.dumps(decision.to_dict()))
    else:
        _print_decision(decision)


@app.command("build")
def build(
    ctx: typer.Context,
    description: DescriptionArg,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the app's files are written.")],
    criteria: CriteriaOpt = "",
    app_type: AppTypeOpt = None,
    budget: Annotated[
        str | None, typer.Option("--budget", help="Hard limit for advice and build (default 8.0).")
    ] = None,
    review: Annotated[str, typer.Option("--review", help="Cross-provider review: critical, all or off.")] = "critical",
    max_concurrency: Annotated[int, typer.Option("--max-concurrency", min=1, max=64, help="Most tasks at once.")] = 3,
    strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Routing strategy for tasks.")] = None,
    orchestrator_model: Annotated[str | None, typer.Option("--orchestrator-model", help="Model that plans.")] = None,
    advisor_model: AdvisorOpt = None,
    project_id: Annotated[str | None, typer.Option("--id", help="Project id (an existing id is resumed).")] = None,
    log_prompts: LogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Advise, plan, generate, check (tests, lint, compile) and report. `podium app build "..." -o ./api`"""
    from podium.workflows.app import app_type_name
    from podium.workflows.app.advisor import check_description
    from podium.workflows.project import build_spec, new_project_id

    spec = build_spec(description=check_description(description), criteria=criteria, max_usd=_usd(budget))
    kind = app_type_name(app_type) if app_type else None
    pid = project_id or new_project_id(spec.title)
    builder = _builder(ctx, review, max_concurrency, strategy, orchestrator_model, advisor_model, log_prompts)
    _run(
        builder,
        lambda: builder.build(
            description, criteria, output_dir=output_dir, app_type=kind, max_usd=spec.budget.max_usd, project_id=pid
        ),
        pid,
        as_json,
    )


@app.command("resume")
def resume(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="The app's project id.")],
    budget: Annotated[str | None, typer.Option("--budget", help="Raise the budget to this many USD.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Continue an app build from its last checkpoint (the advice and finished tasks are kept)."""
    amount = _usd(budget)
    builder = _builder(ctx, "critical", 3, None, None, None, False)
    _run(builder, lambda: builder.resume(project_id, max_usd=amount), project_id, as_json)


def _usd(value: str | None) -> Any:
    from podium.workflows.session import positive_usd

    return None if value is None else positive_usd(value, "--budget")


def _builder(
    ctx: typer.Context,
    review: str,
    concurrency: int,
    strategy: str | None,
    planner: str | None,
    advisor: str | None,
    log_prompts: bool,
) -> Any:
    from podium.routing import strategy_name
    from podium.workflows.app import AppBuilder
    from podium.workflows.project import RunSettings, review_mode

    config = load_cli_config(ctx).config
    settings = RunSettings(
        strategy=strategy_name(strategy) if strategy else config.routing.default_strategy,
        max_concurrency=concurrency,
        orchestrator_model=planner,
        review=review_mode(review),
    )
    return AppBuilder(config, env=cli_env(), settings=settings, advisor_model=advisor, log_prompts=log_prompts)


def _run(builder: Any, start: Any, pid: str, as_json: bool) -> None:
    from podium.cli.project import ProgressView, _render_state

    view = ProgressView(quiet=as_json)
    view.attach(builder.orchestrator)
    try:
        with view:
            result = asyncio.run(start())
    except BudgetExceededError as exc:
        typer.echo(
            f"app {pid} is paused (budget: {exc}); continue with `podium app resume {pid} --budget <more USD>`",
            err=True,
        )
        raise typer.Exit(EXIT_INCOMPLETE) from None
    finally:
        builder.close()
    for warning in builder.orchestrator.warnings:
        typer.secho(f"warning: {warning}", err=True, fg="yellow")
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        _print_decision(result.profile)
        _render_state(result.state)
        passed, ran = result.checks
        typer.echo(
            f"{'✓' if result.success else '✗'} {len(result.files_written)} file(s) written to "
            f"{result.state.output_dir} · checks passed {passed}/{ran} · cost {fmt_usd(result.cost_usd, 6)}"
        )
    if not result.success:
        state = result.state
        reason = f" ({state.stop_reason})" if state.stop_reason else ""
        more = " --budget <more USD>" if (state.stop_reason or "").startswith("budget") else ""
        typer.echo(
            f"app {state.id} is {state.status}{reason}; continue with `podium app resume {state.id}{more}`", err=True
        )
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_decision(d: Any) -> None:
    from rich.console import Console

    console = Console()
    console.print(f"[bold]architecture[/] ({escape(d.model)}, {fmt_usd(d.cost_usd, 6)})", highlight=False)
    for label, value in (
        ("app type", d.app_type),
        ("structural pattern", d.structural_pattern),
        ("topology", d.topology),
        ("API paradigm", d.api_paradigm),
        ("data paradigm", d.data_paradigm),
        ("rationale", d.rationale),
    ):
        console.print(f"  {label}: {escape(value)}", highlight=False)
