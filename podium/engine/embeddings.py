"""Embedding calls: one upstream call, priced from the catalog, reserved and settled in the ledger like a chat call.

A dedicated small path rather than the chat pipeline: the chat middlewares (cache, retries, fallback, strategies)
speak ChatRequest and Completion. What an embedding call shares with chat is the ledger: the same reservation
(worst case held on every budget the call belongs to: key, team, user, global, ``max_cost_usd``), the same row,
settled to the exact cost. The reservation's prompt bound is the chat bound of the same texts, which is above the
embedding bound (no chat template), so a hard budget is never overshot. No retries and no fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from podium.core.clock import Clock
from podium.core.embeddings import EmbeddingInput, EmbeddingResult, embedding_inputs, input_text
from podium.core.errors import ContextWindowError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta
from podium.core.tokens import estimate_text_tokens
from podium.core.types import ChatRequest, Completion, Message
from podium.engine.providers import ProviderPool

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.ledger.ledger import Ledger

EMBEDDING_TASK = "embedding"  # the ledger rows' task_type when the caller names none


class Embedder(Protocol):
    async def embed(
        self, inputs: tuple[EmbeddingInput, ...], model: ModelSpec, *, dimensions: int | None = None,
        user: str | None = None,
    ) -> EmbeddingResult: ...


def refuse_embedding_model(spec: ModelSpec) -> None:
    """A chat call naming an embedding model fails before anything is sent, with a one-line error."""
    if spec.kind == "embedding":
        raise ValidationError(
            f"model: {spec.id} is an embedding model; use it through POST /v1/embeddings (Podium.embed), "
            "not a chat call", field="model", value=spec.id, valid="a chat model (kind: chat)",
        )


class EmbeddingCaller:
    """Runs ``Podium.embed``: check the model and inputs, reserve, call, price, settle."""

    def __init__(
        self, *, catalog: Catalog, providers: ProviderPool, ledger: Ledger | None, clock: Clock, ids: Callable[[], str],
        policies_for: Callable[[CallMeta], Any] = lambda _meta: None,
    ) -> None:
        self._catalog, self._providers, self._ledger = catalog, providers, ledger
        self._clock, self._ids, self._policies_for = clock, ids, policies_for

    async def embed(
        self, input: object, *, model: str, meta: CallMeta, dimensions: int | None = None,
        request_id: str | None = None,
    ) -> EmbeddingResult:
        spec = self._catalog.get(model)
        if spec.kind != "embedding":
            raise ValidationError(
                f"model: {spec.id} is a chat model, not an embedding model; use one whose kind is embedding, such as "
                "openai:text-embedding-3-small", field="model", value=spec.id, valid="an embedding model",
            )
        if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)
                                       or dimensions < 1):
            raise ValidationError("dimensions: use a whole number of at least 1", field="dimensions", value=dimensions)
        inputs = embedding_inputs(input)
        texts = [input_text(i) for i in inputs]
        for i, (item, text) in enumerate(zip(inputs, texts, strict=True)):
            tokens = len(item) if isinstance(item, tuple) else estimate_text_tokens(text)
            if tokens > spec.context_window:
                raise ContextWindowError(spec.id, tokens, spec.context_window)
        provider = self._providers.for_model(spec)
        if not callable(getattr(provider, "embed", None)):
            raise ValidationError(f"model: provider {provider.name!r} serves no embeddings for {spec.id}",
                                  field="model", value=spec.id)
        request = ChatRequest(tuple(Message.user(t) for t in texts), model=spec.id, max_tokens=1, user=meta.user)
        policies = self._policies_for(meta)
        if policies:
            policies.check(spec, request)  # raises before anything is sent
        ctx = CallContext(request=request, model=spec, meta=replace(meta, task_type=meta.task_type or EMBEDDING_TASK),
                          request_id=request_id or self._ids(), clock=self._clock)
        return await self._ledgered(ctx, provider, inputs, dimensions)

    async def _ledgered(
        self, ctx: CallContext, provider: Embedder, inputs: tuple[EmbeddingInput, ...], dimensions: int | None
    ) -> EmbeddingResult:
        hold = await self._ledger.reserve(ctx) if self._ledger is not None else None
        started = self._clock.monotonic()
        try:
            result = await provider.embed(inputs, ctx.model, dimensions=dimensions, user=ctx.meta.user)
        except BaseException as exc:
            if self._ledger is not None and hold is not None:
                self._ledger.fail(hold, ctx, exc, (self._clock.monotonic() - started) * 1000)
            raise
        cost = ctx.model.cost(result.usage)
        result = replace(result, cost_usd=cost, request_id=ctx.request_id, model=ctx.model.id)
        if self._ledger is not None and hold is not None:
            row = Completion(text="", model=result.model, provider=result.provider, usage=result.usage, cost_usd=cost,
                             latency_ms=result.latency_ms, request_id=ctx.request_id)
            settled = self._ledger.settle(hold, ctx, row, result.latency_ms)
            if self._ledger.settle_ahead:  # as LedgerMiddleware: the answer leaves once its price is durable
                with contextlib.suppress(Exception):
                    await asyncio.shield(asyncio.wrap_future(settled))
        return result
