"""`podium project`: run a multi-step project, resume it after a stop, list and show projects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Self

import typer
from rich.markup import escape

from podium.cli.context import cli_env, default_orchestrator, load_cli_config
from podium.cli.project_draft import draft
from podium.cli.tables import Column, print_table
from podium.core.errors import ValidationError
from podium.core.events import EventType
from podium.core.money import fmt_usd, usd

if TYPE_CHECKING:
    from podium.ledger.forecast import ForecastReport
    from podium.workflows.project import CheckOutcome, ProjectOrchestrator, ProjectState, TaskResult

app = typer.Typer(
    help="Multi-step projects: plan into tasks, route each to the cheapest suitable model, checkpoint, resume.",
    no_args_is_help=True,
)

EXIT_INCOMPLETE = 1  # the run ended paused (budget, time, interruption) or with failed tasks: see its status

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the final project state as one JSON object.")]
ConcurrencyOpt = Annotated[
    int, typer.Option("--max-concurrency", min=1, max=64, help="Most tasks running at the same time.")
]


@app.command("run")
def run(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option("--project", "-p", help="What to build (the description).")] = None,
    criteria: Annotated[str | None, typer.Option("--criteria", help="How to judge it done.")] = None,
    budget: Annotated[str | None, typer.Option("--budget", help="Hard spending limit in USD (default 8.0).")] = None,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where task outputs are written.")] = Path(
        "results"
    ),
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Project YAML (project:, budget:, policy:, tasks:).")
    ] = None,
    max_concurrency: ConcurrencyOpt = 3,
    max_time: Annotated[
        float | None, typer.Option("--max-time", help="Stop starting tasks after this many seconds.")
    ] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", "-s", help="Routing strategy for tasks.")] = None,
    orchestrator_model: Annotated[
        str | None, typer.Option("--orchestrator-model", help="Model that plans the tasks.")
    ] = None,
    project_id: Annotated[str | None, typer.Option("--id", help="Project id (an existing id is resumed).")] = None,
    review: Annotated[
        str, typer.Option("--review", help="Cross-provider review of answers: critical (tasks marked so), all, off.")
    ] = "critical",
    compare: Annotated[
        str | None,
        typer.Option("--compare", help="Run an agent pool: configurations side by side, e.g. pareto,greedy."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a project into tasks and run them. `podium project run --project "..." --budget 5 -o ./out`"""
    from podium.workflows.project import build_spec, parse_compare, review_mode

    mode = review_mode(review)
    agents = parse_compare(compare) if compare is not None else None
    if orchestrator_model is None:
        loaded = load_cli_config(ctx)
        orchestrator_model = default_orchestrator(loaded, flag="--orchestrator-model", quiet=as_json)
    spec = build_spec(
        file=file,
        description=project,
        criteria=criteria,
        max_usd=_usd_option(budget, "--budget"),
        max_time_seconds=max_time,
    )
    if agents is not None:
        from podium.cli.project_pool import run_pool

        settings = _settings(ctx, strategy, max_concurrency, orchestrator_model, mode)
        run_pool(load_cli_config(ctx).config, settings, agents, spec, output_dir, project_id, as_json)
        return
    orch = _orchestrator(
        ctx, strategy=strategy, max_concurrency=max_concurrency, orchestrator_model=orchestrator_model, review=mode
    )
    _finish(
        orch,
        lambda view: orch.run(spec, output_dir=output_dir, project_id=project_id, on_forecast=view.forecast),
        as_json,
    )


app.command("draft")(draft)


@app.command("resume")
def resume(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="The project id (see `podium project list`).")],
    budget: Annotated[str | None, typer.Option("--budget", help="Raise the project's budget to this many USD.")] = None,
    max_concurrency: ConcurrencyOpt = 3,
    as_json: JsonOpt = False,
) -> None:
    """Continue a project (or an agent pool) from its last checkpoint; finished tasks are not run again."""
    amount = _usd_option(budget, "--budget")
    from podium.cli.project_pool import is_pool, resume_pool

    if is_pool(project_id):
        resume_pool(load_cli_config(ctx).config, project_id, amount, as_json)
        return
    orch = _orchestrator(ctx, strategy=None, max_concurrency=max_concurrency, orchestrator_model=None)
    _finish(orch, lambda view: orch.resume(project_id, max_usd=amount, on_forecast=view.forecast), as_json)


