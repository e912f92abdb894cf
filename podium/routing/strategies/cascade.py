"""``cascade`` (the model orchestrator's "fallback"): ask cheap models first and escalate only when a quality gate fails.

Gate semantics: format, hedging, final-answer, truncation (the answer was cut off), arithmetic (a stated
calculation is false), judge and the live gates (logprob, consistency, verify: signals
asked of the gated step only where its provider offers them, podium.routing.gates.signals) are hard
requirements. The predicted gate is answer-aware: for closed questions it is the posterior that this answer is
right given the router's predictions for every model asked so far and which of them agree
(podium.routing.gates.evidence). At the end of the chain the best-supported answer is kept, which may be a
cheaper model's when several agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from podium.core.errors import AllAttemptsFailedError, BudgetExceededError, NoCandidateError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta, ModelCaller
from podium.core.types import ChatRequest, Completion
from podium.providers.features import LOGPROBS, SAMPLES, model_features
from podium.routing.gates import (
    GateResult,
    agreement_gate,
    answer_kind,
    final_answer_gate,
    format_gate,
    hedging_gate,
    judge_gate,
)
from podium.routing.gates.answers import text_recorded
from podium.routing.gates.consistency import arithmetic_gate, truncation_gate
from podium.routing.gates.evidence import best_supported, posterior_gate
from podium.routing.gates.signals import (
    SignalSettings,
    consistency_gate,
    logprob_gate,
    samples_wanted,
    signal_request,
    skipped,
)
from podium.routing.gates.verify import verify_gate
from podium.routing.selection import Candidate, pareto_front
from podium.routing.strategies.base import (
    CALL_ERRORS,
    CandidatePool,
    RoutedResult,
    RoutingDecision,
    describe,
    total_cost,
    with_task_type,
)
from podium.routing.strategies.steps import StepRefused, call_step

_EVIDENCE = ("predicted", "agreement")
# Gates that read live signals: their "skipped" verdicts (the provider offers no such signal) are shown too.
LIVE_GATES = ("logprob", "consistency", "verify")


def derive_chain(
    usable: Sequence[Candidate], *, max_steps: int, floor: float, threshold: float | None = None
) -> list[Candidate]:
    """Cheap -> strong from the router, ending at the model predicted best.

    Only models on the quality/cost Pareto front are worth a call (a dominated model is dearer and worse than
    another). Of the cheaper front models predicted at least ``floor``, the ``max_steps - 1`` best predicted are
    asked first, cheapest first: they either pass alone or, by agreeing, vouch for each other's answer. With a
    ``threshold``, the cheapest front model predicted to reach it always opens the chain (an easy prompt then
    costs what the cheapest capable model costs).
    """
    front = pareto_front(usable, latency=False)
    best = front[-1] if front else max(usable, key=lambda c: c.predicted_quality or 0.0)
    cheap = [c for c in front if c is not best and (c.predicted_quality or 0.0) >= floor]
    steps = max(0, max_steps - 1)
    first = next((c for c in cheap if (c.predicted_quality or 0.0) >= threshold), None) if threshold else None
    rest = sorted((c for c in cheap if c is not first), key=lambda c: -(c.predicted_quality or 0.0))
    keep = ([first] if first is not None and steps else []) + rest[: steps - (first is not None)]
    return [c for c in front if c in keep] + [best]


@dataclass(slots=True)
class CascadeStrategy:
    """Escalate along a chain of models until an answer passes the gates; the last model's answer is final."""

    pool: CandidatePool
    gates: tuple[str, ...]
    threshold: float
    chain: tuple[str, ...] | None = None  # a named chain's models; None = derive from the router
    chain_name: str | None = None
    max_steps: int = 3
    floor: float = 0.5
    confidence_threshold: float = 0.5
    judge_model: str | None = None
    judge_threshold: float = 0.7
    name: str = "cascade"
    # Which optional request features (logprobs, n) a model's provider honours; the engine may pass its own.
    features: Callable[[ModelSpec], frozenset[str]] = model_features

    @property
    def signals(self) -> SignalSettings:
        """The live gates' thresholds, from the routing settings the pool was built with."""
        s = self.pool.settings
        return SignalSettings(s.logprob_threshold, s.consistency_samples, s.consistency_threshold, s.verify_timeout_s)

    def _signal_notes(self, request: ChatRequest, order: Sequence[Candidate]) -> list[str]:
        """What each gated step asks for beyond the answer, or why a live gate will be skipped for it."""
        notes: list[str] = []
        if not any(g in LIVE_GATES for g in self.gates):
            return notes
        wanted = samples_wanted(request, self.gates, self.signals)
        for cand in order[:-1]:
            feats, asks = self.features(cand.model), []
            if "logprob" in self.gates:
                asks.append("token logprobs" if LOGPROBS in feats else "no logprobs (the provider offers none)")
            if wanted > 1 and SAMPLES in feats:
                asks.append(f"{wanted} answers in one call, prompt billed once")
            elif wanted > 1 and "verify" in self.gates and answer_kind(request) == "number":
                asks.append("one answer, then a second charged call for the verify gate's math check")
            elif wanted > 1:
                asks.append(f"one answer (the provider cannot sample {wanted} in one call)")
            if asks:
                notes.append(f"live signals from {cand.id}: " + "; ".join(asks))
        return notes

    def _order(self, request: ChatRequest, override: Sequence[str] | None) -> tuple[list[Candidate], RoutingDecision]:
        if self.chain is not None:
            allowed = set(override) if override is not None else None
            ids = [m for m in self.chain if allowed is None or m in allowed]
            usable, rejected = self.pool.build(request, ids)
            by_id = {c.id: c for c in usable}
            order = [by_id[m] for m in ids if m in by_id]
            decision = self.pool.decision(self.name, order + rejected)
            decision.note(f"chain {self.chain_name or 'custom'}: {' -> '.join(c.id for c in order)}")
        else:
            usable, rejected = self.pool.build(request, override)
            order = derive_chain(usable, max_steps=self.max_steps, floor=self._floor(request), threshold=self.threshold)
            decision = self.pool.decision(self.name, order + [c for c in usable if c not in order] + rejected)
            decision.note("chain from the router (cheapest first, Pareto front): " + " -> ".join(describe(c) for c in order))
        if not order:
            raise NoCandidateError("the cascade chain has no usable model for this request")
        return order, decision

    def _floor(self, request: ChatRequest) -> float:
        """The least predicted quality a cheap step needs. Free text, JSON and code are rarely written the same way
        twice, so under the predicted gate such an answer passes on its prediction alone: a model predicted below
        the threshold would be paid for and then rejected, so it is not asked."""
        from podium.routing.gates import answer_kind

        if "predicted" in self.gates and answer_kind(request) in (None, "json", "code"):
            return max(self.floor, self.threshold)
        return self.floor

    async def explain(
        self, request: ChatRequest, candidates: Sequence[str] | None = None, *, meta: CallMeta | None = None
    ) -> RoutingDecision:
        order, decision = self._order(request, candidates)
        decision.task_type = self.pool.task_type(request, meta)
        decision.chosen.extend(c.id for c in order)
        decision.note("the cascade calls these in order, escalating only when a gate fails")
        for line in self._signal_notes(request, order):
            decision.note(line)
        return decision

    async def run(
        self,
        request: ChatRequest,
        *,
        caller: ModelCaller,
        meta: CallMeta,
        candidates: Sequence[str] | None = None,
    ) -> RoutedResult:
        order, decision = self._order(request, candidates)
        meta = with_task_type(meta, decision, self.pool.task_type(request, meta))
        predicted = {c.id: c.predicted_quality for c in order if c.predicted_quality is not None}
        attempts: list[Completion] = []
        answers: list[tuple[str, Completion]] = []
        failures: list[tuple[str, BaseException]] = []
        for line in self._signal_notes(request, order):
            decision.note(line)
        for step, cand in enumerate(order, start=1):
            # The last model's answer is kept whatever the gates say: ask it for nothing more.
            live = step < len(order) and any(g in LIVE_GATES for g in self.gates)
            asked = signal_request(request, self.gates, self.features(cand.model), self.signals) if live else request
            try:
                completion = await call_step(step, cand.id, asked, caller=caller, meta=meta, decision=decision,
                                             failures=failures, paid=bool(answers))
            except StepRefused:
                return self._finish(request, answers, attempts, predicted, decision, stop="budget-limited")
            if completion is None:
                continue
            attempts.append(completion)
            answers.append((cand.id, completion))
            record = decision.step(cand.id, completion)
            if step == len(order):
                record.outcome, record.reason = "end of chain", "last model in the chain"
                return self._finish(request, answers, attempts, predicted, decision)
            try:
                results = await self._gates(request, answers, predicted, caller, meta, attempts, decision)
            except StepRefused:  # a judge or verifier call was refused: the budget cannot pay for more
                return self._finish(request, answers, attempts, predicted, decision, stop="budget-limited")
            passed, why = verdict(results)
            record.gates = gate_verdicts(results)
            for r in results:
                if r.name in LIVE_GATES and not r.applicable:
                    decision.note(f"step {step}: {cand.id}: {r.name} gate skipped: {r.reason}")
            record.outcome, record.reason = ("kept" if passed else "escalated"), why.partition(": ")[2] or why
            decision.note(f"step {step}: {cand.id}: {why}")
            if passed:
                decision.chosen.append(cand.id)
                return RoutedResult(completion, attempts, decision, total_cost(attempts))
        if answers:  # the last model failed outright: settle among the earlier answers
            return self._finish(request, answers, attempts, predicted, decision, stop="the last model failed")
        raise AllAttemptsFailedError(failures)

    def _finish(
        self,
        request: ChatRequest,
        answers: list[tuple[str, Completion]],
        attempts: list[Completion],
        predicted: dict[str, float],
        decision: RoutingDecision,
        *,
        stop: str = "end of chain",
    ) -> RoutedResult:
        """End of the chain (or of the budget): keep the best-supported closed answer, else the latest answer."""
        index = len(answers) - 1
        best = best_supported(request, [(m, c.text) for m, c in answers], predicted) if predicted else None
        if best is not None and best[0] != index:
            index = best[0]
            why = f"{stop}: {answers[index][0]}'s answer is best supported (P(right) {best[1]:.2f}); keeping it"
        else:
            why = f"{stop}: keeping the answer of {answers[index][0]}, the latest one paid for"
        decision.note(why)
        for record in decision.steps:
            if record.completion is answers[index][1] and record.outcome != "end of chain":
                gate = f" (its gate had said: {record.reason})" if record.outcome == "escalated" else ""
                record.outcome, record.reason = "kept", why + gate
        model, completion = answers[index]
        decision.chosen.append(model)
        return RoutedResult(completion, attempts, decision, total_cost(attempts))

    async def _gates(
        self,
        request: ChatRequest,
        answers: list[tuple[str, Completion]],
        predicted: dict[str, float],
        caller: ModelCaller,
        meta: CallMeta,
        attempts: list[Completion],
        decision: RoutingDecision,
    ) -> list[GateResult]:
        model, completion = answers[-1]
        earlier = answers[:-1]
        results: list[GateResult] = []
        # Replay of outcome-only data: no answer text to read, so only the prediction can judge the answer.
        gates = self.gates if text_recorded(completion) else tuple(g for g in self.gates if g == "predicted")
        for gate in gates:
            if gate == "hedging":
                results.append(hedging_gate(request, completion, threshold=self.confidence_threshold))
            elif gate == "format":
                results.append(format_gate(request, completion))
            elif gate == "final_answer":
                results.append(final_answer_gate(request, completion))
            elif gate == "truncation":
                results.append(truncation_gate(request, completion))
            elif gate == "arithmetic":
                results.append(arithmetic_gate(request, completion))
            elif gate == "agreement":
                results.append(agreement_gate(request, completion, [c for _, c in earlier]))
            elif gate == "predicted":
                results.append(posterior_gate(
                    request, (model, completion.text), [(m, c.text) for m, c in earlier], predicted,
                    threshold=self.threshold,
                ))
            elif gate == "logprob":
                results.append(logprob_gate(request, completion, threshold=self.signals.logprob_threshold))
            elif gate == "consistency":
                results.append(self._consistency(request, completion, model))
            elif gate == "verify":
                results.append(await self._verify(request, model, completion, caller, meta, attempts, decision))
            elif gate == "judge" and self.judge_model is not None:
                results.append(await self._judge(request, completion, caller, meta, attempts, decision))
        return results

    def _consistency(self, request: ChatRequest, completion: Completion, model: str) -> GateResult:
        if not completion.samples and SAMPLES not in self.features(self.pool.catalog.get(model)):
            why = f"{model}'s provider cannot sample several answers in one call (n); no samples to compare"
            return skipped("consistency", why)
        return consistency_gate(request, completion, threshold=self.signals.consistency_threshold)

    async def _verify(
        self, request: ChatRequest, model: str, completion: Completion, caller: ModelCaller, meta: CallMeta,
        attempts: list[Completion], decision: RoutingDecision,
    ) -> GateResult:
        """The verify gate; a second math sample it has to ask for is a charged call, recorded as a step."""
        try:
            result, extra = await verify_gate(
                request, completion, model=model, caller=caller, meta=meta, timeout_s=self.signals.verify_timeout_s
            )
        except CALL_ERRORS as exc:  # no second sample: no verdict; the other gates decide
            decision.failed(model, exc, role="verifier")
            return skipped("verify", f"the second sample from {model} failed ({type(exc).__name__}); no verdict")
        except BudgetExceededError as exc:
            decision.refused(model, exc, role="verifier")
            raise StepRefused from exc
        if extra is not None:
            attempts.append(extra)
            decision.step(model, extra, role="verifier", outcome="passed" if result.passed else "rejected",
                          reason=f"second sample for the verify gate: {result.reason}")
        return result

    async def _judge(
        self, request: ChatRequest, completion: Completion, caller: ModelCaller, meta: CallMeta,
        attempts: list[Completion], decision: RoutingDecision,
    ) -> GateResult:
        assert self.judge_model is not None
        try:
            result, judged = await judge_gate(
                request, completion, judge_model=self.judge_model, caller=caller, meta=meta,
                threshold=self.judge_threshold,
            )
        except CALL_ERRORS as exc:  # a judge that cannot answer gives no verdict; the other gates decide
            decision.failed(self.judge_model, exc, role="judge")
            why = f"the judge {self.judge_model} failed ({type(exc).__name__}); no verdict"
            return GateResult(True, "judge", reason=why, applicable=False)
        except BudgetExceededError as exc:
            decision.refused(self.judge_model, exc, role="judge")
            raise StepRefused from exc
        attempts.append(judged)
        decision.step(
            self.judge_model, judged, role="judge", outcome="passed" if result.passed else "rejected",
            reason=result.reason,
        )
        return result


