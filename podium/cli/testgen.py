"""`podium testgen FILE`: generate pytest tests for a Python file with an orchestrator and a cheap executor."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from podium.cli.ask import parse_max_cost
from podium.cli.context import cli_env, default_orchestrator, load_cli_config
from podium.core.errors import ValidationError
from podium.core.money import fmt_usd

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.workflows import ExecutorChoice, WorkflowSummary
    from podium.workflows.testgen import GenerationOptions, GenerationResult, ModuleAnalysis, PlannedCall

_RULE = "=" * 80
_ICONS = {"orchestrator": "🧠 [Orchestrator]", "executor": "🤖 [Executor]", "validate": "🔍 [Orchestrator]"}


def testgen(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="The Python file to write tests for.", dir_okay=False)] = None,
    file_option: Annotated[
        Path | None, typer.Option("--file", help="The same as FILE (the name the original test generator used).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write the tests (default: <name>_test.py beside FILE).")
    ] = None,
    orchestrator: Annotated[
        str | None, typer.Option("--orchestrator", help="Planning/repair model (default: orchestration.orchestrator).")
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor",
            help="Model that writes the tests (default: the executor configured for the "
            "file's complexity in orchestration.executors).",
        ),
    ] = None,
    escalate_to: Annotated[
        str | None,
        typer.Option("--escalate-to", help="Model that repairs a failed attempt (default: the orchestrator)."),
    ] = None,
    max_cost: Annotated[
        str | None,
        typer.Option("--max-cost", help="Most the whole run may spend (USD); calls that could pass it are refused."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object with the results and costs.")] = False,
    dry_run_flag: Annotated[
        bool, typer.Option("--dry-run", help="Analyse and show the calls and worst-case costs; call no model.")
    ] = False,
    run_tests: Annotated[
        bool,
        typer.Option(
            "--run",
            help="Also run the generated tests (in a child process with a timeout). Off by default: "
            "generated code is untrusted.",
        ),
    ] = False,
    no_plan: Annotated[bool, typer.Option("--no-plan", help="Skip the orchestrator's test plan.")] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite the output file if it exists.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds pytest may take to collect (and run) the tests.")
    ] = 60.0,
) -> None:
    """Generate unit tests: the orchestrator plans, a cheap executor writes, Podium validates (and repairs once)."""
    from podium.workflows.testgen import GenerationOptions

    cap = parse_max_cost(max_cost)
    analysis, output = _target(_source(file, file_option), out, overwrite=force or dry_run_flag)
    loaded = load_cli_config(ctx)
    options = GenerationOptions(
        orchestrator=orchestrator or default_orchestrator(loaded, flag="--orchestrator", quiet=as_json),
        executor=executor,
        escalate_to=escalate_to,
        plan=not no_plan,
        run_tests=run_tests,
        max_cost_usd=cap,
        timeout_s=timeout,
        output=output,
    )
    config = loaded.config
    if dry_run_flag:
        choice, calls = asyncio.run(_dry_run(config, analysis, options))
        _print_dry_run(analysis, choice, calls, as_json)
        return
    _report(asyncio.run(_run(config, analysis, options, quiet=as_json)), as_json)


def _source(file: Path | None, option: Path | None) -> Path:
    if file is not None and option is not None and file != option:
        raise ValidationError(
            f"two files given ({file} and --file {option}); give one Python file", field="file", value=str(option)
        )
    chosen = file or option
    if chosen is None:
        raise ValidationError(
            "no file given: name the Python file to write tests for, e.g. `podium testgen src/mymodule.py`",
            field="file",
            value=None,
        )
    return chosen


def _target(file: Path, out: Path | None, *, overwrite: bool) -> tuple[Any, Path]:
    """The analysed source and where its tests go; refuses to replace an existing file unless told to."""
    from podium.workflows.testgen import analyze_file, default_test_path

    analysis = analyze_file(file)
    output = (out or default_test_path(file)).resolve()
    if output.exists() and not overwrite:
        raise ValidationError(
            f"{output} already exists; pass --force to overwrite it or --out to write elsewhere",
            field="out",
            value=str(output),
        )
    return analysis, output


def _report(result: GenerationResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        _print_summary(result)
    if not result.passed:
        typer.echo(f"error: the generated tests failed validation: {'; '.join(result.report.errors)}", err=True)
        raise typer.Exit(1)


async def _run(
    config: PodiumConfig, analysis: ModuleAnalysis, options: GenerationOptions, *, quiet: bool
) -> GenerationResult:
    from podium.engine import Podium
    from podium.telemetry import Telemetry
    from podium.workflows.testgen import generate_tests

    env = cli_env()
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if not quiet:
        console.print(f"{_ICONS['orchestrator']} Analyzing code: {analysis.path}", markup=False)
    # The client serves /metrics while it runs and writes telemetry.exporters when it closes; we own the shutdown.
    with Telemetry(config.telemetry) as telemetry:
        async with Podium.from_config(config, env=env, telemetry=telemetry) as client:
            with _progress(console, quiet) as progress:
                return await generate_tests(
                    client,
                    analysis,
                    config.orchestration,
                    options=options,
                    telemetry=telemetry,
                    env=env,
                    progress=progress,
                )


@contextmanager
def _progress(console: Console, quiet: bool) -> Iterator[Any]:
    """Orchestrator/executor progress lines on stderr, with a spinner while a model or pytest works."""
    with console.status("Working...") as status:

        def show(kind: str, message: str) -> None:
            if not quiet:
                console.print(f"{_ICONS.get(kind, '•')} {message}", markup=False)
            status.update(message)

        yield show


async def _dry_run(
    config: PodiumConfig, analysis: ModuleAnalysis, options: GenerationOptions
) -> tuple[ExecutorChoice, list[PlannedCall]]:
    from podium.engine import Podium
    from podium.workflows.testgen import dry_run

    env = cli_env()
    async with Podium.from_config(config, env=env, layers=False) as client:
        return await dry_run(client, analysis, config.orchestration, options=options, env=env)


def _print_dry_run(
    analysis: ModuleAnalysis, choice: ExecutorChoice, calls: list[PlannedCall], as_json: bool
) -> None:
    worst = [c.worst_case_usd for c in calls]
    total = None if any(w is None for w in worst) else sum((w for w in worst if w is not None), Decimal(0))
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "dry_run": True,
                    "analysis": analysis.to_dict(),
                    "executor": {
                        "use_case": choice.use_case,
                        "model": choice.model,
                        "strategy": choice.strategy,
                        "reason": choice.reason,
                    },
                    "calls": [
                        {
                            "step": c.step,
                            "model": c.model,
                            "prompt_tokens": c.prompt_tokens,
                            "max_output_tokens": c.max_output_tokens,
                            "worst_case_usd": None if c.worst_case_usd is None else str(c.worst_case_usd),
                        }
                        for c in calls
                    ],
                    "worst_case_usd": None if total is None else str(total),
                }
            )
        )
        return
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"File: {analysis.path} (module {analysis.module})", markup=False)
    console.print(f"Functions to test: {len(analysis.targets)}, complexity={analysis.level}", markup=False)
    who = choice.model or f"chosen at run time by strategy {choice.strategy}"
    console.print(f"Executor: {who} ({choice.reason})", markup=False)
    for c in calls:
        console.print(
            f"  {c.step:<9} {c.model or '(chosen at run time)'}: ~{c.prompt_tokens} tokens in, up to "
            f"{c.max_output_tokens} out, at most {fmt_usd(c.worst_case_usd)}",
            markup=False,
        )
    console.print(f"Worst case (no repair): {fmt_usd(total)}. Nothing was sent.", markup=False)


def _print_summary(result: GenerationResult) -> None:
    s, report = result.summary, result.report
    console = Console(highlight=False, soft_wrap=True)
    executors = ", ".join(s.executor_models) or "none"
    verdict = "✅ Passed" if report.passed else "❌ Failed"
    lines = [
        _RULE,
        "📊 WORKFLOW RESULTS",
        _RULE,
        f"File: {result.analysis.path}",
        f"Functions tested: {len(result.analysis.targets)} (complexity={result.analysis.level})",
        f"Test code length: {len(result.code)} chars, {report.test_count} tests",
        f"Validation: {verdict} ({report.passed_count}/{len(report.checks)} checks)"
        + (f", after repair by {result.attempts[-1].model}" if result.escalated else ""),
        *[f"  {'✓' if c.passed else '✗'} {c.name}{': ' + c.detail if c.detail else ''}" for c in report.checks],
        f"Duration: {s.duration_ms:.0f}ms",
        "",
        "💰 COST ANALYSIS",
        f"Orchestrator ({s.orchestrator_model}): {fmt_usd(s.orchestrator_cost_usd)} ({s.orchestrator_tokens} tokens)",
        f"Executor ({executors}): {fmt_usd(s.executor_cost_usd)} ({s.executor_tokens} tokens)",
        f"Total: {fmt_usd(s.total_cost_usd)}",
        f"vs. All-orchestrator ({s.orchestrator_model}): {fmt_usd(s.baseline_cost_usd)}",
        f"Cost Savings: {_percent(s)}",
        _RULE,
    ]
    if result.output is not None:
        lines += ["", f"✅ Tests written to: {result.output}"]
    for line in lines:
        console.print(line, markup=False)


def _percent(summary: WorkflowSummary) -> str:
    if summary.baseline_cost_usd is None:
        return "n/a (the orchestrator model has no price)"
    pct = summary.savings_percent
    if pct is None:
        return "n/a (nothing was spent)"
    return f"{pct:.0f}%" if pct >= 0 else f"none: {-pct:.0f}% more than the orchestrator alone"


def register(root_app: typer.Typer) -> None:
    root_app.command("testgen")(testgen)