@app.command("list")
def list_projects(as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False) -> None:
    """Projects in $PODIUM_HOME/projects.db, newest first."""
    from rich.console import Console

    store = _store()
    try:
        rows = store.summaries()
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    if not rows:
        typer.echo('no projects yet; start one with `podium project run --project "..."`', err=True)
        return
    cells = [
        [
            str(r["id"]),
            str(r["title"]),
            str(r["status"]),
            f"{r['tasks_done']}/{r['tasks_total']}",
            fmt_usd(Decimal(r["spent_usd"]), 4),
            fmt_usd(Decimal(r["max_usd"]), 2),
            str(r["updated_at"])[:16].replace("T", " "),
            str(r.get("stop_reason") or ""),
        ]
        for r in rows
    ]
    print_table(Console(), "projects", LIST_COLUMNS, cells)


# The id is what `resume` and `show` take, so it leads and is never cut; in a narrow terminal each project is a line
# of id and title, then its figures. A run that stopped (failed, paused) says why, e.g. a missing API key.
LIST_COLUMNS = (
    Column("id", key=True),
    Column("title", key=True),
    Column("status"),
    Column("tasks", right=True),
    Column("spent", right=True),
    Column("budget", right=True),
    Column("updated"),
    Column("why it stopped", wrap=True),
)


@app.command("show")
def show(
    project_id: Annotated[str, typer.Argument(help="The project id.")],
    as_json: JsonOpt = False,
) -> None:
    """One project's state: status, spend, every task with its model, cost and output file, and each check run on
    the task's files for the success criteria (passed / failed / skipped, with the reason)."""
    store = _store()
    try:
        state = store.load(project_id)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(state.to_dict()))
    else:
        _render_state(state)


# -- helpers --------------------------------------------------------------------------------------------------------


