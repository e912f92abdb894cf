"""One step of an escalating strategy (cascade, learned cascade): ask a model, record what happened.

A model that fails is recorded and the strategy moves on; a budget that refuses the call before anything is sent
ends the escalation (raises ``StepRefused``) when an answer is already paid for, and is raised as is when none is.
"""

from __future__ import annotations

from podium.core.errors import BudgetExceededError
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.routing.strategies.base import CALL_ERRORS, RoutingDecision


class StepRefused(Exception):
    """A budget refused the next model; the strategy keeps an answer it already paid for."""


async def call_step(
    step: int,
    model_id: str,
    request: ChatRequest,
    *,
    caller: ModelCaller,
    meta: CallMeta,
    decision: RoutingDecision,
    failures: list[tuple[str, BaseException]],
    paid: bool,
) -> Completion | None:
    """The model's answer, or None when it failed (recorded in ``failures`` and ``decision``: go on)."""
    try:
        return await caller(model_id, request.with_model(model_id), meta)
    except CALL_ERRORS as exc:
        failures.append((model_id, exc))
        decision.failed(model_id, exc)
        decision.note(f"step {step}: {model_id} failed ({type(exc).__name__}); escalating")
        return None
    except BudgetExceededError as exc:  # nothing was sent: settle for what is already paid for
        if not paid:
            raise
        decision.refused(model_id, exc)
        raise StepRefused from exc
