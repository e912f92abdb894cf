"""`podium testgen`: the orchestrator plans from an ast outline, an executor writes the tests, local checks validate
them, and one repair by a stronger model follows a failed validation."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, cast

from podium.config.orchestration import OrchestrationConfig
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import NoCandidateError, PodiumError, ValidationError
from podium.core.json_types import JSONObject
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest
from podium.workflows.orchestration import ExecutorChoice, Orchestration, WorkflowSummary
from podium.workflows.testgen.analysis import ModuleAnalysis
from podium.workflows.testgen.prompts import generate_request, plan_request, repair_request
from podium.workflows.testgen.sandbox import DEFAULT_TIMEOUT_S, pytest_missing_hint
from podium.workflows.testgen.validation import ValidationReport, validate

if TYPE_CHECKING:
    from podium.engine import Podium
    from podium.telemetry import Telemetry

WORKFLOW = "testgen"
# (kind, message): kind is orchestrator | executor | validate | done, for the CLI's progress lines.
Progress = Callable[[str, str], None]


def _quiet(kind: str, message: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """How one run behaves. ``escalate_to`` None means the orchestrator repairs a failed attempt."""

    orchestrator: str | None = None
    executor: str | None = None
    escalate_to: str | None = None
    plan: bool = True
    escalate: bool = True
    collect: bool = True
    run_tests: bool = False
    max_cost_usd: Decimal | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    output: Path | None = None  # written only when validation passes
    python: str = sys.executable  # the interpreter pytest validates with


@dataclass(frozen=True, slots=True)
class ValidationAttempt:
    step: str  # generate | repair
    model: str
    report: ValidationReport


@dataclass(frozen=True, slots=True)
class GenerationResult:
    analysis: ModuleAnalysis
    plan: str | None
    executor: ExecutorChoice
    attempts: tuple[ValidationAttempt, ...]
    summary: WorkflowSummary
    output: Path | None = None

    @property
    def report(self) -> ValidationReport:
        return self.attempts[-1].report

    @property
    def passed(self) -> bool:
        return self.report.passed

    @property
    def escalated(self) -> bool:
        return len(self.attempts) > 1

    @property
    def code(self) -> str:
        return self.report.code

    def to_dict(self) -> JSONObject:
        return {
            "file": str(self.analysis.path),
            "module": self.analysis.module,
            "functions_tested": len(self.analysis.targets),
            "complexity": self.analysis.level,
            "analysis": self.analysis.to_dict(),
            "executor": {
                "use_case": self.executor.use_case,
                "model": self.executor.model,
                "strategy": self.executor.strategy,
                "reason": self.executor.reason,
            },
            "plan": self.plan,
            "validation": self.report.to_dict(),
            "escalated": self.escalated,
            "attempts": [
                {"step": a.step, "model": a.model, "passed": a.report.passed, "errors": a.report.errors}
                for a in self.attempts
            ],
            "test_code_chars": len(self.code),
            "written": None if self.output is None else str(self.output),
            **self.summary.to_dict(),
        }


@dataclass(slots=True)
class _Context:
    run: Orchestration
    analysis: ModuleAnalysis
    options: GenerationOptions
    progress: Progress
    filename: str
    attempts: list[ValidationAttempt] = field(default_factory=list)


async def generate_tests(
    client: Podium,
    analysis: ModuleAnalysis,
    config: OrchestrationConfig,
    *,
    options: GenerationOptions | None = None,
    telemetry: Telemetry | None = None,
    env: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
    workflow_id: str | None = None,
    progress: Progress = _quiet,
) -> GenerationResult:
    """Run the whole workflow for one analysed module; writes ``options.output`` when the tests pass validation."""
    opts = options or GenerationOptions()
    if opts.collect:
        hint = await asyncio.to_thread(pytest_missing_hint, opts.python)
        if hint is not None:
            raise ValidationError(hint, field="pytest", value=opts.python)
    run = Orchestration(
        client,
        config,
        name=WORKFLOW,
        orchestrator=opts.orchestrator,
        telemetry=telemetry,
        env=env,
        clock=clock,
        workflow_id=workflow_id,
        max_cost_usd=opts.max_cost_usd,
    )
    filename = opts.output.name if opts.output else f"{analysis.path.stem}_test.py"
    ctx = _Context(run, analysis, opts, progress, filename)
    level = analysis.level
    with run.span(file=str(analysis.path), complexity=level, functions=len(analysis.targets)):
        run.begin_task(level)
        progress(
            "orchestrator",
            f"Analysis complete: {len(analysis.targets)} functions, complexity={level}",
        )
        # Resolve every model named on the command line before anything is spent.
        choice = run.choose_executor(level, model=opts.executor)
        if opts.escalate_to is not None:
            client.catalog.resolve(opts.escalate_to)
        plan = await _plan(ctx) if opts.plan else None
        await _generate(ctx, choice, plan)
        if not ctx.attempts[-1].report.passed and opts.escalate:
            await _repair(ctx, plan)
        summary = run.finish(level)
    written = None
    if ctx.attempts[-1].report.passed and opts.output is not None:
        opts.output.write_text(ctx.attempts[-1].report.code, encoding="utf-8")
        written = opts.output
    return GenerationResult(analysis, plan, choice, tuple(ctx.attempts), summary, written)


async def _plan(ctx: _Context) -> str:
    ctx.progress("orchestrator", f"Planning tests with {ctx.run.orchestrator_model}...")
    completion = await ctx.run.ask_orchestrator(plan_request(ctx.analysis), step="plan")
    return completion.text.strip()


async def _generate(ctx: _Context, choice: ExecutorChoice, plan: str | None) -> None:
    who = choice.model or f"the model strategy {choice.strategy} picks"
    ctx.progress("executor", f"Generating tests with {who} ({choice.reason})...")
    try:
        delegation = await ctx.run.delegate(generate_request(ctx.analysis, plan), choice=choice, step="generate")
    except NoCandidateError as exc:
        if not exc.fields.get("unreachable"):
            raise
        raise NoCandidateError(
            f"no model can be reached to write the tests ({choice.reason}, and no provider key is set): set one "
            "such as OPENAI_API_KEY or ANTHROPIC_API_KEY (or in a .env file), or pass --executor with a local "
            "server's model such as ollama:llama3.2",
            unreachable=True,
        ) from exc
    r = delegation.record
    ctx.progress("executor", f"Tests generated by {r.model}: {len(delegation.text)} chars, cost=${r.cost_usd:.4f}")
    report = await _validate(ctx, delegation.text)
    ctx.run.settle(delegation, passed=report.passed)
    ctx.attempts.append(ValidationAttempt("generate", r.model, report))


async def _repair(ctx: _Context, plan: str | None) -> None:
    """One escalation: to ``escalate_to`` as a delegation, or to the orchestrator itself."""
    previous = ctx.attempts[-1].report
    request = repair_request(ctx.analysis, plan, previous.code, previous.errors)
    target = ctx.options.escalate_to
    orchestrator = target is None or ctx.run.client.catalog.resolve(target) == ctx.run.orchestrator_model
    ctx.progress("orchestrator", f"Validation failed; escalating to {target or ctx.run.orchestrator_model}...")
    if orchestrator:
        completion = await ctx.run.ask_orchestrator(request, step="repair")
        text, model = completion.text, ctx.run.steps[-1].model
        report = await _validate(ctx, text)
        ctx.run.record_validation(report.passed)
    else:
        delegation = await ctx.run.delegate(request, ctx.analysis.level, model=target, step="repair")
        text, model = delegation.text, delegation.record.model
        report = await _validate(ctx, text)
        ctx.run.settle(delegation, passed=report.passed)
    ctx.attempts.append(ValidationAttempt("repair", model, report))


async def _validate(ctx: _Context, reply: str) -> ValidationReport:
    ctx.progress("validate", "Validating generated tests...")
    opts = ctx.options
    report = await asyncio.to_thread(
        validate,
        reply,
        ctx.analysis,
        filename=ctx.filename,
        collect=opts.collect,
        run=opts.run_tests,
        timeout_s=opts.timeout_s,
        python=opts.python,
    )
    failed = "" if report.passed else " — " + "; ".join(report.errors)
    ctx.progress("validate", f"Validation: {report.passed_count}/{len(report.checks)} checks passed{failed}")
    return report


# -- dry run ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedCall:
    step: str
    model: str | None  # None when a strategy decides at run time and could not say in advance
    prompt_tokens: int
    max_output_tokens: int
    worst_case_usd: Decimal | None


async def dry_run(
    client: Podium,
    analysis: ModuleAnalysis,
    config: OrchestrationConfig,
    *,
    options: GenerationOptions | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[ExecutorChoice, list[PlannedCall]]:
    """The calls a run would make and their worst-case costs, without calling any model."""
    opts = options or GenerationOptions()
    run = Orchestration(client, config, name=WORKFLOW, orchestrator=opts.orchestrator, env=env)
    choice = run.choose_executor(analysis.level, model=opts.executor)
    calls: list[PlannedCall] = []
    if opts.plan:
        calls.append(_planned(client, "plan", run.orchestrator_model, plan_request(analysis)))
    generate = generate_request(analysis, "x" * 600 if opts.plan else None)  # room for a plan of typical length
    model = choice.model or await _strategy_pick(client, generate, choice)
    calls.append(_planned(client, "generate", model, generate))
    return choice, calls


def _planned(client: Podium, step: str, model: str | None, request: ChatRequest) -> PlannedCall:
    tokens = estimate_request_tokens(request)
    out = request.max_tokens or 0
    worst = client.catalog.get(model).worst_case_cost(tokens, out) if model else None
    return PlannedCall(step, model, tokens, out, worst)


async def _strategy_pick(client: Podium, request: ChatRequest, choice: ExecutorChoice) -> str | None:
    try:
        # choose_executor sets a strategy whenever it sets no model, the only case this is called in
        decision = await client.explain(request, strategy=cast(str, choice.strategy))
    except PodiumError:
        return None  # no reachable model yet: the run itself will say which key is missing
    return decision.chosen[0] if decision.chosen else None
