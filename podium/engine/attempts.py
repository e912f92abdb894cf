"""A call to a named model: its attempts through the middleware pipeline, moving to a fallback model on errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from podium.core.clock import Clock
from podium.core.errors import AllAttemptsFailedError, ContextWindowError, MissingAPIKeyError, ProviderError
from podium.core.events import Event, EventSink, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, Handler
from podium.core.tokens import estimate_request_tokens
from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.engine.embeddings import refuse_embedding_model
from podium.engine.fallbacks import FallbackChooser
from podium.engine.providers import ProviderPool

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.policy import PolicySet
    from podium.policy.rules import Violation

Emit = Callable[[StreamChunk], Awaitable[None]]


@dataclass(slots=True)
class CallScope:
    """One user-level call: every upstream attempt under it shares the request id and counts attempts."""

    request_id: str
    attempts: int = 0
    tried: list[tuple[str, BaseException]] = field(default_factory=list)


class AttemptRunner:
    """Sends a call to its model and, on a provider error, to the next usable fallback (``fallback_models``, in the
    order the ``FallbackChooser`` gives) until one answers or none is left."""

    def __init__(
        self,
        *,
        catalog: Catalog,
        providers: ProviderPool,
        handler: Handler,
        clock: Clock,
        chooser: FallbackChooser,
        fallback_models: Sequence[str],
        policies_for: Callable[[CallMeta], PolicySet | None],
        emit: EventSink,
    ) -> None:
        self._catalog, self._providers, self._handler, self._clock = catalog, providers, handler, clock
        self._chooser, self._fallback_models = chooser, tuple(fallback_models)
        self._policies_for, self._emit = policies_for, emit

    async def call(
        self,
        spec: ModelSpec,
        request: ChatRequest,
        meta: CallMeta,
        emit: Emit | None,
        scope: CallScope,
        *,
        fallback: bool = True,
    ) -> Completion:
        """``fallback=False`` (a strategy's sub-call): only ``spec``; the strategy moves on among its candidates."""
        refuse_embedding_model(spec)
        tokens = estimate_request_tokens(request)
        if tokens > spec.context_window:  # refused before sending: an upstream would fail or truncate it
            raise ContextWindowError(spec.id, tokens, spec.context_window)
        policies = self._policies_for(meta)
        warnings = policies.check(spec, request) if policies else []  # raises before anything is sent

        def usable(m: ModelSpec) -> bool:
            """A fallback must be reachable, enabled, allowed by policy and by the caller (a key's allow-list)."""
            return (
                m.kind == "chat"
                and tokens <= m.context_window
                and self._providers.can_serve(m)
                and (not policies or policies.allows(m, request))
                and (meta.model_allowed is None or meta.model_allowed(m.id))
            )

        fallbacks = (self._catalog.get(m) for m in self._fallback_models) if fallback else ()
        pool = [spec] + [m for m in fallbacks if m.id != spec.id and usable(m)]
        tried: list[ModelSpec] = []
        errors: list[tuple[str, BaseException]] = []
        current = spec
        while True:
            if policies and current is not spec:
                warnings = policies.check(current, request)
            self.warn(warnings)
            ctx = self._context(request, current, meta, scope, emit)
            try:
                completion = await self._handler(ctx)
            except (ProviderError, MissingAPIKeyError) as exc:
                if isinstance(exc, MissingAPIKeyError) and not tried:
                    raise  # the model the user asked for cannot run at all: say which variable is missing
                scope.attempts = ctx.attempt
                tried.append(current)
                errors.extend(ctx.attempt_errors or [(current.id, exc)])
                nxt = [] if ctx.emitted_chunks or not fallback else [
                    m for m in self._chooser.next_candidates(exc, tried, pool) if usable(m)
                ]
                if not nxt:
                    if len(tried) == 1:
                        raise
                    raise AllAttemptsFailedError(errors) from exc
                self._emit(Event(EventType.FALLBACK, {"from": current.id, "to": nxt[0].id, "error": type(exc).__name__}))
                current = nxt[0]
            else:
                scope.attempts = ctx.attempt
                if policies:
                    self.warn(policies.after_call(current.id, completion.latency_ms))
                return completion

    def _context(
        self, request: ChatRequest, model: ModelSpec, meta: CallMeta, scope: CallScope, emit: Emit | None
    ) -> CallContext:
        if self._providers.replay:
            self._providers.for_model(model)  # replay loads its data when built: outside the call's timing
        return CallContext(
            request=request.with_model(model.id),
            model=model,
            meta=meta,
            request_id=scope.request_id,
            attempt=scope.attempts + 1,
            clock=self._clock,
            emit=emit,
        )

    def warn(self, violations: Sequence[Violation]) -> None:
        for v in violations:
            self._emit(Event(EventType.POLICY_WARNING, v.to_dict()))
