"""The innermost handler of the call pipeline: one provider call, streamed or not, then priced from the catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from podium.core.errors import MalformedResponseError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, Handler
from podium.core.provider import Provider
from podium.core.types import Completion
from podium.providers.assemble import StreamAssembler


def price(completion: Completion, spec: ModelSpec) -> Completion:
    """Set cost_usd from catalog prices unless the provider already knows the exact cost (replay)."""
    if completion.cost_usd is not None:
        return completion
    return replace(completion, cost_usd=spec.completion_cost(completion))


def make_terminal(provider_for: Callable[[ModelSpec], Provider]) -> Handler:
    async def call_provider(ctx: CallContext) -> Completion:
        provider = provider_for(ctx.model)
        if not ctx.streaming:
            completion = await provider.complete(ctx.request, ctx.model)
        else:
            completion = await _stream(ctx, provider)
        return price(replace(completion, request_id=ctx.request_id), ctx.model)

    return call_provider


async def _stream(ctx: CallContext, provider: Provider) -> Completion:
    start = ctx.clock.monotonic()
    assembler = StreamAssembler()
    first_token_ms: float | None = None
    async for chunk in provider.stream(ctx.request, ctx.model):
        if chunk.delta and first_token_ms is None:
            first_token_ms = (ctx.clock.monotonic() - start) * 1000
        assembler.add(chunk)
        await ctx.send(chunk)
    if assembler.finish_reason is None:
        raise MalformedResponseError(
            f"stream from {ctx.model.id} ended without a finish reason; the connection was probably cut",
            provider=ctx.model.provider,
            model=ctx.model.id,
        )
    completion = assembler.completion(
        model=ctx.model.id, provider=ctx.model.provider, latency_ms=(ctx.clock.monotonic() - start) * 1000
    )
    meta: dict[str, object] = {"time_to_first_token_ms": first_token_ms}
    if assembler.usage is None:
        meta["usage_missing"] = True
    return replace(completion, metadata=meta)
