"""`podium eval`: replay every routing strategy over recorded answers and compare quality and cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from podium.cli.context import load_cli_config
from podium.core.errors import ValidationError

if TYPE_CHECKING:
    from rich.progress import ProgressColumn, Task

    from podium.config.routing import RoutingSettings
    from podium.routing.evaluation import EvalReport

app = typer.Typer(name="eval", help="Measure routing strategies on recorded model answers (no API calls).")

BUNDLED = "bundled"
SPLITS = ("fixed", "by-benchmark", "by-model")


def _load(paths: list[Path]) -> list:
    from podium.routing.datasets import load_dataset

    records = []
    for path in paths:
        records.extend(load_dataset(path))
    return records


def eval_data(datasets: list[Path], train: list[str], test_fraction: float, seed: int, gsm8k: bool) -> tuple[list, list]:
    """(train, evaluated): a fixed split of the bundled data, or the given files with training prompts held out."""
    from podium.routing.datasets import load_bundled, split_records
    from podium.routing.evaluation import exclude_prompts

    if not datasets:
        if train and train != [BUNDLED]:
            raise ValidationError("--train needs --dataset: without it the bundled data is split into train and test",
                                  field="train", value=train)
        return split_records(load_bundled(include_gsm8k=gsm8k), test_fraction=test_fraction, seed=seed)
    evaluated = _load(datasets)
    sources = train or [BUNDLED]
    training = []
    for source in sources:
        training.extend(load_bundled(include_gsm8k=gsm8k) if source == BUNDLED else _load([Path(source)]))
    check_models(evaluated, training, datasets)
    return exclude_prompts(training, evaluated), evaluated


def check_models(evaluated: list, training: list, datasets: list[Path]) -> None:
    """Fail before any training when the evaluated file's models have no outcomes in the training data."""
    mine = sorted({m for r in evaluated for m in r.outcomes})
    known = {m for r in training for m in r.outcomes}
    if mine and not known.intersection(mine):
        names = ", ".join(str(d) for d in datasets)
        raise ValidationError(
            f"{names}: its model columns ({', '.join(mine[:6])}) have no recorded outcomes in the training data "
            f"(models there: {', '.join(sorted(known)[:6])}{', ...' if len(known) > 6 else ''}); give --train FILE "
            "with outcomes of the same models, or name the models as the bundled data does",
            field="dataset", value=names,
        )


@app.callback(invoke_without_command=True)
def eval_command(
    ctx: typer.Context,
    dataset: Annotated[list[Path] | None, typer.Option(
        "--dataset", "-d", help="RouterBench or RouteLLM CSV (.csv or .csv.gz) to evaluate; repeatable.",
        exists=True, dir_okay=False)] = None,
    train: Annotated[list[str] | None, typer.Option(
        "--train", help="Training data for the router: 'bundled' (default) or CSV files; repeatable.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the table.")] = False,
    plot: Annotated[Path | None, typer.Option(
        "--plot", help="Write a cost-vs-quality PNG here (missing folders are created).")] = None,
    strategy: Annotated[list[str] | None, typer.Option(
        "--strategy", "-s", help="Strategies to replay (default: cheapest, cascade, ensemble, auto).")] = None,
    no_curves: Annotated[bool, typer.Option("--no-curves", help="Skip the threshold sweeps (faster).")] = False,
    gsm8k: Annotated[bool, typer.Option("--gsm8k/--no-gsm8k", help="Include the bundled GSM8K data.")] = True,
    test_fraction: Annotated[float, typer.Option(help="Held-out share of the bundled data.", min=0.05, max=0.95)] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed for the split, the router and the random baseline.")] = 0,
    split: Annotated[str, typer.Option(
        "--split", help="fixed: a held-out share of every benchmark; by-benchmark: train without one benchmark and "
        "score on it, for each; by-model: hide one model's outcomes and predict them from its quality profile.",
    )] = "fixed",
) -> None:
    """Replay strategies over held-out prompts using recorded answers; prints a table (or --json)."""
    if ctx.invoked_subcommand is not None:
        return
    from podium.routing.evaluation import STRATEGIES, to_json
    from podium.routing.strategies import STRATEGY_NAMES

    if split not in SPLITS:
        raise ValidationError(f"--split {split!r} is not valid; use one of {', '.join(SPLITS)}", field="split",
                              value=split, valid=list(SPLITS))
    if split != "fixed":
        if dataset:
            raise ValidationError(f"--split {split} runs on the bundled data; leave out --dataset", field="split",
                                  value=split)
        run_split(split, gsm8k=gsm8k, seed=seed, json_out=json_out, settings=load_cli_config(ctx).config.routing)
        return
    chosen = tuple(strategy or STRATEGIES)
    unknown = [s for s in chosen if s not in STRATEGY_NAMES]
    if unknown:
        raise ValidationError(f"strategy {unknown[0]!r} is not known; use one of {', '.join(STRATEGIES)}",
                              field="strategy", value=unknown[0], valid=list(STRATEGIES))
    settings = load_cli_config(ctx).config.routing
    if plot is not None:
        from podium.cli.paths import writable_file

        plot = writable_file(plot, "--plot")  # a bad path fails now, not after the replay
    training, evaluated = eval_data(list(dataset or []), list(train or []), test_fraction, seed, gsm8k)
    report = _replay(training, evaluated, settings, chosen, curves=not no_curves, seed=seed, quiet=json_out)
    if plot is not None:
        from podium.routing.evaluation.plot import write_plot

        write_plot(report, plot)
    if json_out:
        typer.echo(json.dumps(to_json(report)))
        return
    _print_report(report)
    if plot is not None:
        typer.echo(f"plot written to {plot}")


