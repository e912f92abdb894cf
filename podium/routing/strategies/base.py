"""What every strategy shares: the decision record, the result, and building the candidate list for a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from decimal import Decimal
from typing import Any, Protocol

from podium.config.routing import RoutingSettings
from podium.core.errors import (
    AllAttemptsFailedError,
    BudgetExceededError,
    NoCandidateError,
    ProviderError,
    ReplayMissError,
    budget_name,
)
from podium.core.model_spec import ModelSpec
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest, Completion, ImagePart, Usage
from podium.routing.selection import Candidate

# Used when the router has no opinion about a model (a model added in podium.yaml): a prior by quality tier.
TIER_PRIOR: dict[str, float] = {"basic": 0.55, "standard": 0.65, "advanced": 0.78, "frontier": 0.88}
# Rough generation speed, milliseconds per output token, by tier; "fast" models take half.
_MS_PER_TOKEN: dict[str, float] = {"basic": 8.0, "standard": 12.0, "advanced": 20.0, "frontier": 30.0}


class ModelLookup(Protocol):
    """The part of the catalog strategies use."""

    def get(self, name: str) -> ModelSpec: ...


class QualityPredictor(Protocol):
    """The part of the learned router strategies use: P(good answer) per model for a prompt.

    ``models`` are the models it has recorded outcomes for (the replay default list); ``predict`` rates every
    model of ``models=`` it can (the learned router: any model with a quality profile) and leaves out the rest.
    """

    models: tuple[str, ...]

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]: ...


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

    def gate_record(self) -> dict[str, str] | None:
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


class Strategy(Protocol):
    name: str

    async def explain(
        self, request: ChatRequest, candidates: Sequence[str] | None = None, *, meta: CallMeta | None = None
    ) -> RoutingDecision:
        """The decision ``run`` would start from (models it would call, in order), without calling any model."""
        ...

    async def run(
        self,
        request: ChatRequest,
        *,
        caller: ModelCaller,
        meta: CallMeta,
        candidates: Sequence[str] | None = None,
    ) -> RoutedResult: ...


# What a strategy's model call may raise and the strategy then moves past (next model, escalation): a provider
# error, every engine-level fallback of that call failing too, or a replay candidate with no recorded answer.
CALL_ERRORS: tuple[type[BaseException], ...] = (ProviderError, AllAttemptsFailedError, ReplayMissError)

# The ledger's estimate, so a candidate's estimated cost is the worst case the ledger will reserve for it.
estimate_prompt_tokens = estimate_request_tokens


def required_capabilities(request: ChatRequest) -> frozenset[str]:
    """Capabilities the request needs: vision for images, json for a response_format, tools for tools."""
    caps: set[str] = set()
    if any(not isinstance(m.content, str) and any(isinstance(p, ImagePart) for p in m.content) for m in request.messages):
        caps.add("vision")
    if (request.response_format or {}).get("type") in ("json_object", "json_schema"):
        caps.add("json")
    if request.tools:
        caps.add("tools")
    return frozenset(caps)


def estimate_latency_ms(spec: ModelSpec, output_tokens: int) -> float:
    per_token = _MS_PER_TOKEN.get(spec.quality_tier, 15.0) * (0.5 if "fast" in spec.capabilities else 1.0)
    return 300.0 + per_token * output_tokens


def total_cost(attempts: Sequence[Completion]) -> Decimal:
    return sum((a.cost_usd for a in attempts if a.cost_usd is not None), ZERO)


@dataclass(slots=True)
class CandidatePool:
    """Builds the candidates for one request: allowed, capable, fitting, predicted and priced."""

    catalog: ModelLookup
    settings: RoutingSettings
    router: QualityPredictor | None = None
    models: tuple[str, ...] | None = None  # the strategy's own allow-list
    narrowed_by: tuple[str, ...] = ()  # why the engine narrowed the candidate list (executors, $0, open weights)
    _costs: dict[tuple[str, int, int], Decimal | None] = field(default_factory=dict, repr=False)

    def estimate_cost(self, spec: ModelSpec, prompt_tokens: int, out_tokens: int) -> Decimal | None:
        """Catalog price of the estimated tokens; memoised because strategies price the same prompts repeatedly."""
        key = (spec.id, prompt_tokens, out_tokens)
        if key not in self._costs:
            if len(self._costs) > 50_000:  # a long-running server sees endless prompt sizes
                self._costs.clear()
            self._costs[key] = spec.cost(Usage(input_tokens=prompt_tokens, output_tokens=out_tokens))
        return self._costs[key]

    def decision(self, strategy: str, candidates: list[Candidate]) -> RoutingDecision:
        """A strategy's decision record, opening with why the candidate list was narrowed (if it was)."""
        return RoutingDecision(strategy, candidates=candidates, explanation=list(self.narrowed_by))

    def task_type(self, request: ChatRequest, meta: CallMeta | None = None) -> str:
        """The caller's task type when given (``CallMeta.task_type``), else the router's task analysis."""
        if meta is not None and meta.task_type:
            return meta.task_type
        of = getattr(self.router, "task_type", None)
        if of is not None:
            return str(of(request.last_user_text))
        from podium.routing.task_analysis import analyze

        return analyze(request.last_user_text).task_type

    def model_ids(self, override: Sequence[str] | None = None) -> list[str]:
        if override is not None:
            ids = list(override)
        elif self.models is not None:
            ids = list(self.models)
        elif self.settings.candidates is not None:
            ids = list(self.settings.candidates)
        elif self.router is not None:
            ids = list(self.router.models)
        else:
            raise NoCandidateError(
                "no candidate models: set `routing.candidates` in podium.yaml, pass --models, or train a router "
                "(`podium router train`) so strategies know which models to choose from"
            )
        return list(dict.fromkeys(ids))

    def build(
        self, request: ChatRequest, override: Sequence[str] | None = None
    ) -> tuple[list[Candidate], list[Candidate]]:
        """(usable candidates, rejected candidates with the reason each was dropped)."""
        ids = self.model_ids(override)
        specs = [self.catalog.get(m) for m in ids]
        prompt_tokens = estimate_prompt_tokens(request)
        out_tokens = request.max_tokens or self.settings.expected_output_tokens
        needs = required_capabilities(request)
        predicted = self._predict(request, [s.id for s in specs])
        usable: list[Candidate] = []
        rejected: list[Candidate] = []
        for spec in specs:
            cand = Candidate(
                spec,
                predicted.get(spec.id, TIER_PRIOR.get(spec.quality_tier)),
                self.estimate_cost(spec, prompt_tokens, out_tokens),
                estimate_latency_ms(spec, out_tokens),
            )
            missing = sorted(needs - spec.capabilities)
            if missing:
                cand.reason = f"lacks {', '.join(missing)}"
                rejected.append(cand)
            elif prompt_tokens + out_tokens > spec.context_window:
                cand.reason = f"~{prompt_tokens + out_tokens} tokens exceed its {spec.context_window}-token window"
                rejected.append(cand)
            else:
                cand.reason = "router prediction" if spec.id in predicted else f"prior for tier {spec.quality_tier}"
                usable.append(cand)
        if not usable:
            why = "; ".join(f"{c.id}: {c.reason}" for c in rejected) or "no models were allowed"
            raise NoCandidateError(f"no model can take this request ({why})", rejected=[c.id for c in rejected])
        return usable, rejected

    def _predict(self, request: ChatRequest, ids: list[str]) -> dict[str, float]:
        """The router's P(good) for every candidate it can rate (any model with a quality profile)."""
        if self.router is None or not ids:
            return {}
        return self.router.predict(request.prompt_text, ids)


