"""`podium problems`: generate practice problems on a cheap tier and grade answers with a judge model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from podium.cli.context import cli_env, load_cli_config
from podium.core.money import fmt_usd

app = typer.Typer(
    help="Generate problems (with variations) and grade answers against a rubric, routed by the task table.",
    no_args_is_help=True,
)

EXIT_INCOMPLETE = 1
BudgetOpt = Annotated[str, typer.Option("--budget", help="Hard spending limit for the run in USD.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the results here as JSONL (default: stdout).")
]
IdOpt = Annotated[str | None, typer.Option("--id", help="Run id (an existing id is resumed).")]
LogOpt = Annotated[
    bool, typer.Option("--log-prompts", help="Keep every prompt and answer in the run record and the ledger.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the whole run as one JSON object.")]


@app.command("generate")
def generate(
    ctx: typer.Context,
    topic: Annotated[str, typer.Option("--topic", "-t", help="What the problems are about.")],
    count: Annotated[int, typer.Option("--count", "-n", help="How many problems.")] = 5,
    variations: Annotated[int, typer.Option("--variations", "-k", help="Variations of each problem.")] = 0,
    difficulty: Annotated[str, typer.Option("--difficulty", help="easy, moderate or hard.")] = "moderate",
    budget: BudgetOpt = "1.0",
    output: OutputOpt = None,
    run_id: IdOpt = None,
    log_prompts: LogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Generate problems with variations; repeats are dropped. `podium problems generate -t "DP" -n 5 -k 2`"""
    from podium.workflows.problems import ProblemGenerator
    from podium.workflows.problems.generate import check_request
    from podium.workflows.session import positive_usd

    check_request(topic, count, variations, difficulty)
    amount = positive_usd(budget, "--budget")
    gen = ProblemGenerator(_config(ctx), env=cli_env(), log_prompts=log_prompts)
    try:
        out = asyncio.run(
            gen.generate(
                topic, count=count, variations=variations, difficulty=difficulty, max_usd=amount, run_id=run_id
            )
        )
    finally:
        gen.close()
    _report(out, out.items, output, as_json)


@app.command("grade")
def grade(
    ctx: typer.Context,
    answers: Annotated[Path, typer.Argument(help='JSONL: one {"question", "answer", "id"?, "reference"?} a line.')],
    rubric: Annotated[str, typer.Option("--rubric", "-r", help="How to judge the answers (text, or a file).")],
    budget: BudgetOpt = "1.0",
    output: OutputOpt = None,
    run_id: IdOpt = None,
    log_prompts: LogOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Score each answer from 0 to 1 against the rubric with a judge model. `podium problems grade a.jsonl -r "..."`"""
    from podium.workflows.problems import AnswerGrader, read_answers
    from podium.workflows.session import positive_usd

    items = read_answers(answers)
    amount = positive_usd(budget, "--budget")
    rubric_path = Path(rubric).expanduser()
    text = rubric_path.read_text() if len(rubric) < 4096 and rubric_path.is_file() else rubric
    grader = AnswerGrader(_config(ctx), env=cli_env(), log_prompts=log_prompts)
    try:
        out = asyncio.run(grader.grade(items, rubric=text, max_usd=amount, run_id=run_id))
    finally:
        grader.close()
    _report(out, out.rows, output, as_json)


@app.command("resume")
def resume(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="The run id (see `podium problems list`).")],
    budget: Annotated[str | None, typer.Option("--budget", help="Raise the run's budget to this many USD.")] = None,
    output: OutputOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Continue a generation or grading run stopped by its budget; finished items are kept."""
    from podium.workflows.problems import AnswerGrader, ProblemGenerator
    from podium.workflows.problems.generate import WORKFLOW as GENERATE
    from podium.workflows.session import WorkflowSession, positive_usd

    amount = positive_usd(budget, "--budget") if budget is not None else None
    session = WorkflowSession(_config(ctx), env=cli_env())
    try:
        record = session.store.load(run_id)
        if record.workflow == GENERATE:
            out: Any = asyncio.run(ProblemGenerator(session=session).resume(run_id, max_usd=amount))
            rows = out.items
        else:
            out = asyncio.run(AnswerGrader(session=session).resume(run_id, max_usd=amount))
            rows = out.rows
    finally:
        session.close()
    _report(out, rows, output, as_json)


@app.command("list")
def list_runs(as_json: JsonOpt = False) -> None:
    """Generation and grading runs, newest first."""
    from podium.catalog.store import podium_home
    from podium.workflows.records import RunStore

    with RunStore.in_home(podium_home(cli_env())) as store:
        rows = [r for r in store.summaries() if str(r["workflow"]).startswith("problems-")]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(
            f"{r['id']}  {r['workflow']}  {r['status']}  {r['steps']} steps  "
            f"{fmt_usd(_dec(r['spent_usd']), 4)}  {r['title']}"
        )


def _dec(value: str) -> Any:
    from decimal import Decimal

    return Decimal(value)


def _config(ctx: typer.Context) -> Any:
    return load_cli_config(ctx).config


def _report(out: Any, rows: list[dict[str, Any]], output: Path | None, as_json: bool) -> None:
    """Rows as JSONL (to ``output`` or stdout), or the whole run as JSON; a summary line on stderr."""
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if as_json:
        typer.echo(json.dumps(out.to_dict()))
    elif output is None:
        for r in rows:
            typer.echo(json.dumps(r))
    extra = f", mean score {out.mean_score}" if getattr(out, "mean_score", None) is not None else ""
    dropped = getattr(out, "duplicates", 0)
    extra += f", {dropped} repeat(s) dropped" if dropped else ""
    where = f" -> {output}" if output is not None else ""
    typer.echo(
        f"{out.run_id}: {out.status}, {len(rows)} item(s){extra}, cost {fmt_usd(out.cost_usd, 6)}{where}", err=True
    )
    if out.status != "completed":
        reason = f" ({out.run.stop_reason})" if out.run.stop_reason else ""
        more = " --budget <more USD>" if (out.run.stop_reason or "").startswith("budget") else ""
        typer.echo(
            f"run {out.run_id} is {out.status}{reason}; continue with `podium problems resume {out.run_id}{more}`",
            err=True,
        )
        raise typer.Exit(EXIT_INCOMPLETE)
