"""What every strategy shares: building the candidate list for a request, and ordered calls.

The decision record and the result (``RoutingDecision``, ``RoutedResult``, ``RouteStep``, ``BudgetStop``) live in
``podium.core.routed`` so ``Completion.routed`` can carry them; they are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from decimal import Decimal
from typing import Protocol

from podium.config.routing import RoutingSettings
from podium.core.errors import (
    AllAttemptsFailedError,
    NoCandidateError,
    ProviderError,
    ReplayMissError,
)
from podium.core.model_spec import ModelSpec
from podium.core.money import ZERO
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.routed import BudgetStop, Candidate, RoutedResult, RouteStep, RoutingDecision  # noqa: F401 - re-exported
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest, Completion, ImagePart, Usage

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
