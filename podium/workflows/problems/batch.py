"""What generation and grading share: the task-table rows, text de-duplication, and a batch run's steps under a
hard budget, checkpointed one by one so a budget stop resumes where it left off."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from podium.config.routing import TaskRoute
from podium.core.errors import BudgetExceededError
from podium.workflows.problems.prompts import GENERATION_ROW, GENERATION_TASK_TYPE, GRADING_ROW, GRADING_TASK_TYPE
from podium.workflows.records import COMPLETED, FAILED, PAUSED, RUNNING, RunRecord, RunStep
from podium.workflows.session import WorkflowSession
from podium.workflows.typed import InvalidModelOutputError, TypedAnswer

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.engine import Podium

T = TypeVar("T")
_NON_WORD = re.compile(r"[^a-z0-9]+")
StepFn = Callable[["Podium", RunStep], Awaitable[TypedAnswer[T] | None]]


def with_task_rows(config: PodiumConfig) -> PodiumConfig:
    """``config`` with generation and grading rows in the task table, unless podium.yaml already has them."""
    table = dict(config.routing.task_table)
    grading = dict(GRADING_ROW)
    if config.routing.judge_model:
        grading["primary"] = config.routing.judge_model
    for key, row in ((GENERATION_TASK_TYPE, GENERATION_ROW), (GRADING_TASK_TYPE, grading)):
        table.setdefault(key, TaskRoute.model_validate(row))
    routing = config.routing.model_copy(update={"task_table": table})
    return config.model_copy(update={"routing": routing})


def dedup_key(text: str) -> str:
    """Text compared for duplicates: lower case, punctuation and spacing ignored."""
    return _NON_WORD.sub(" ", text.lower()).strip()


@dataclass(slots=True)
class BatchOutcome:
    """A batch run as its caller sees it: the record plus its status in words."""

    run: RunRecord

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def cost_usd(self) -> Decimal:
        return self.run.spent_usd


async def run_steps(session: WorkflowSession, run: RunRecord, step_ids: list[str], do: StepFn[T]) -> RunRecord:
    """Run each step not yet completed, in order, checkpointing after each. A budget refusal pauses the run (the
    step stays to do); a step whose model output stays unusable is failed and the others go on."""
    run.status, run.stop_reason = RUNNING, None
    for sid in step_ids:
        run.steps.setdefault(sid, RunStep(sid, status="pending"))
    session.store.save(run)
    config = with_task_rows(session.config)
    async with session.client(run.id, run.max_usd, config=config) as client:
        for sid in step_ids:
            step = run.steps[sid]
            if step.status == COMPLETED:
                continue
            try:
                answer = await do(client, step)
            except BudgetExceededError as exc:
                step.status, step.error = "pending", str(exc)
                run.status, run.stop_reason = PAUSED, f"budget: {exc}"
                session.store.save(run, step)
                return run
            except InvalidModelOutputError as exc:
                step.status, step.error = FAILED, str(exc)
                step.cost_usd += exc.cost_usd
                step.tokens += exc.tokens
                session.store.save(run, step)
                continue
            if answer is not None:
                step.model = answer.model
                step.cost_usd += answer.cost_usd
                step.tokens += answer.tokens
                step.attempts += answer.attempts
                step.prompts = answer.exchanges if session.log_prompts else None
            step.status, step.error = COMPLETED, None
            session.store.save(run, step)
    failed = [s.id for s in run.steps.values() if s.status != COMPLETED]
    run.status = FAILED if failed else COMPLETED
    run.stop_reason = f"unusable model output for {', '.join(failed)}" if failed else None
    session.store.save(run)
    return run
