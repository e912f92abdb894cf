"""The async Podium client: resolve a model or run a strategy, then send each attempt through the pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Self, Unpack

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.embeddings import EmbeddingResult
from podium.core.errors import ConfigError
from podium.core.events import Event, EventSink, EventType, discard
from podium.core.pipeline import CallMeta, Middleware, compose
from podium.core.routed import GateRecorder, RoutedResult, RouteStep, RoutingDecision
from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.engine.attempts import AttemptRunner, CallScope, Emit
from podium.engine.candidates import CandidateResolver
from podium.engine.embeddings import EmbeddingCaller
from podium.engine.fallbacks import FallbackChooser, NextUntriedModel
from podium.engine.providers import ProviderPool
from podium.engine.stream import CompletionStream
from podium.engine.terminal import make_terminal
from podium.policy import PolicyHierarchy, PolicySet
from podium.telemetry.tracing import routing_attributes, routing_span

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.config import PodiumConfig
    from podium.config.routing import RoutingSettings
    from podium.engine.assembly import ClientOptions
    from podium.ledger.feedback import Feedback
    from podium.routing.strategies.base import QualityPredictor, Strategy

DEFAULT_STRATEGY = "cheapest"


def routed_strategy(
    routing: RoutingSettings | None, default_model: str | None, model: str | None, strategy: str | None
) -> str | None:
    """The strategy a call runs: the one asked for; none when a model is named (or configured as
    ``default_model``); else the configured ``routing.default_strategy``."""
    if strategy is not None:
        return strategy
    if model is not None or default_model is not None:
        return None
    return (routing.default_strategy if routing is not None else None) or DEFAULT_STRATEGY


class Podium:
    """Async client. Use ``Podium.from_config()`` or inject every part (tests, embedding)."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        providers: ProviderPool,
        clock: Clock = SYSTEM_CLOCK,
        middlewares: Sequence[Middleware] = (),
        fallback: FallbackChooser | None = None,
        fallback_models: Sequence[str] = (),
        default_model: str | None = None,
        routing_settings: RoutingSettings | None = None,
        router_loader: Callable[[], QualityPredictor] | None = None,
        emit: EventSink = discard,
        id_factory: Callable[[], str] | None = None,
        closers: Iterable[Callable[[], Awaitable[None]]] = (),
        policies: PolicyHierarchy | None = None,
    ) -> None:
        self.catalog = catalog
        self._providers = providers
        self._default_model = default_model
        self._routing = routing_settings
        self._router_loader = router_loader
        self._router: QualityPredictor | None = None
        self._resolver: CandidateResolver | None = None
        self._emit = emit
        self._ids = id_factory or (lambda: uuid.uuid4().hex)
        self._closers = list(closers)
        self._policies = policies or None  # an empty hierarchy costs nothing per call
        self._attempts = AttemptRunner(
            catalog=catalog, providers=providers, handler=compose(list(middlewares), make_terminal(providers.for_model)),
            clock=clock, chooser=fallback or NextUntriedModel(), fallback_models=fallback_models,
            policies_for=self._policy_set, emit=emit,
        )
        # Middlewares keeping a row per attempt (the ledger) take a strategy's gate verdict once it is known.
        self._gate_recorders = [mw for mw in middlewares if isinstance(mw, GateRecorder)]
        # The attempt spans' tracer also traces each routed call: one span over all of a strategy's sub-calls.
        self._tracer = next((t for mw in middlewares if (t := getattr(mw, "tracer", None)) is not None), None)
        # ... and the one that stores users' verdicts on answers (``feedback``).
        self._feedback_store = next((r for mw in middlewares if callable(r := getattr(mw, "record_feedback", None))),
                                    None)
        # Embedding calls are reserved and settled in the same ledger as chat calls.
        self._embedder = EmbeddingCaller(
            catalog=catalog, providers=providers, clock=clock, ids=self._ids, policies_for=self._policy_set,
            ledger=next((lg for mw in middlewares if (lg := getattr(mw, "ledger", None)) is not None), None),
        )

    @classmethod
    def from_config(cls, config: PodiumConfig | None = None, **kwargs: Unpack[ClientOptions]) -> Podium:
        """Build a client from a PodiumConfig (loaded from the usual places when None)."""
        from podium.engine.assembly import build_client

        return build_client(cls, config, **kwargs)

    # -- public API ---------------------------------------------------------------------------------------------

    async def complete(
        self,
        request: ChatRequest | str,
        *,
        model: str | None = None,
        strategy: str | None = None,
        meta: CallMeta | None = None,
        request_id: str | None = None,
        temperature: float | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Completion:
        """One call: to ``model`` (with configured fallbacks) or through ``strategy``.

        ``temperature``, ``tools`` and ``response_format`` set those fields of the request (a prompt string or a
        ChatRequest) when given.

        A routed answer's ``routed`` is the RoutedResult: ``total_cost_usd`` and ``usage`` of every
        attempt, and ``summary()`` of the models tried. ``request_id`` names the call in the ledger (default: a new
        id); a gateway passes the id it already sent to its client.
        """
        options = {"temperature": temperature, "tools": tuple(tools) if tools is not None else None,
                   "response_format": response_format}
        req = replace(_as_request(request), **{k: v for k, v in options.items() if v is not None})
        return await self._dispatch(req, model, strategy, meta or CallMeta(), None, request_id)

    def stream(
        self,
        request: ChatRequest | str,
        *,
        model: str | None = None,
        strategy: str | None = None,
        meta: CallMeta | None = None,
        request_id: str | None = None,
    ) -> CompletionStream:
        """Stream a call. Strategies that must judge a whole answer (cascade, ensemble) stream it once accepted."""
        req, m = _as_request(request), meta or CallMeta()
        return CompletionStream(lambda emit: self._dispatch(req, model, strategy, m, emit, request_id))

    async def route(
        self,
        request: ChatRequest | str,
        *,
        strategy: str,
        meta: CallMeta | None = None,
        candidates: Sequence[str] | None = None,
        request_id: str | None = None,
    ) -> RoutedResult:
        """Run a routing strategy and return its RoutedResult (completion, attempts, decision)."""
        req = _as_request(request)
        m = replace(meta or CallMeta(), strategy=strategy)  # the caller's meta is theirs: never mutate it
        strat = self._strategy(strategy, candidates, req, m, trial=True)
        scope = CallScope(request_id or self._ids())

        calls = 0
        rows: list[AnsweredCall] = []  # every answer of the run, with the ledger row it was settled on

        async def caller(model_id: str, sub: ChatRequest, sub_meta: CallMeta) -> Completion:
            # Strategies may call models in parallel (ensemble): each sub-call gets its own id under the
            # routed request's, so attempt numbers never collide in the ledger.
            nonlocal calls
            calls += 1
            spec = self.catalog.get(model_id)
            sub_scope = CallScope(f"{scope.request_id}.{calls}")
            # No engine fallback inside a strategy: the strategy moves on among its own candidates, so a routed call
            # never leaves its candidate list and `tried` lists every model that answered or failed.
            completion = await self._attempts.call(spec, sub.with_model(spec.id), sub_meta, None, sub_scope, fallback=False)
            rows.append(AnsweredCall(completion, sub_scope.request_id, sub_scope.attempts))
            return completion

        if self._tracer is None:
            result = await strat.run(req, caller=caller, meta=m)
        else:
            with routing_span({"strategy": strategy, "request_id": scope.request_id}, self._tracer) as span:
                result = await strat.run(req, caller=caller, meta=m)
                span.set_attributes(routing_attributes(result.decision))
                span.set_attribute("podium.routing.total_cost_usd", str(result.total_cost_usd))
        result.request_id = scope.request_id
        self._record_gates(result.decision.steps, rows)
        self._emit(Event(EventType.ROUTING_DECIDED, {"strategy": strategy, "decision": result.decision}))
        return result

    async def embed(
        self,
        input: str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]],
        *,
        model: str,
        meta: CallMeta | None = None,
        dimensions: int | None = None,
        request_id: str | None = None,
    ) -> EmbeddingResult:
        """Embed ``input`` (a text, texts, or token arrays) with an embedding model: one vector per input, priced
        (``cost_usd``) and recorded in the ledger under the caller's budgets like a chat call."""
        return await self._embedder.embed(input, model=model, meta=meta or CallMeta(), dimensions=dimensions,
                                          request_id=request_id)

    async def feedback(
        self, request_id: str, score_or_label: str | float, note: str | None = None, *, key: str | None = None
    ) -> Feedback:
        """Rate a call's answer: ``"good"``, ``"bad"`` or a score 0..1, stored in the ledger (a repeat replaces
        it). A routed call's verdict goes to the model that answered. ``key`` limits it to that key's calls."""
        if self._feedback_store is None:
            raise ConfigError(
                "feedback is stored in the ledger, which is disabled; set ledger.enabled: true",
                field="ledger.enabled", value=False, valid=[True],
            )
        return await self._feedback_store(request_id, score_or_label, note=note, key=key)

    async def explain(
        self,
        request: ChatRequest | str,
        *,
        strategy: str,
        candidates: Sequence[str] | None = None,
        meta: CallMeta | None = None,
    ) -> RoutingDecision:
        """The routing decision a strategy would take, without calling any model."""
        req, m = _as_request(request), meta or CallMeta()
        return await self._strategy(strategy, candidates, req, m).explain(req, meta=m)

    def router(self) -> QualityPredictor | None:
        """The learned quality router, loaded on first use."""
        if self._router is None and self._router_loader is not None:
            self._router = self._router_loader()
        return self._router

    async def aclose(self) -> None:
        """Close the providers, then the layers (ledger, cache, telemetry), even when a provider fails to close."""
        try:
            await self._providers.aclose()
        finally:
            for close in self._closers:
                await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals ----------------------------------------------------------------------------------------------

    def _strategy(
        self, name: str, candidates: Sequence[str] | None, request: ChatRequest, meta: CallMeta, *, trial: bool = False
    ) -> Strategy:
        from podium.routing import build_strategy

        settings = self._routing_settings()
        if self._resolver is None:
            self._resolver = CandidateResolver(self.catalog, self._providers, settings, router=self.router,
                                               policies_for=self._policy_set)
        resolved = self._resolver.resolve(request, meta, candidates, trial=trial)
        return build_strategy(name, settings=settings, catalog=self.catalog, router=self.router(), candidates=resolved)

    def _routing_settings(self) -> RoutingSettings:
        if self._routing is None:
            from podium.config.routing import RoutingSettings

            self._routing = RoutingSettings()
        return self._routing

    async def _dispatch(
        self,
        request: ChatRequest,
        model: str | None,
        strategy: str | None,
        meta: CallMeta,
        emit: Emit | None,
        request_id: str | None = None,
    ) -> Completion:
        model = model or request.model
        strategy = routed_strategy(self._routing_settings(), self._default_model, model, strategy)
        if strategy is not None:
            result = await self.route(request, strategy=strategy, meta=meta, request_id=request_id)
            # The whole RoutedResult: total_cost_usd and usage of every attempt, and what was tried.
            completion = replace(result.completion, routed=result)
            if emit is not None:
                await emit(StreamChunk(delta=completion.text))
                await emit(StreamChunk(finish_reason=completion.finish_reason or "stop", usage=completion.usage))
            return completion
        spec = self.catalog.get(model or self._default_model)
        scope = CallScope(request_id or self._ids())
        return await self._attempts.call(spec, request.with_model(spec.id), meta, emit, scope)

    def _record_gates(self, steps: Sequence[RouteStep], rows: list[AnsweredCall]) -> None:
        """Once a run is over, each answer a gate judged gets its verdict on its ledger row: one update per row."""
        if not self._gate_recorders:
            return
        for step in steps:
            record = step.gate_record()
            row = next((r for r in rows if r.completion is step.completion), None) if record is not None else None
            if row is None or record is None:
                continue
            rows.remove(row)  # one verdict per row
            for recorder in self._gate_recorders:
                recorder.record_gates(row.request_id, row.attempt, record)

    def _policy_set(self, meta: CallMeta) -> PolicySet | None:
        """The policies that apply to a call: global, then its team, job (project) and key."""
        if self._policies is None:
            return None
        return self._policies.policies_for(team=meta.team, job=meta.project, key=meta.key)


def _as_request(request: ChatRequest | str) -> ChatRequest:
    return ChatRequest.from_prompt(request) if isinstance(request, str) else request


@dataclass(frozen=True, slots=True)
class AnsweredCall:
    """One answer of a routed run and the ledger row (request id, attempt) it was settled on."""

    completion: Completion
    request_id: str
    attempt: int
