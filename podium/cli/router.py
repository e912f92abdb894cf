"""`podium router ...`: train, inspect and try the learned quality router."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from podium.cli.context import cli_state
from podium.cli.errors import report
from podium.core.errors import PodiumError, ValidationError

app = typer.Typer(help="Train and inspect the learned quality router.", no_args_is_help=True)


def _fail(exc: Exception, verbose: bool) -> NoReturn:
    # The shared reporter: secrets redacted, usage errors exit 2, like every other command.
    raise typer.Exit(report(exc, verbose=verbose))


def check_cv_folds(folds: int, prompts: int | None = None) -> int:
    """0 (no cross-validation) or 2..prompts folds; anything else is one line saying what is valid."""
    if folds == 0 or (folds >= 2 and (prompts is None or folds <= prompts)):
        return folds
    most = "" if prompts is None or prompts < 2 else f" and at most {prompts}, the number of prompts"
    raise ValidationError(
        f"--cv-folds {folds} is not valid: use 0 to skip cross-validation, or 2 or more folds{most}",
        field="cv_folds",
        value=folds,
        valid="0, or 2.." + (str(prompts) if prompts else "N"),
    )


def _load_router(path: Path | None, verbose: bool) -> Any:
    """The router at ``path``, or the one ``auto`` uses; a bad file ends the command with one line."""
    from podium.routing.learned_router import QualityRouter, default_router

    try:
        return QualityRouter.load(path) if path else default_router()
    except PodiumError as exc:
        _fail(exc, verbose)


@app.command("train")
def train(
    ctx: typer.Context,
    data: Annotated[
        list[Path] | None, typer.Option("--data", help="RouterBench or RouteLLM CSV file(s); default: bundled data")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="where to write the router (default: $PODIUM_HOME/router/)")
    ] = None,
    cv_folds: Annotated[
        int, typer.Option("--cv-folds", help="cross-validation folds by prompt: 0 = skip, else 2 or more")
    ] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show tracebacks")] = False,
) -> None:
    """Train the router on recorded model outcomes and report cross-validated quality."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from podium.routing.datasets import load_bundled, load_dataset
    from podium.routing.learned_router import cached_router_path
    from podium.routing.router_training import train_router

    verbose = verbose or cli_state(ctx).verbose
    console = Console(stderr=True)
    try:
        check_cv_folds(cv_folds)  # before the data is read
        records = [r for p in data for r in load_dataset(p)] if data else load_bundled()
        check_cv_folds(cv_folds, len(records))
        names = [str(p) for p in data] if data else ["bundled"]
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done)

            router = train_router(records, seed=seed, cv_folds=cv_folds, progress=progress, datasets=names)
        target = out or cached_router_path()
        router.save(target)
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    Console().print(f"router trained on {len(records)} prompts in {router.info()['training_seconds']} s -> {target}")
    _print_info(router.info())


@app.command("info")
def info(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="router file (default: the router `auto` uses)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the info as JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Show what a router was trained on, its models, features and cross-validated metrics."""
    router = _load_router(path, verbose or cli_state(ctx).verbose)
    if as_json:
        typer.echo(json.dumps(router.info(), indent=2, default=str))
        return
    _print_info(router.info())


@app.command("predict")
def predict(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="the prompt to score")],
    path: Annotated[Path | None, typer.Option("--router", help="router file (default: the router `auto` uses)")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Show the task analysis and each model's predicted P(good answer) for a prompt."""
    from podium.routing.task_analysis import analyze

    router = _load_router(path, verbose or cli_state(ctx).verbose)
    profile = analyze(prompt)
    console = Console()
    console.print(
        f"task: {profile.task_type}  difficulty: {profile.difficulty}  use cases: {', '.join(profile.use_cases)}"
    )
    table = Table("model", "P(good)")
    for model, p in sorted(router.predict(prompt).items(), key=lambda kv: -kv[1]):
        table.add_row(model, f"{p:.3f}")
    console.print(table)


def _print_info(info: dict[str, Any]) -> None:
    console = Console()
    trained = info.get("trained_on") or {}
    console.print(
        f"created: {info.get('created_at', '?')}  records: {trained.get('records', '?')}  "
        f"evals: {trained.get('evals', {})}"
    )
    console.print(
        f"features: {info['features']['hashed_ngrams']} hashed n-grams + {len(info['features']['dense'])} task features"
    )
    cv = info.get("cv")
    if not cv:
        console.print("no cross-validation metrics (train with --cv-folds 5 to get them)")
        return
    table = Table("model", "AUC", "Brier", "n", title=f"{cv['folds']}-fold cross-validation by prompt")
    for model in info["models"]:
        m = cv["per_model"].get(model, {})
        auc = "-" if m.get("auc") is None else f"{m['auc']:.3f}"
        brier = "-" if m.get("brier") is None else f"{m['brier']:.3f}"
        table.add_row(model, auc, brier, str(m.get("n", 0)))
    console.print(table)
    routing = cv.get("routing") or {}
    if routing.get("prompts"):
        _print_routing(console, routing)


def _print_routing(console: Console, routing: dict[str, Any]) -> None:
    table = Table(
        "rule",
        "quality vs strongest",
        "cost vs strongest",
        title=f"routing on {routing['prompts']} prompts (strongest: {routing['strongest']})",
    )
    oracle = routing["oracle"]
    table.add_row("oracle", f"{oracle['quality']:.1%}", f"{oracle['cost']:.1%}")
    for point in routing.get("points", []):
        table.add_row(point["rule"], f"{point['quality']:.1%}", f"{point['cost']:.1%}")
    console.print(table)
