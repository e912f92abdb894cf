"""Runs one project: plan (once), forecast, then tasks in dependency order with a checkpoint after each.

Independent tasks run concurrently up to ``max_concurrency``. The runner stops starting tasks when the budget or
the time limit is reached (the ledger refuses a call that could pass the budget), lets running tasks finish,
and leaves the project ``paused``: ``resume`` continues with the tasks not yet done.

Each answer is validated: the static checks, then the success criteria's checks run on the files it delivers
(podium.workflows.project.verify). A failed validation is retried with the problems quoted, escalated to a model
predicted to do better (podium.workflows.project.escalation); a task that still fails is ``failed``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import BudgetExceededError, NoCandidateError, PodiumError
from podium.core.events import Event, EventSink, EventType, discard
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.routed import RoutedResult
from podium.core.types import ChatRequest
from podium.routing.task_analysis import analyze
from podium.telemetry import WorkflowMetrics, workflow_span
from podium.workflows.project import graph
from podium.workflows.project.budget import ProjectSpend, forecast_tasks
from podium.workflows.project.checks import CheckResult, check_output
from podium.workflows.project.decompose import UnusablePlanError, decompose
from podium.workflows.project.deliverables import answer_files
from podium.workflows.project.escalation import stronger_candidates
from podium.workflows.project.outputs import write_task_output
from podium.workflows.project.review import review_task, wants_review
from podium.workflows.project.settings import WORKFLOW, ForecastHook, RunSettings
from podium.workflows.project.state import (
    BLOCKED,
    COMPLETED,
    COMPLETED_UNVERIFIED,
    DONE,
    FAILED,
    PAUSED,
    PENDING,
    RUNNING,
    STARTED,
    TASK_FAILED,
    ProjectState,
    TaskResult,
    TaskState,
    unverified_reason,
)
from podium.workflows.project.store import ProjectStore
from podium.workflows.project.task_prompt import task_request, with_feedback
from podium.workflows.project.tasks import plan_from_items
from podium.workflows.project.verify import check_inputs, run_checks

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from podium.engine import Podium


class ProjectRunner:
    """Drives one project's state to completed, failed or paused; every change is checkpointed in ``store``."""

    def __init__(
        self,
        client: Podium,
        store: ProjectStore,
        spend: ProjectSpend,
        settings: RunSettings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        emit: EventSink = discard,
        metrics: WorkflowMetrics | None = None,
        tracer: Tracer | None = None,
        on_forecast: ForecastHook | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.spend = spend
        self.settings = settings
        self.clock = clock
        self._emit = emit
        self.metrics = metrics
        self.tracer = tracer
        self.on_forecast = on_forecast
        self._started = 0.0
        self._elapsed_before = 0.0

    async def run(self, state: ProjectState) -> ProjectState:
        """Plan if needed, then run every task not yet done. Returns the final (checkpointed) state."""
        self._started, self._elapsed_before = self.clock.monotonic(), state.elapsed_s
        self.emit(EventType.WORKFLOW_STARTED, state, title=state.title)
        with workflow_span(WORKFLOW, self.tracer, project_id=state.id, strategy=self.settings.strategy):
            try:
                if not state.tasks and not await self._plan(state):
                    return state
                _reopen(state)
                state.status, state.stop_reason = RUNNING, None
                await self.store.acheckpoint(state)
                await self._forecast(state)
                stop = await self._schedule(state)
                await self._finish(state, stop)
            except asyncio.CancelledError:
                await self._finish(state, "interrupted")
                raise
            except PodiumError as exc:
                if state.status not in (FAILED, PAUSED):
                    await self._finish(state, None, error=str(exc))
                raise
            finally:
                self.emit(EventType.WORKFLOW_COMPLETED, state, status=state.status, spent_usd=str(state.spent_usd))
        return state

    # -- planning ---------------------------------------------------------------------------------------------------

    async def _plan(self, state: ProjectState) -> bool:
        """Fill ``state.tasks`` from the spec's own list or the orchestrator model; False when the run must stop."""
        if state.spec.tasks is not None:
            plan = plan_from_items(list(state.spec.tasks))
        else:
            model = self.settings.orchestrator_model
            meta = CallMeta(
                project=state.id,
                team=self.settings.team,
                task_type="planning",
                tags={"workflow": WORKFLOW, "phase": "plan"},
            )
            try:
                result = await decompose(self.client, state.spec, model=model or "", meta=meta)
            except BudgetExceededError as exc:
                await self._finish(state, "budget", error=str(exc))
                return False
            except UnusablePlanError as exc:
                state.plan_cost_usd += exc.cost_usd
                state.plan_tokens += exc.tokens
                self._record_planner(exc.tokens, exc.cost_usd)
                await self._finish(state, None, error=str(exc))
                raise
            plan = result.plan
            state.plan_model = result.model
            state.plan_cost_usd += result.cost_usd
            state.plan_tokens += result.tokens
            self._record_planner(result.tokens, result.cost_usd)
        state.tasks = {t.id: TaskState(t, complexity=analyze(t.prompt, learned=False).difficulty) for t in plan.tasks}
        await self.store.acheckpoint(state)
        return True

    def _record_planner(self, tokens: int, cost: Decimal) -> None:
        if self.metrics is not None:
            self.metrics.record_orchestrator(tokens, cost)

    async def _forecast(self, state: ProjectState) -> None:
        todo = [t for t in state.tasks.values() if t.status != DONE]
        # No output cap here: the router then prices its typical answer length rather than the worst case.
        requests = [task_request(state, t, max_tokens=None) for t in todo]
        report = await forecast_tasks(
            self.client,
            todo,
            requests,
            strategy=self.settings.strategy,
            candidates=self.settings.candidates,
            remaining_usd=state.budget_usd - state.spent_usd,
            history=self.spend.history(),
        )
        state.forecast = report.to_dict()
        await self.store.acheckpoint(state)
        if self.on_forecast is not None:
            self.on_forecast(report)

    # -- scheduling -------------------------------------------------------------------------------------------------

    async def _schedule(self, state: ProjectState) -> str | None:
        """Start ready tasks while limits allow; returns why the run stopped early (None when it did not)."""
        deps = {tid: t.spec.depends_on for tid, t in state.tasks.items()}
        inflight: dict[asyncio.Task[str | None], TaskState] = {}
        stop: str | None = None
        try:
            while True:
                stop = stop or self._limit_reached(state)
                if stop is None:
                    await self._start_ready(state, deps, inflight)
                if not inflight:
                    return stop
                done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    stop = stop or fut.result()
                    await self._block_dependants(state, deps, task)
        except BaseException:
            for fut in inflight:
                fut.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
            raise

    async def _start_ready(
        self, state: ProjectState, deps: dict[str, tuple[str, ...]], inflight: dict[asyncio.Task[str | None], TaskState]
    ) -> None:
        statuses = {tid: t.status for tid, t in state.tasks.items()}
        pending = [tid for tid, t in state.tasks.items() if t.status == PENDING]
        room = max(0, self.settings.max_concurrency - len(inflight))
        for tid in graph.ready(deps, statuses, pending)[:room]:
            task = state.tasks[tid]
            task.status, task.error = STARTED, None
            await self.store.acheckpoint(state, task)
            inflight[asyncio.create_task(self._run_task(state, task), name=f"project {state.id} task {tid}")] = task

    async def _block_dependants(self, state: ProjectState, deps: dict[str, tuple[str, ...]], task: TaskState) -> None:
        """Checkpoint a finished task; a failed one blocks every task that needs it."""
        changed = [task]
        if task.status == TASK_FAILED:
            for tid in graph.blocked_by(deps, [task.id]):
                child = state.tasks[tid]
                if child.status == PENDING:
                    child.status, child.error = BLOCKED, f"waits for failed task {task.id!r}"
                    changed.append(child)
        self._touch(state)
        await self.store.acheckpoint(state, *changed)

    def _limit_reached(self, state: ProjectState) -> str | None:
        limit = state.budget_usd
        totals = self.spend.totals()
        if state.spent_usd >= limit or totals.spent + totals.reserved >= limit:
            return "budget"
        max_time = state.spec.budget.max_time_seconds
        if max_time is not None and self._elapsed() >= max_time:
            return "time"
        return None

    # -- one task ---------------------------------------------------------------------------------------------------

    async def _run_task(self, state: ProjectState, task: TaskState) -> str | None:
        """Run, validate (retrying with feedback) and save one task; returns "budget" when the ledger refused."""
        task_type = task.spec.task_type or analyze(task.spec.prompt).task_type
        meta = CallMeta(
            project=state.id,
            team=self.settings.team,
            strategy=self.settings.strategy,
            task_type=task_type,
            complexity=task.complexity,
            tags={"workflow": WORKFLOW, "task": task.id},
        )
        if self.metrics is not None and task.complexity:  # counted before observers hear the task started
            self.metrics.record_task(task.complexity)
        self.emit(EventType.TASK_STARTED, state, task_id=task.id, title=task.spec.title, task_type=task_type)
        try:
            text, check, files = await self._attempts(state, task, meta)
        except BudgetExceededError as exc:
            task.status, task.error = PENDING, str(exc)
            return "budget"
        except PodiumError as exc:
            task.status, task.error = TASK_FAILED, str(exc)
            self.emit(EventType.TASK_FAILED, state, task_id=task.id, error=str(exc))
            return None
        task.output_path, task.files = write_task_output(state.output_dir, task.spec, text, files)
        task.score, task.problems, task.checks = check.score, check.problems, check.outcomes
        result = TaskResult(
            task.id,
            task.model,
            check.score,
            task.cost_usd,
            task.tokens,
            check.passed,
            task.output_path,
            check.problems,
            check.outcomes,
        )
        if check.passed:
            task.status = DONE
            self.emit(
                EventType.TASK_COMPLETED,
                state,
                task_id=task.id,
                result=result,
                score=check.score,
                cost_usd=str(task.cost_usd),
                model=task.model,
            )
        else:
            task.status, task.error = TASK_FAILED, "validation failed: " + "; ".join(_short(check.problems))
            self.emit(EventType.TASK_FAILED, state, task_id=task.id, error=task.error, result=result)
        return None

    async def _attempts(
        self, state: ProjectState, task: TaskState, meta: CallMeta
    ) -> tuple[str, CheckResult, dict[str, str]]:
        """Ask, validate, and after a failed validation ask again (escalated, with the problems quoted)."""
        request = task_request(state, task, max_tokens=self.settings.task_max_tokens)
        inputs = check_inputs(state, task, self.settings.check_tools)
        candidates, failed_models = self.settings.candidates, []
        attempts = 1 + max(0, self.settings.validation_retries)
        for attempt in range(attempts):
            routed = await self._route(request, meta, candidates)
            text = routed.completion.text
            tokens = sum(c.usage.total_tokens for c in routed.attempts)
            task.runs += 1
            task.cost_usd += routed.total_cost_usd or ZERO
            task.tokens += tokens
            task.model = routed.completion.model
            if self.metrics is not None:  # spent now: a scrape while the checks run already sees it
                self.metrics.record_delegation(
                    task.model, success=None, tokens=tokens, cost_usd=routed.total_cost_usd or ZERO
                )
            files = answer_files(task.spec, text, inputs.reserved)
            outcomes = await asyncio.to_thread(run_checks, files, inputs)
            check = check_output(task.spec, text).with_outcomes(outcomes)
            if check.passed and wants_review(self.settings.review, task):
                check = check_output(task.spec, text).with_outcomes(
                    (*outcomes, await review_task(self.client, state, task, text, self.settings))
                )
            task.checks = check.outcomes
            if self.metrics is not None:
                self.metrics.record_delegation_outcome(task.model, success=check.passed)
                self.metrics.record_validation(check.passed)
            kind = EventType.VALIDATION_PASSED if check.passed else EventType.VALIDATION_FAILED
            self.emit(
                kind,
                state,
                task_id=task.id,
                attempt=attempt + 1,
                score=check.score,
                problems=_short(check.problems),
                checks=[o.to_dict() for o in check.outcomes],
            )
            if check.passed or attempt + 1 == attempts:
                break
            failed_models.append(task.model)
            stronger = stronger_candidates(routed.decision, failed_models)
            if stronger is not None:
                candidates = stronger
                self.emit(EventType.ESCALATION, state, task_id=task.id, from_model=task.model, to_models=stronger)
            request = with_feedback(request, text, check.problems)
        return text, check, files

    async def _route(self, request: ChatRequest, meta: CallMeta, candidates: tuple[str, ...] | None) -> RoutedResult:
        """Route among ``candidates``; an escalation none of whose models can take the request falls back to the
        run's own candidates."""
        try:
            return await self.client.route(request, strategy=self.settings.strategy, meta=meta, candidates=candidates)
        except NoCandidateError:
            if candidates == self.settings.candidates:
                raise
            return await self._route(request, meta, self.settings.candidates)

    # -- bookkeeping ------------------------------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return self._elapsed_before + max(0.0, self.clock.monotonic() - self._started)

    def _touch(self, state: ProjectState) -> None:
        state.elapsed_s = self._elapsed()

    async def _finish(self, state: ProjectState, stop: str | None, *, error: str | None = None) -> None:
        """Set the final status, checkpoint, and record the workflow (run-level) metrics."""
        for task in state.tasks.values():
            if task.status == STARTED:  # cancelled mid-call: it runs again on resume
                task.status = PENDING
        if stop is not None:
            state.status, state.stop_reason = PAUSED, stop if error is None else f"{stop}: {error}"
        elif error is not None or any(t.status != DONE for t in state.tasks.values()):
            state.status, state.stop_reason = FAILED, error
        elif (unverified := unverified_reason(state)) is not None:
            state.status, state.stop_reason = COMPLETED_UNVERIFIED, unverified
        else:
            state.status, state.stop_reason = COMPLETED, None
        self._touch(state)
        await self.store.acheckpoint(state)
        if self.metrics is not None:
            self.metrics.record_workflow(self._elapsed_ms())

    def _elapsed_ms(self) -> float:
        return max(0.0, self.clock.monotonic() - self._started) * 1000.0

    def emit(self, kind: EventType, state: ProjectState, **data: object) -> None:
        self._emit(Event(kind, {"project_id": state.id, **data}, self.clock.now()))


def _short(problems: tuple[str, ...]) -> tuple[str, ...]:
    """Each problem's first line (the checks' details are for the retry's feedback)."""
    return tuple(p.splitlines()[0] if p else p for p in problems)


def _reopen(state: ProjectState) -> None:
    """On (re)start, tasks that failed, were blocked or were cut off run again; done tasks never do."""
    for task in state.tasks.values():
        if task.status in (TASK_FAILED, BLOCKED, STARTED):
            task.status = PENDING