def gate_verdicts(results: Sequence[GateResult]) -> dict[str, str]:
    """Each gate's verdict as ``--explain`` and the ledger show it: passed/failed for gates that applied, and
    skipped for a live gate whose signal the provider does not offer."""
    out = {}
    for r in results:
        if r.applicable:
            out[r.name] = f"{'passed' if r.passed else 'failed'}: {r.reason}"
        elif r.name in LIVE_GATES:
            out[r.name] = f"skipped: {r.reason}"
    return out


def verdict(results: Sequence[GateResult]) -> tuple[bool, str]:
    """Hard gates must all pass. Code that passed the prompt's own tests (the verify gate) is kept. Otherwise the
    answer-aware predicted gate decides (it already weighs agreement); without router predictions, agreement with
    an earlier answer keeps the answer and disagreement escalates."""
    applicable = [r for r in results if r.applicable]
    failed = [r for r in applicable if r.name not in _EVIDENCE and not r.passed]
    if failed:
        return False, "escalating: " + "; ".join(f"{r.name} gate failed ({r.reason})" for r in failed)
    kept = "; ".join(f"{r.name}: {r.reason}" for r in applicable if r.passed) or "no gate applies"
    if any(r.name == "verify" and r.passed and r.reason.startswith("code:") for r in applicable):
        return True, f"kept: {kept}"  # the prompt's own tests passed: stronger evidence than any prediction
    evidence = next((r for r in applicable if r.name == "predicted"), None)
    if evidence is None:
        evidence = next((r for r in applicable if r.name == "agreement"), None)
    if evidence is not None and not evidence.passed:
        return False, f"escalating: {evidence.name}: {evidence.reason}"
    return True, f"kept: {kept}"