def _usd_option(value: str | None, flag: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = usd(value.strip().lstrip("$"))
    except ValidationError:
        amount = None
    if amount is None or amount <= 0:
        raise ValidationError(
            f"{flag} {value!r} is not valid; give a positive amount in USD such as 5.0",
            field=flag.lstrip("-"),
            value=value,
        )
    return amount


def _store() -> Any:
    from podium.catalog.store import podium_home
    from podium.workflows.project import ProjectStore

    return ProjectStore.in_home(podium_home(cli_env()))


def _settings(
    ctx: typer.Context, strategy: str | None, max_concurrency: int, orchestrator_model: str | None, review: str
) -> Any:
    from podium.routing import strategy_name
    from podium.workflows.project import RunSettings

    config = load_cli_config(ctx).config
    chosen = strategy_name(strategy) if strategy else config.routing.default_strategy
    return RunSettings(
        strategy=chosen, max_concurrency=max_concurrency, orchestrator_model=orchestrator_model, review=review
    )


def _orchestrator(
    ctx: typer.Context,
    *,
    strategy: str | None,
    max_concurrency: int,
    orchestrator_model: str | None,
    review: str = "critical",
) -> ProjectOrchestrator:
    from podium.workflows.project import ProjectOrchestrator

    settings = _settings(ctx, strategy, max_concurrency, orchestrator_model, review)
    return ProjectOrchestrator(load_cli_config(ctx).config, env=cli_env(), settings=settings)


def _finish(
    orch: ProjectOrchestrator, start: Callable[[ProgressView], Coroutine[object, object, ProjectState]], as_json: bool
) -> None:
    """Run with a live view (none with --json), print the result, and exit non-zero when not completed."""
    view = ProgressView(quiet=as_json)
    view.attach(orch)
    try:
        with view:
            state = asyncio.run(start(view))
    finally:
        orch.close()
    for warning in orch.warnings:
        typer.secho(f"warning: {warning}", err=True, fg="yellow")
    if as_json:
        typer.echo(json.dumps(state.to_dict()))
    else:
        _render_state(state)
    if state.status == "completed_unverified":
        typer.secho(f"project {state.id} is completed_unverified: every task is done but {state.stop_reason}; "
                    "install the missing tool to check it", err=True, fg="yellow")
        raise typer.Exit(EXIT_INCOMPLETE)
    if state.status != "completed":
        command = f"podium project resume {state.id}"
        if state.stop_reason and state.stop_reason.startswith("budget"):
            command += " --budget <more USD>"
        reason = f" ({state.stop_reason})" if state.stop_reason else ""
        typer.echo(f"project {state.id} is {state.status}{reason}; continue with `{command}`", err=True)
        raise typer.Exit(EXIT_INCOMPLETE)


class ProgressView:
    """A rich progress bar on stderr fed by the orchestrator's events; the forecast is printed before tasks run."""

    def __init__(self, *, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

        self.console = Console(stderr=True)
        self.quiet = quiet
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
            disable=quiet,
        )
        self.bar = self.progress.add_task("planning", total=None)

    def attach(self, orch: ProjectOrchestrator) -> None:
        orch.add_hook(EventType.TASK_STARTED, self._started)
        orch.add_hook(EventType.TASK_COMPLETED, self._completed)
        orch.add_hook(EventType.TASK_FAILED, self._failed)
        orch.add_hook(EventType.VALIDATION_FAILED, self._validation_failed)
        orch.add_hook(EventType.BUDGET_WARNING, self._budget_warning)

    def forecast(self, report: ForecastReport) -> None:
        self.progress.update(self.bar, description="running tasks", total=len(report.per_task), completed=0)
        self._line(
            f"forecast: {len(report.per_task)} task(s), estimated {fmt_usd(report.estimated_total_usd, 4)} "
            f"of {fmt_usd(report.budget_usd, 4)} left · risk {report.risk_level.value}",
            always=True,
        )

    def _started(self, task_id: str, title: str = "", **_: object) -> None:
        self.progress.update(self.bar, description=f"running {task_id}")

    def _completed(self, task_id: str, result: TaskResult, **_: object) -> None:
        self.progress.advance(self.bar)
        self._line(
            f"[green]✓[/] {escape(task_id)} · {escape(str(result.model))} · {fmt_usd(result.cost_usd, 6)} "
            f"· score {result.score:.2f}"
        )

    def _failed(self, task_id: str, error: str = "", **_: object) -> None:
        self.progress.advance(self.bar)
        self._line(f"[red]✗[/] {escape(task_id)}: {escape(error)}")

    def _validation_failed(
        self, task_id: str, problems: Sequence[str] = (), attempt: int = 1, **_: object
    ) -> None:
        self._line(f"[yellow]![/] {escape(task_id)} attempt {attempt} failed validation: {escape('; '.join(problems))}")

    def _budget_warning(self, ratio: float = 0.0, phase: str = "", **_: object) -> None:
        self._line(f"[yellow]⚠[/] {escape(phase)}: {ratio:.0%} of the budget used", always=True)

    def _line(self, text: str, *, always: bool = False) -> None:
        if always or not self.quiet:
            self.console.print(text, highlight=False)

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _render_state(state: ProjectState) -> None:
    """The project line, then its tasks and checks as tables whose ids, model ids and paths are never cut (one line
    per task, then its figures, in a terminal too narrow for the table)."""
    from rich.console import Console

    console = Console()
    console.print(
        f"[bold]{escape(state.title)}[/] ({escape(state.id)}) · {_styled_status(state.status)}"
        + (f" ({escape(state.stop_reason)})" if state.stop_reason else "")
        + f" · spent {fmt_usd(state.spent_usd, 4)} of {fmt_usd(state.budget_usd, 2)} · output {state.output_dir}",
        highlight=False,
    )
    rows = [
        [t.id, t.status, t.model or "-", fmt_usd(t.cost_usd, 6), "-" if t.score is None else f"{t.score:.2f}",
         _checks_summary(t.checks), t.output_path or (t.error or "-")[:60]]
        for t in state.tasks.values()
    ]  # fmt: skip
    print_table(console, "tasks", TASK_COLUMNS, rows)
    outcomes = [(t.id, c) for t in state.tasks.values() for c in t.checks]
    if outcomes:
        checks = [[task_id, c.check, c.status, f"{c.criterion!r}: {c.reason}" if c.status == "unchecked" else c.reason]
                  for task_id, c in outcomes]  # fmt: skip
        styles = [_CHECK_STYLE.get(c.status, "") for _, c in outcomes]
        print_table(console, "success criteria checks", CHECK_COLUMNS, checks, styles=styles)


# A task's id and model lead its line in a narrow terminal; the output path (or the error) wraps only between words.
TASK_COLUMNS = (
    Column("task", key=True),
    Column("status"),
    Column("model", key=True),
    Column("cost", right=True),
    Column("score", right=True),
    Column("checks"),
    Column("output", wrap=True),
)
CHECK_COLUMNS = (Column("task", key=True), Column("check", key=True), Column("status"), Column("reason", wrap=True))


_CHECK_STYLE = {"passed": "green", "failed": "red", "skipped": "yellow", "unchecked": "dim"}
_STATUS_STYLE = {"completed": "green", "completed_unverified": "yellow", "failed": "red", "paused": "yellow"}


def _styled_status(status: str) -> str:
    """A project status in its colour: completed_unverified stands out from completed."""
    style = _STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _checks_summary(checks: Sequence[CheckOutcome]) -> str:
    """``2/3 passed`` over the checks that ran (skipped and unchecked ones are not counted)."""
    ran = [c for c in checks if c.status in ("passed", "failed")]
    if not ran:
        return "-"
    return f"{sum(1 for c in ran if c.status == 'passed')}/{len(ran)} passed"
