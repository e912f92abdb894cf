"""The orchestrator -> executor core every workflow shares (plan with a strong model, delegate to cheap ones).

An ``Orchestration`` is one workflow run. The expensive orchestrator model plans and repairs (``ask_orchestrator``);
bulk work goes to a cheap executor chosen by use case from ``orchestration.executors`` (``delegate``), or by a
routing strategy when no configured executor can take it. Every call goes through the engine with
``CallMeta(project=<workflow id>, task_type=..., strategy=...)``, so ledger rows group by run; the run keeps each
call's tokens and cost, records the ``orchestration_*`` workflow metrics, and prices the same tokens on the
orchestrator model as the all-orchestrator baseline the savings are measured against.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from podium.config.orchestration import OrchestrationConfig, check_use_case
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import BudgetExceededError
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion, Usage
from podium.telemetry import WorkflowMetrics, workflow_span
from podium.telemetry.tracing import TRACER_NAME

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from podium.engine import Podium
    from podium.telemetry import Telemetry

ORCHESTRATOR = "orchestrator"
EXECUTOR = "executor"
DEFAULT_FALLBACK_STRATEGY = "cheapest"
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ExecutorChoice:
    """Who gets a delegated task: a fixed ``model``, or ``strategy`` when a router picks. ``reason`` says why."""

    use_case: str
    model: str | None
    strategy: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One model call of a run, as the ledger saw it (summed over a strategy's attempts)."""

    role: str  # orchestrator | executor
    step: str  # what the call was for: plan, generate, repair, ...
    model: str
    strategy: str
    usage: Usage
    cost_usd: Decimal
    priced: bool
    baseline_cost_usd: Decimal | None
    latency_ms: float

    def to_dict(self) -> JSONObject:
        return {
            "role": self.role,
            "step": self.step,
            "model": self.model,
            "strategy": self.strategy,
            "usage": self.usage.to_dict(),
            "cost_usd": str(self.cost_usd),
            "latency_ms": round(self.latency_ms, 3),
        }


@dataclass(slots=True)
class Delegation:
    """A delegated task's answer. Its metrics are recorded when it is settled (validated) or the run ends."""

    completion: Completion
    choice: ExecutorChoice
    record: StepRecord
    settled: bool = False

    @property
    def text(self) -> str:
        return self.completion.text


@dataclass(frozen=True, slots=True)
class WorkflowSummary:
    """Costs and tokens of one run by role, against the all-orchestrator baseline."""

    workflow_id: str
    name: str
    orchestrator_model: str
    duration_ms: float
    steps: tuple[StepRecord, ...]
    complexity: str | None = None
    failed: bool = False

    def _sum(self, role: str | None) -> Decimal:
        return sum((s.cost_usd for s in self.steps if role in (None, s.role)), ZERO)

    def _tokens(self, role: str) -> int:
        return sum(s.usage.total_tokens for s in self.steps if s.role == role)

    @property
    def orchestrator_cost_usd(self) -> Decimal:
        return self._sum(ORCHESTRATOR)

    @property
    def executor_cost_usd(self) -> Decimal:
        return self._sum(EXECUTOR)

    @property
    def total_cost_usd(self) -> Decimal:
        return self._sum(None)

    @property
    def orchestrator_tokens(self) -> int:
        return self._tokens(ORCHESTRATOR)

    @property
    def executor_tokens(self) -> int:
        return self._tokens(EXECUTOR)

    @property
    def executor_models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.model for s in self.steps if s.role == EXECUTOR))

    @property
    def baseline_cost_usd(self) -> Decimal | None:
        """What every call's tokens would have cost on the orchestrator model; None when it has no price."""
        costs = [s.baseline_cost_usd for s in self.steps]
        return None if any(c is None for c in costs) else sum((c for c in costs if c is not None), ZERO)

    @property
    def savings_usd(self) -> Decimal | None:
        base = self.baseline_cost_usd
        return None if base is None else base - self.total_cost_usd

    @property
    def savings_percent(self) -> Decimal | None:
        base = self.baseline_cost_usd
        return None if base is None or base <= 0 else (base - self.total_cost_usd) / base * HUNDRED

    def to_dict(self) -> JSONObject:
        def text(v: Decimal | None) -> str | None:
            return None if v is None else str(v)

        pct = self.savings_percent
        return {
            "workflow_id": self.workflow_id,
            "workflow": self.name,
            "duration_ms": round(self.duration_ms, 3),
            "orchestrator_model": self.orchestrator_model,
            "executor_models": list(self.executor_models),
            "orchestrator_tokens": self.orchestrator_tokens,
            "executor_tokens": self.executor_tokens,
            "orchestrator_cost_usd": str(self.orchestrator_cost_usd),
            "executor_cost_usd": str(self.executor_cost_usd),
            "total_cost_usd": str(self.total_cost_usd),
            "baseline_cost_usd": text(self.baseline_cost_usd),
            "savings_usd": text(self.savings_usd),
            "savings_percent": None if pct is None else round(float(pct), 2),
            "calls": [s.to_dict() for s in self.steps],
        }


