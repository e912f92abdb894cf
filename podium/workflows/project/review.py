"""Cross-provider review: a task's answer that passed its checks is read by a model of another provider.

Which tasks: those marked ``critical`` (``RunSettings.review = "critical"``, the default), every task (``"all"``)
or none (``"off"``). The reviewer is routed among the run's review candidates whose provider differs from the
author's. Its verdict is one more check outcome (``review``): a rejection's findings become the task's problems,
so the retry quotes them like any failed check. The call is its own ledger row with task type ``review`` (and tag
``role=reviewer``), and its cost is added to the task's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict, cast

from podium.core.errors import BudgetExceededError, NoCandidateError, PodiumError, ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta
from podium.core.types import Message
from podium.workflows.project.checks import FAILED, PASSED, SKIPPED, CheckOutcome
from podium.workflows.project.settings import WORKFLOW, RunSettings
from podium.workflows.project.state import ProjectState, TaskState
from podium.workflows.typed import InvalidModelOutputError, ask_typed

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.engine import Podium

REVIEW_MODES = ("off", "critical", "all")
REVIEW_TASK_TYPE = "review"
REVIEW_CHECK = "review"
REVIEW_ANSWER_CHARS = 12000

REVIEW_SYSTEM = """You review another model's answer to one task of a software project. Check it against the \
task and the project's success criteria: bugs, missing requirements, security problems, code that cannot run. \
Style preferences are not findings. Reply with JSON only: {"approved": true, "findings": []} when the answer can \
be used as it is, else {"approved": false, "findings": ["one concrete problem and how to fix it", ...]}."""

REVIEW_SCHEMA: JSONObject = {
    "type": "object",
    "required": ["approved", "findings"],
    "properties": {
        "approved": {"type": "boolean"},
        "findings": {"type": "array", "items": {"type": "string"}},
    },
}


class ReviewReply(TypedDict):
    """The reviewer's reply, once it fits REVIEW_SCHEMA."""

    approved: bool
    findings: list[str]


@dataclass(frozen=True, slots=True)
class Review:
    """The reviewer's verdict as a check outcome, and what the review cost."""

    outcome: CheckOutcome
    model: str | None = None
    cost_usd: Decimal = ZERO
    tokens: int = 0


def review_mode(value: str) -> str:
    key = value.strip().lower()
    if key not in REVIEW_MODES:
        raise ValidationError(
            f"--review {value!r} is not valid; use one of {', '.join(REVIEW_MODES)}",
            field="review",
            value=value,
            valid=list(REVIEW_MODES),
        )
    return key


def wants_review(mode: str, task: TaskState) -> bool:
    return mode == "all" or (mode == "critical" and task.spec.critical)


def other_providers(catalog: Catalog, candidates: Sequence[str], author: str) -> tuple[str, ...]:
    """The candidates whose provider is not the author model's."""
    provider = catalog.get(author).provider
    return tuple(m for m in candidates if catalog.get(m).provider != provider)


def review_prompt(state: ProjectState, task: TaskState, answer: str) -> str:
    spec = state.spec
    parts = [f"Project: {spec.title}", spec.project.description.strip()]
    if spec.project.success_criteria.strip():
        parts.append(f"Success criteria: {spec.project.success_criteria.strip()}")
    parts.append(f"Task ({task.id}): {task.spec.title}\n{task.spec.prompt}")
    cut = answer if len(answer) <= REVIEW_ANSWER_CHARS else answer[:REVIEW_ANSWER_CHARS] + "\n[... cut ...]"
    parts.append(f"The answer to review:\n{cut}")
    return "\n\n".join(parts)


async def review_answer(
    client: Podium,
    state: ProjectState,
    task: TaskState,
    answer: str,
    *,
    author: str,
    candidates: Sequence[str],
    strategy: str,
    meta: CallMeta,
) -> Review:
    """Ask a model of another provider whether ``answer`` can be used; never raises for a reviewer problem except
    BudgetExceededError (the run's budget stop)."""
    others = other_providers(client.catalog, candidates, author)
    if not others:
        reason = f"skipped: no model of a provider other than {client.catalog.get(author).provider} is available"
        return Review(CheckOutcome(REVIEW_CHECK, SKIPPED, reason))
    messages = [Message.system(REVIEW_SYSTEM), Message.user(review_prompt(state, task, answer))]
    try:
        typed = await ask_typed(
            client, messages, schema=REVIEW_SCHEMA, meta=meta, strategy=strategy, candidates=others, max_tokens=1024
        )
    except InvalidModelOutputError as exc:
        outcome = CheckOutcome(REVIEW_CHECK, SKIPPED, f"skipped: the reviewer's reply was unusable ({exc.field})")
        return Review(outcome, cost_usd=exc.cost_usd, tokens=exc.tokens)
    except NoCandidateError as exc:
        return Review(CheckOutcome(REVIEW_CHECK, SKIPPED, f"skipped: {exc}"))
    except BudgetExceededError:
        raise
    except PodiumError as exc:
        return Review(CheckOutcome(REVIEW_CHECK, SKIPPED, f"skipped: the reviewer failed: {exc}"))
    reply = cast(ReviewReply, typed.value)  # ask_typed checked it against REVIEW_SCHEMA
    findings = [f.strip() for f in reply["findings"] if f.strip()]
    if reply["approved"]:
        outcome = CheckOutcome(REVIEW_CHECK, PASSED, f"approved by {typed.model}")
    else:
        first = findings[0] if findings else "rejected without findings"
        outcome = CheckOutcome(
            REVIEW_CHECK, FAILED, f"{typed.model} found {len(findings)} problem(s): {first}", detail="\n".join(findings)
        )
    return Review(outcome, typed.model, typed.cost_usd, typed.tokens)


async def review_task(
    client: Podium, state: ProjectState, task: TaskState, text: str, settings: RunSettings
) -> CheckOutcome:
    """A model of another provider reviews the answer; its cost is the task's, its ledger row its own."""
    meta = CallMeta(
        project=state.id,
        team=settings.team,
        task_type=REVIEW_TASK_TYPE,
        tags={"workflow": WORKFLOW, "task": task.id, "role": "reviewer"},
    )
    review = await review_answer(
        client,
        state,
        task,
        text,
        author=task.model or "",
        candidates=settings.review_candidates,
        strategy=settings.review_strategy,
        meta=meta,
    )
    task.cost_usd += review.cost_usd
    task.tokens += review.tokens
    return review.outcome
