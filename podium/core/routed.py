"""What a routed call returns: the candidates a strategy weighed, every model call it made, and its decision.

Pure data, so ``Completion.routed`` can carry it across every layer; the routing strategies fill it in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from podium.core.errors import BudgetExceededError, budget_name
from podium.core.model_spec import ModelSpec
from podium.core.types import Completion, Usage


@dataclass(slots=True)
class Candidate:
    """A model a strategy considered, with what it predicted and why it kept or dropped it."""

    model: ModelSpec
    predicted_quality: float | None = None
    estimated_cost: Decimal | None = None
    est_latency_ms: float | None = None
    reason: str = ""

    @property
    def id(self) -> str:
        return self.model.id


@dataclass(slots=True)
class RouteStep:
    """One model call a strategy made, and what its gate (or vote, or judge) made of the answer.

    ``role`` is answer, judge or aggregator; ``outcome`` is e.g. kept, escalated, answered, voted, graded or
    failed (the call raised; ``completion`` is None). ``gates`` is each quality gate's verdict on the answer
    (``{"hedging": "failed: ..."}``) when a gate judged it.
    """

    model: str
    completion: Completion | None = None
    role: str = "answer"
    outcome: str = "answered"
    reason: str = ""
    gates: dict[str, str] | None = None

    def gate_record(self) -> GateVerdicts | None:
        """The ledger's ``gates`` value for an answer a gate judged (kept/escalated): each gate's verdict, or why."""
        judged = self.role == "answer" and self.completion is not None and self.outcome in ("kept", "escalated")
        return {"outcome": self.outcome, **(self.gates or {"reason": self.reason})} if judged else None

    def to_dict(self, *, chosen: bool) -> dict[str, Any]:
        c = self.completion
        return {
            "model": c.model if c is not None and c.model else self.model,
            "role": self.role,
            "outcome": self.outcome,
            "reason": self.reason,
            "cost_usd": None if c is None or c.cost_usd is None else str(c.cost_usd),
            "request_id": None if c is None else c.request_id,
            "chosen": chosen,
        }


# A gate verdict as the ledger's ``gates`` column keeps it: the step's outcome and each gate's verdict (or why).
GateVerdicts = dict[str, str]


@runtime_checkable
class GateRecorder(Protocol):
    """A call middleware that keeps gate verdicts (the ledger's): the engine hands each judged answer's verdict to
    every middleware of this kind once a routed run is over."""

    def record_gates(self, request_id: str, attempt: int, gates: GateVerdicts) -> None: ...


@dataclass(frozen=True, slots=True)
class BudgetStop:
    """A budget refused a later call of a run before it was sent, so the run kept an answer it had paid for."""

    model: str
    scope: str
    limit_usd: Decimal
    requested_usd: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "scope": self.scope, "limit_usd": str(self.limit_usd),
                "requested_usd": str(self.requested_usd)}


@dataclass(slots=True)
class RoutingDecision:
    """Which models a strategy considered and chose, and why (rendered by ``--explain``).

    ``steps`` records every model call of a run in call order (empty for ``explain``); ``budget_stop`` is set when
    a budget refused a later call and the run settled for an answer already paid for.
    """

    strategy: str
    candidates: list[Candidate] = field(default_factory=list)
    chosen: list[str] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    task_type: str | None = None
    steps: list[RouteStep] = field(default_factory=list)
    budget_stop: BudgetStop | None = None

    @property
    def budget_limited(self) -> bool:
        return self.budget_stop is not None

    def note(self, line: str) -> None:
        self.explanation.append(line)

    def step(self, model: str, completion: Completion | None = None, **details: str) -> RouteStep:
        """Record a model call (``role``, ``outcome``, ``reason`` as keywords); update its outcome later."""
        record = RouteStep(model, completion, **details)
        self.steps.append(record)
        return record

    def failed(self, model: str, exc: BaseException, *, role: str = "answer") -> RouteStep:
        """Record a call that raised; the engine's own fallbacks inside it (AllAttemptsFailedError) each get a step."""
        for tried, error in getattr(exc, "attempts", None) or [(model, exc)]:
            record = self.step(tried, role=role, outcome="failed", reason=type(error).__name__)
        return record

    def refused(self, model: str, exc: BudgetExceededError, *, role: str = "answer") -> None:
        """Record a call a budget refused before sending it; the run then keeps an answer it already paid for."""
        name, period = budget_name(exc.scope)
        why = f"{name} (${exc.limit}{period}) would be exceeded: it could cost up to ${exc.requested}"
        self.step(model, role=role, outcome="refused", reason=why)
        self.note(f"{model} ({role}) refused: {why}; keeping the best answer already paid for")
        if self.budget_stop is None:
            self.budget_stop = BudgetStop(model, exc.scope, exc.limit, exc.requested)


@dataclass(slots=True)
class RoutedResult:
    """The answer a strategy returns, every completion it paid for, and its decision record.

    ``usage`` and ``total_cost_usd`` cover every attempt; the gateway's usage and cost header and
    ``podium ask --json`` both report them, so all faces agree with the ledger.
    """

    completion: Completion
    attempts: list[Completion]
    decision: RoutingDecision
    total_cost_usd: Decimal
    agreement: float | None = None
    confidence: float | None = None
    request_id: str | None = None  # the routed call's id; each sub-call's ledger rows use "<request_id>.<n>"

    @property
    def paid(self) -> list[Completion]:
        return list(self.attempts) or [self.completion]

    @property
    def usage(self) -> Usage:
        """Tokens of every attempt."""
        return sum((a.usage for a in self.paid), Usage())

    @property
    def upstream_ms(self) -> float:
        return sum(a.latency_ms for a in self.paid)

    def tried(self) -> list[RouteStep]:
        """Every model call in call order; an attempt a strategy did not record is added as a plain call."""
        steps = list(self.decision.steps)
        recorded = {id(s.completion) for s in steps if s.completion is not None}
        steps += [RouteStep(a.model, a, outcome="called") for a in self.attempts if id(a) not in recorded]
        return steps

    def summary(self) -> dict[str, Any]:
        """JSON-ready routing record: strategy, task type, chosen model, total cost, whether a budget stopped the run
        early (``budget_limited``, ``budget_stop``: the refused model, budget scope and limit) and every model tried."""
        return {
            "strategy": self.decision.strategy,
            "task_type": self.decision.task_type,
            "request_id": self.request_id,
            "chosen": self.completion.model,
            "total_cost_usd": str(self.total_cost_usd),
            "calls": len(self.paid),
            "agreement": self.agreement,
            "confidence": self.confidence,
            "budget_limited": self.decision.budget_limited,
            "budget_stop": None if self.decision.budget_stop is None else self.decision.budget_stop.to_dict(),
            "tried": [s.to_dict(chosen=s.completion is self.completion) for s in self.tried()],
        }