@dataclass(slots=True)
class _RunState:
    steps: list[StepRecord] = field(default_factory=list)
    pending: list[Delegation] = field(default_factory=list)
    summary: WorkflowSummary | None = None
    task: str | None = None  # the complexity of the task begun (and counted) with ``begin_task``


class Orchestration:
    """One orchestrated workflow run over a Podium client. Use as a context manager so the run is always recorded."""

    def __init__(
        self,
        client: Podium,
        config: OrchestrationConfig,
        *,
        name: str,
        task_type: str | None = None,
        orchestrator: str | None = None,
        telemetry: Telemetry | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        workflow_id: str | None = None,
        fallback_strategy: str = DEFAULT_FALLBACK_STRATEGY,
        max_cost_usd: Decimal | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.name = name
        self.task_type = task_type or name
        self.workflow_id = workflow_id or f"{name}-{uuid.uuid4().hex[:12]}"
        self.orchestrator_model = client.catalog.resolve(orchestrator or config.orchestrator.model)
        self.fallback_strategy = fallback_strategy
        self.max_cost_usd = max_cost_usd
        self.metrics: WorkflowMetrics | None = getattr(telemetry, "workflows", None)
        provider = getattr(telemetry, "tracer_provider", None)
        self._tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
        self._env = os.environ if env is None else env
        self._clock = clock
        self._started = clock.monotonic()
        self._state = _RunState()

    # -- choosing ---------------------------------------------------------------------------------------------------

    def choose_executor(self, use_case: str, *, model: str | None = None) -> ExecutorChoice:
        """``model`` when given; else the configured executor for ``use_case`` whose key is set; else the strategy."""
        check_use_case(use_case)
        if model is not None:
            return ExecutorChoice(use_case, self.client.catalog.resolve(model), None, "chosen with --executor")
        if not self.config.enabled:
            return ExecutorChoice(use_case, self.orchestrator_model, None, "orchestration is disabled")
        skipped: list[str] = []
        first = self.config.get_executor_for_use_case(use_case)
        listed = [first] if first is not None else []
        listed += [e for e in self.config.executors if use_case in e.use_cases and e is not first]
        for executor in listed:
            if self.config.get_api_key(executor.api_key_env, self._env):
                return ExecutorChoice(use_case, executor.model_id, None, f"configured executor for {use_case} tasks")
            skipped.append(f"the configured executor {executor.model_id} needs {executor.api_key_env}, which is not set")
        why = "; ".join(skipped) if skipped else f"no executor is configured for {use_case} tasks"
        return ExecutorChoice(use_case, None, self.fallback_strategy, why)

    # -- calling ----------------------------------------------------------------------------------------------------

    async def ask_orchestrator(self, request: ChatRequest | str, *, step: str) -> Completion:
        """A call to the orchestrator model (planning, reviewing, repairing)."""
        completion = await self.client.complete(
            request, model=self.orchestrator_model, meta=self._meta("orchestrate", step)
        )
        record = self._record(ORCHESTRATOR, step, completion.model, "orchestrate", [completion], completion.latency_ms)
        if self.metrics is not None:
            self.metrics.record_orchestrator(record.usage.total_tokens, record.cost_usd)
        return completion

    async def delegate(
        self,
        task: ChatRequest | str,
        use_case: str | None = None,
        *,
        model: str | None = None,
        choice: ExecutorChoice | None = None,
        step: str = "execute",
    ) -> Delegation:
        """Hand ``task`` to an executor: ``choice`` if made already, else ``choose_executor(use_case, model=)``.

        ``use_case`` defaults to the difficulty task analysis finds in the prompt.
        """
        request = ChatRequest.from_prompt(task) if isinstance(task, str) else task
        if choice is None:
            choice = self.choose_executor(use_case or _analysed_use_case(request), model=model)
        try:
            if choice.model is not None:
                meta = self._meta("delegate", step, choice.use_case)
                completion = await self.client.complete(request, model=choice.model, meta=meta)
                paid, strategy = [completion], "delegate"
            else:
                assert choice.strategy is not None
                routed = await self.client.route(
                    request, strategy=choice.strategy, meta=self._meta(choice.strategy, step, choice.use_case)
                )
                completion, paid, strategy = routed.completion, list(routed.attempts), choice.strategy
        except BaseException:
            if self.metrics is not None:
                self.metrics.record_delegation(choice.model or choice.strategy or "?", success=False)
            raise
        record = self._record(EXECUTOR, step, completion.model, strategy, paid, completion.latency_ms)
        if self.metrics is not None:  # counted now, so a scrape mid-run sees it; the outcome once it is checked
            self.metrics.record_delegation(
                record.model, success=None, tokens=record.usage.total_tokens, cost_usd=record.cost_usd
            )
        delegation = Delegation(completion, choice, record)
        self._state.pending.append(delegation)
        return delegation

    def begin_task(self, complexity: str) -> None:
        """Count the run's task (by complexity) when work on it starts, not when the run ends."""
        if self._state.task is None:
            self._state.task = complexity
            if self.metrics is not None:
                self.metrics.record_task(complexity)

    def settle(self, delegation: Delegation, *, passed: bool) -> None:
        """Record a delegation's outcome once its output was checked: it counts as a success only if it passed."""
        if delegation.settled:
            return
        delegation.settled = True
        if self.metrics is not None:
            self.metrics.record_delegation_outcome(delegation.record.model, success=passed)
        self.record_validation(passed)

    def record_validation(self, passed: bool) -> None:
        if self.metrics is not None:
            self.metrics.record_validation(passed)

    # -- totals -----------------------------------------------------------------------------------------------------

    @property
    def spent_usd(self) -> Decimal:
        return sum((s.cost_usd for s in self._state.steps), ZERO)

    @property
    def steps(self) -> tuple[StepRecord, ...]:
        return tuple(self._state.steps)

    def finish(self, complexity: str | None = None, *, failed: bool = False) -> WorkflowSummary:
        """End the run once: settle unchecked delegations, record the workflow and its baseline; return the summary."""
        if self._state.summary is not None:
            return self._state.summary
        for d in self._state.pending:
            if not d.settled and self.metrics is not None:
                d.settled = True
                self.metrics.record_delegation_outcome(d.record.model, success=not failed)
        duration_ms = (self._clock.monotonic() - self._started) * 1000.0
        summary = WorkflowSummary(
            self.workflow_id, self.name, self.orchestrator_model, duration_ms, self.steps, complexity, failed
        )
        if self.metrics is not None:
            counted = complexity if self._state.task is None else None  # a task begun is counted already
            self.metrics.record_workflow(duration_ms, counted, baseline_cost_usd=summary.baseline_cost_usd)
        self._state.summary = summary
        return summary

    @contextmanager
    def span(self, **attributes: Any) -> Iterator[Span]:
        """The workflow's trace span; a run left by an exception is still recorded (as failed)."""
        with workflow_span(self.name, self._tracer, workflow_id=self.workflow_id, **attributes) as span:
            try:
                yield span
            except BaseException:
                self.finish(attributes.get("complexity"), failed=True)
                raise

    # -- internals --------------------------------------------------------------------------------------------------

    def _meta(self, strategy: str, step: str, complexity: str | None = None) -> CallMeta:
        cap = None
        if self.max_cost_usd is not None:
            cap = self.max_cost_usd - self.spent_usd
            if cap <= 0:
                raise BudgetExceededError(
                    scope="--max-cost", limit=self.max_cost_usd, spent=self.spent_usd, reserved=ZERO, requested=ZERO
                )
        return CallMeta(
            project=self.workflow_id,
            strategy=strategy,
            task_type=self.task_type,
            complexity=complexity,
            max_cost_usd=cap,
            tags={"workflow": self.name, "step": step},
        )

    def _record(
        self, role: str, step: str, model: str, strategy: str, paid: list[Completion], latency_ms: float
    ) -> StepRecord:
        usage = sum((c.usage for c in paid), Usage())
        costs = [c.cost_usd for c in paid]
        baseline_spec = self.client.catalog.get(self.orchestrator_model)
        record = StepRecord(
            role=role,
            step=step,
            model=model,
            strategy=strategy,
            usage=usage,
            cost_usd=sum((c for c in costs if c is not None), ZERO),
            priced=all(c is not None for c in costs),
            baseline_cost_usd=baseline_spec.cost(usage),
            latency_ms=latency_ms,
        )
        self._state.steps.append(record)
        return record


def _analysed_use_case(request: ChatRequest) -> str:
    from podium.routing.task_analysis import analyze

    return analyze(request.last_user_text).difficulty