def _replay(training: list, evaluated: list, settings: RoutingSettings, chosen: tuple[str, ...], *, curves: bool,
            seed: int, quiet: bool) -> EvalReport:
    """Train and replay under a progress bar on stderr: it pulses under what is being trained, then counts runs."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from podium.routing.evaluation import evaluate
    from podium.routing.evaluation.harness import total_runs

    err = Console(stderr=True)
    bar = Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), _count_column(),
                   TimeElapsedColumn(), console=err, transient=True, disable=quiet and not err.is_terminal)
    task = bar.add_task(f"training the router on {len(training)} prompts", total=None)  # training has no count
    runs = total_runs(len(evaluated), chosen, curves)

    def advance(n: int) -> None:
        if bar.tasks[0].total is None:
            bar.update(task, total=runs)
        bar.advance(task, n)

    with bar:
        return evaluate(training, evaluated, settings=settings, strategies=chosen, curves=curves, seed=seed,
                        progress=advance, stage=lambda text: bar.update(task, description=text))


def _count_column() -> ProgressColumn:
    """``done/total`` once the replay counts; nothing while training (which has no count)."""
    from rich.progress import MofNCompleteColumn
    from rich.text import Text

    class CountColumn(MofNCompleteColumn):
        def render(self, task: Task) -> Text:
            return Text("") if task.total is None else super().render(task)

    return CountColumn()


def _print_report(report: EvalReport) -> None:
    """The table in the plot's words for the split; strategy names and the models in parameters are never cut."""
    from rich.console import Console

    from podium.cli.tables import print_rendered
    from podium.routing.evaluation import render_table

    print_rendered(Console(), render_table(report), keys=("strategy",), wrap=("params",))


def run_split(split: str, *, gsm8k: bool, seed: int, json_out: bool, settings: object) -> None:
    """``--split by-benchmark`` / ``by-model`` over the bundled data (MMLU included): a table, or one JSON object."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from podium.routing.datasets import load_bundled
    from podium.routing.evaluation import splits

    records = load_bundled(include_gsm8k=gsm8k, include_mmlu=True)
    err = Console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=json_out and not err.is_terminal) as bar:
        task = bar.add_task(f"{split}: loading", total=None)

        def stage(text: str) -> None:
            bar.update(task, description=text)

        if split == "by-benchmark":
            rows = splits.by_benchmark(records, settings=settings, seed=seed, stage=stage)  # type: ignore[arg-type]
            data = {"split": split, "benchmarks": splits.benchmark_json(rows)}
        else:
            hidden = splits.by_model(records, seed=seed, stage=stage)
            data = {"split": split, "models": splits.model_json(hidden)}
    if json_out:
        typer.echo(json.dumps(data))
        return
    Console().print(splits.render_split(data))
