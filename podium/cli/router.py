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
DEFAULT_CV_FOLDS = 5
MIN_CV_PROMPTS = 2 * DEFAULT_CV_FOLDS  # fewer and each held-out fold is one or two prompts: metrics would be noise


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


DATA_HELP = (
    "recorded outcomes CSV file(s), .csv or .csv.gz (default: the bundled data). RouterBench format: columns "
    "sample_id, prompt, eval_name, then per model <model> (correct: 0..1 or true/false), <model>|model_response "
    "and optionally <model>|total_cost (USD). RouteLLM format: prompt, <model>, <model>_response. Model columns "
    "are Podium ids (openai:gpt-4o-mini) or catalog aliases. Example: docs/examples/router_outcomes.csv"
)


@app.command("train")
def train(
    ctx: typer.Context,
    data: Annotated[list[Path] | None, typer.Option("--data", help=DATA_HELP)] = None,
    from_ledger: Annotated[
        bool, typer.Option("--from-ledger", help="fit this deployment's adjustment on top of the router in use, "
                           "from `podium feedback` ratings and quality-gate verdicts in the ledger")
    ] = False,
    db: Annotated[str | None, typer.Option("--db", help="ledger database for --from-ledger (default: ledger.url)")]
    = None,
    gate_weight: Annotated[
        float, typer.Option("--gate-weight", help="--from-ledger: weight of a gate verdict (kept = good, "
                            "escalated = bad) against an explicit rating's 1; 0 ignores them")
    ] = 0.3,
    l2: Annotated[float, typer.Option("--l2", help="--from-ledger: pull of each offset toward 0 (larger = a "
                                      "rating moves less)")] = 16.0,
    use: Annotated[bool, typer.Option("--use", help="switch to the new version at once")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the router to this file only (no new version)")
    ] = None,
    cv_folds: Annotated[
        int | None, typer.Option("--cv-folds", help=f"cross-validation folds by prompt: 0 = skip, else 2 or more "
                                 f"(default: {DEFAULT_CV_FOLDS}, skipped when there are fewer than {MIN_CV_PROMPTS} prompts)")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show tracebacks")] = False,
) -> None:
    """Train the router on recorded model outcomes (or, with --from-ledger, on this deployment's feedback).

    Writes a new router version and keeps the one in use unless --use is given; prints how to switch and undo.
    """
    verbose = verbose or cli_state(ctx).verbose
    if from_ledger:
        if data or out:
            _fail(ValidationError("--from-ledger learns from the ledger; it cannot be combined with --data or --out",
                                  field="from_ledger", valid="--from-ledger [--db ...] or --data FILE"), verbose)
        _train_from_ledger(ctx, db, gate_weight=gate_weight, l2=l2, use=use, verbose=verbose)
        return
    try:
        if cv_folds is not None:
            check_cv_folds(cv_folds)  # before the data is read
        records, router = _train_on_records(data, cv_folds=cv_folds, seed=seed)
        if out is not None:
            router.save(out)
            Console().print(f"router trained on {len(records)} prompts -> {out}")
            _print_info(router.info())
            return
        from podium.routing.router_store import RouterStore

        store = RouterStore()
        info = router.info()
        version = store.add("trained", router.save, suffix=".json.gz",
                            trained_on=", ".join(str(p) for p in data) if data else "bundled recorded data",
                            metrics=_cv_summary(info, len(records)))
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    Console().print(f"router trained on {len(records)} prompts in {info.get('training_seconds', '?')} s "
                    f"-> version {version.id}")
    _print_info(info)
    _announce(store, version, use)


def _train_on_records(data: list[Path] | None, *, cv_folds: int | None, seed: int) -> tuple[list[Any], Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from podium.routing.datasets import load_bundled, load_dataset
    from podium.routing.router_training import train_router

    records = [r for p in data for r in load_dataset(p)] if data else load_bundled()
    cv_folds = _default_cv_folds(len(records)) if cv_folds is None else check_cv_folds(cv_folds, len(records))
    names = [str(p) for p in data] if data else ["bundled"]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        return records, train_router(records, seed=seed, cv_folds=cv_folds, progress=progress, datasets=names)


def _default_cv_folds(prompts: int) -> int:
    """Five folds, or none (with a note on stderr) when the data is too small to hold prompts out."""
    if prompts >= MIN_CV_PROMPTS:
        return DEFAULT_CV_FOLDS
    typer.echo(f"note: no cross-validation: {prompts} prompts are too few to hold some out (it needs "
               f"{MIN_CV_PROMPTS} or more); training on all of them", err=True)
    return 0


def _cv_summary(info: dict[str, Any], records: int) -> dict[str, Any]:
    """The few numbers `router list` shows: records and the mean cross-validated AUC / Brier."""
    per_model = ((info.get("cv") or {}).get("per_model") or {}).values()
    out: dict[str, Any] = {"records": records}
    for name in ("auc", "brier"):
        values = [m[name] for m in per_model if isinstance(m, dict) and m.get(name) is not None]
        if values:
            out[f"cv_{name}"] = round(sum(values) / len(values), 4)
    return out


def _announce(store: Any, version: Any, use: bool) -> None:
    console = Console()
    if use:
        before, now = store.use(version.id)
        console.print(f"now in use: {now.id} (was {before.id}); undo with: podium router rollback")
        return
    current = store.in_use()
    console.print(f"still in use: {current.id}; switch with: podium router use {version.id}  "
                  "(undo afterwards with: podium router rollback)")


def _train_from_ledger(ctx: typer.Context, db: str | None, *, gate_weight: float, l2: float, use: bool,
                       verbose: bool) -> None:
    from podium.cli.costs import open_reader
    from podium.routing.feedback_adjust import FeedbackAdjustedRouter, examples_from_ledger
    from podium.routing.learned_router import default_router
    from podium.routing.router_store import RouterStore

    try:
        store = RouterStore()
        base_version = store.in_use()
        if base_version.kind == "feedback" and base_version.base:  # refit from the same base: never stacked
            base_version = store.get(base_version.base)
        base = getattr(default_router(), "base", default_router())
        reader = open_reader(ctx, db)
        try:
            feedback, gates = reader.feedback_rows(), reader.gate_verdicts()
            logged = [r["prompt"] for r in reader.rows(limit=500, newest_first=True) if r.get("prompt")]
        finally:
            reader.close()
        examples = examples_from_ledger(feedback, gates, gate_weight=gate_weight)
        if not examples:
            raise ValidationError(
                "the ledger holds no feedback and no gate verdicts to learn from; rate answers with "
                "`podium feedback ID good|bad` (or POST /v1/feedback) first", field="ledger")
        described = (f"ledger: {len(feedback)} ratings, {len(gates)} gate verdicts (weight {gate_weight:g}), "
                     f"l2 {l2:g}, on {base_version.id}")
        router = FeedbackAdjustedRouter.fit(base, examples, l2=l2, reference_prompts=logged + _reference_prompts(),
                                            info={"trained_on": described})
        base_path = store.path_of(base_version)
        version = store.add("feedback", lambda p: router.save(p, base_path=base_path), suffix=".feedback.json",
                            trained_on=described, metrics={"ratings": len(feedback), "gate_verdicts": len(gates)},
                            base=base_version.id)
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    Console().print(f"fitted offsets on {described} -> version {version.id}")
    _print_offsets(router.offsets)
    _announce(store, version, use)


def _reference_prompts(limit: int = 300) -> list[str]:
    """Prompts that place a rating logged without its prompt: a fixed sample of the bundled data."""
    from podium.routing.datasets import load_bundled

    records = load_bundled()
    step = max(1, len(records) // limit)
    return [r.prompt for r in records[::step]]


def _print_offsets(offsets: dict[str, dict[str, float]]) -> None:
    table = Table("model", "task type", "logit offset", title="learned adjustment (0 = as the base router)")
    for model, cells in sorted(offsets.items()):
        for task, value in sorted(cells.items()):
            table.add_row(model, task, f"{value:+.3f}")
    Console().print(table)


@app.command("list")
def list_versions(
    as_json: Annotated[bool, typer.Option("--json", help="print the versions as JSON")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Router versions: which is in use, what each was trained on, and its metrics."""
    from podium.routing.router_store import RouterStore

    try:
        store = RouterStore()
        versions, current = store.versions(), store.in_use()
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    created = {v.id: _shipped_trained_at() if v.kind == "shipped" else v.created_at for v in versions}
    if as_json:
        typer.echo(json.dumps([{**v.to_dict(), "created_at": created[v.id], "in_use": v.id == current.id}
                               for v in versions], indent=2))  # fmt: skip
        return
    from podium.cli.tables import Column, print_table

    columns = [Column("", key=True), Column("version", key=True), Column("kind"), Column("created"),
               Column("trained on", wrap=True), Column("metrics", wrap=True)]
    rows = [["*" if v.id == current.id else "", v.id, v.kind, created[v.id], v.trained_on,
             ", ".join(f"{k} {val}" for k, val in v.metrics.items())] for v in versions]
    print_table(Console(), "router versions", columns, rows)


def _shipped_trained_at() -> str:
    """When the shipped router was trained (its file records it), not when this home's registry was started."""
    from podium.routing.learned_router import QualityRouter, shipped_router_path

    return str(QualityRouter.load(shipped_router_path()).info().get("created_at", "?"))


@app.command("use")
def use_version(
    version: Annotated[str, typer.Argument(help="a version id from `podium router list`")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Put a router version in use (a running gateway picks it up when restarted)."""
    from podium.routing.router_store import RouterStore

    try:
        before, now = RouterStore().use(version)
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    typer.echo(f"now in use: {now.id} (was {before.id}); undo with: podium router rollback")


@app.command("rollback")
def rollback(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Go back to the router version in use before the current one."""
    from podium.routing.router_store import RouterStore

    try:
        left, now = RouterStore().rollback()
    except PodiumError as exc:
        _fail(exc, verbose)
        return
    typer.echo(f"now in use: {now.id} (rolled back from {left.id})")


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
    adjustment = router.info().get("feedback_adjustment")
    if path is None:
        from podium.routing.router_store import RouterStore

        version = RouterStore().in_use()
        kind = "a feedback adjustment of " + str(version.base) if version.kind == "feedback" else version.kind
        Console().print(f"in use: version {version.id} ({kind}; trained on {version.trained_on})", markup=False)
    if adjustment is not None:
        Console().print("the figures below are the base router's; the learned adjustment at the end moves its "
                        "predictions", markup=False)
    _print_info(router.info())
    if adjustment is not None:
        _print_offsets(adjustment.get("offsets") or {})


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
        f"evals: {_counts(trained.get('evals') or {})}",
        markup=False, highlight=False,
    )
    console.print(
        f"features: {info['features']['hashed_ngrams']} hashed n-grams + {len(info['features']['dense'])} task features"
    )
    cv = info.get("cv")
    if not cv:
        records = trained.get("records")
        if isinstance(records, int) and records < MIN_CV_PROMPTS:
            console.print(f"no cross-validation metrics ({records} prompts are too few to hold some out)")
        else:
            console.print(f"no cross-validation metrics (train with --cv-folds {DEFAULT_CV_FOLDS} to get them)")
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


def _counts(counts: dict[str, Any]) -> str:
    """``mmlu 14,042 · arc-challenge 1,039 · ...``: each benchmark's prompts, largest first."""
    if not counts:
        return "-"
    ordered = sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    return " · ".join(f"{name} {int(n):,}" for name, n in ordered)


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
