"""Decomposition: the orchestrator model turns the project into a JSON task list, checked and retried once."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion, Message
from podium.routing.task_analysis import TASK_TYPES
from podium.workflows.project.spec import ProjectSpec
from podium.workflows.project.tasks import MAX_TASKS, PlanError, TaskPlan, parse_plan

if TYPE_CHECKING:
    from podium.engine import Podium

PLANNER_SYSTEM = f"""You are the planner of a multi-step software project. Split the project into small tasks that \
other models will carry out one by one. Reply with JSON only, no prose, in exactly this shape:
{{"tasks": [{{"id": "setup", "title": "Short title", "prompt": "Complete instructions for this task alone", \
"depends_on": [], "task_type": "code", "acceptance": ["keyword the answer must contain"], \
"output_file": "path/relative/to/project.py", "critical": false}}]}}
Rules: ids are short and unique (letters, digits, - and _); depends_on lists ids of earlier tasks whose output this \
task needs; task_type is one of {", ".join(TASK_TYPES)}; acceptance holds a few words the answer must contain; \
output_file is optional (set it for tasks that produce one file); critical is true for the few tasks whose \
code carries the core logic or security (a model of another provider reviews them). Use at most {MAX_TASKS} tasks; tasks without \
dependencies between them run in parallel."""

RETRY_PROMPT = "That task list cannot be used: {error}. Reply again with the corrected JSON only, in the same shape."
DEFAULT_PLAN_MAX_TOKENS = 4096


class UnusablePlanError(PlanError):
    """The orchestrator's reply was unusable twice; ``cost_usd`` and ``tokens`` say what the two calls spent."""

    def __init__(self, cause: PlanError, *, model: str, cost_usd: Decimal, tokens: int) -> None:
        super().__init__(
            f"the orchestrator model {model} returned an unusable task list twice: {cause}",
            field=cause.field,
            value=cause.value,
            valid=cause.valid,
        )
        self.cost_usd = cost_usd
        self.tokens = tokens


@dataclass(slots=True)
class Decomposition:
    """The checked plan and what producing it cost (both attempts when a retry was needed)."""

    plan: TaskPlan
    model: str
    cost_usd: Decimal = ZERO
    tokens: int = 0
    attempts: int = 1
    completions: list[Completion] = field(default_factory=list)


def planner_prompt(spec: ProjectSpec) -> str:
    lines = [f"Project: {spec.title}", "", spec.project.description.strip()]
    if spec.project.success_criteria.strip():
        lines += ["", f"Success criteria: {spec.project.success_criteria.strip()}"]
    return "\n".join(lines)


async def decompose(
    client: Podium,
    spec: ProjectSpec,
    *,
    model: str,
    meta: CallMeta,
    max_tokens: int = DEFAULT_PLAN_MAX_TOKENS,
) -> Decomposition:
    """Ask ``model`` for the task list; on an unusable reply, ask once more quoting the problem.

    Raises PlanError (naming the key) when the second reply is unusable too.
    """
    messages = [Message.system(PLANNER_SYSTEM), Message.user(planner_prompt(spec))]
    out = Decomposition(plan=TaskPlan(()), model=model, attempts=0)
    for attempt in (1, 2):
        completion = await client.complete(
            ChatRequest(messages=tuple(messages), max_tokens=max_tokens), model=model, meta=meta
        )
        out.attempts = attempt
        out.completions.append(completion)
        out.cost_usd += completion.cost_usd or ZERO
        out.tokens += completion.usage.total_tokens
        out.model = completion.model
        try:
            out.plan = parse_plan(completion.text)
            return out
        except PlanError as exc:
            if attempt == 2:
                raise UnusablePlanError(exc, model=model, cost_usd=out.cost_usd, tokens=out.tokens) from None
            messages += [Message.assistant(completion.text), Message.user(RETRY_PROMPT.format(error=exc))]
    raise AssertionError("unreachable: the loop returns or raises")