def describe(c: Candidate) -> str:
    q = "?" if c.predicted_quality is None else f"{c.predicted_quality:.2f}"
    cost = "?" if c.estimated_cost is None else f"${c.estimated_cost:.6f}"
    return f"{c.id} (predicted quality {q}, est. cost {cost})"


async def call_in_order(
    order: Sequence[Candidate],
    request: ChatRequest,
    *,
    caller: ModelCaller,
    meta: CallMeta,
    decision: RoutingDecision,
) -> Completion:
    """Call the first model; when it fails, the next one. Returns the first answer."""
    failures: list[tuple[str, BaseException]] = []
    for cand in order:
        try:
            completion = await caller(cand.id, request.with_model(cand.id), meta)
        except CALL_ERRORS as exc:
            failures.append((cand.id, exc))
            decision.failed(cand.id, exc)
            decision.note(f"{cand.id} failed ({type(exc).__name__}); trying the next model")
            continue
        decision.chosen.append(cand.id)
        decision.step(cand.id, completion, reason="first model to answer; no quality gate")
        return completion
    raise AllAttemptsFailedError(failures)


def with_task_type(meta: CallMeta, decision: RoutingDecision, task_type: str) -> CallMeta:
    """The meta every model call of a run carries (so ledger rows record the task type), noted on the decision."""
    decision.task_type = task_type
    return meta if meta.task_type == task_type else _replace(meta, task_type=task_type)


class OrderedStrategy:
    """A strategy that ranks models for a request and calls the first one (the rest are fallbacks on failure).

    Subclasses implement ``_plan``; ``_prepare`` may adjust the request and meta before the call.
    """

    pool: CandidatePool

    def _plan(
        self, request: ChatRequest, candidates: Sequence[str] | None, task_type: str
    ) -> tuple[list[Candidate], RoutingDecision]:
        raise NotImplementedError

    def _prepare(self, request: ChatRequest, meta: CallMeta, decision: RoutingDecision) -> tuple[ChatRequest, CallMeta]:
        return request, meta

    async def explain(
        self, request: ChatRequest, candidates: Sequence[str] | None = None, *, meta: CallMeta | None = None
    ) -> RoutingDecision:
        task_type = self.pool.task_type(request, meta)
        order, decision = self._plan(request, candidates, task_type)
        decision.task_type = task_type
        decision.chosen.append(order[0].id)
        return decision

    async def run(
        self,
        request: ChatRequest,
        *,
        caller: ModelCaller,
        meta: CallMeta,
        candidates: Sequence[str] | None = None,
    ) -> RoutedResult:
        task_type = self.pool.task_type(request, meta)
        order, decision = self._plan(request, candidates, task_type)
        request, meta = self._prepare(request, with_task_type(meta, decision, task_type), decision)
        completion = await call_in_order(order, request, caller=caller, meta=meta, decision=decision)
        return RoutedResult(completion, [completion], decision, total_cost([completion]))
