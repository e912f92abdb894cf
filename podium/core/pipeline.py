"""The per-attempt call pipeline: a chain of middlewares around one provider call.

Ledger, budgets, rate limits, retries, breakers, cache, metrics and tracing are each a middleware living in
their own layer; the engine composes them. Streaming and non-streaming go through the same chain: when
streaming, the terminal handler pushes chunks through ``ctx.emit`` and still returns the assembled Completion,
so every middleware sees the final usage and cost of a streamed call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, StreamChunk


@dataclass(slots=True)
class CallMeta:
    """Who and what a call is for: used by budgets, ledger rows, metrics labels and policies."""

    project: str | None = None  # run / project id
    key: str | None = None  # virtual key id (never the secret)
    team: str | None = None
    user: str | None = None
    org: str | None = None
    strategy: str | None = None
    task_type: str | None = None
    complexity: str | None = None
    max_cost_usd: Decimal | None = None  # per-call cap (--max-cost)
    no_cache: bool = False  # do not read the response cache
    no_store: bool = False  # do not write the response cache
    log_text: bool = False  # store prompt and response text in the ledger
    tags: dict[str, str] = field(default_factory=dict)
    # Which model ids this call may use besides the one asked for (a gateway key's allow-list); None = any.
    model_allowed: Callable[[str], bool] | None = None


@dataclass(slots=True)
class CallContext:
    """One attempt at one model. Middlewares read it; the retry middleware records its failed attempts on it."""

    request: ChatRequest
    model: ModelSpec
    meta: CallMeta
    request_id: str
    attempt: int = 1
    clock: Clock = SYSTEM_CLOCK
    emit: Callable[[StreamChunk], Awaitable[None]] | None = None
    emitted_chunks: int = 0
    # (model id, error) of every failed attempt, in order: the engine's AllAttemptsFailedError lists them.
    attempt_errors: list[tuple[str, BaseException]] = field(default_factory=list)
    retry_stop_reason: str | None = None  # why the retry middleware gave up (max attempts, retry budget)

    @property
    def streaming(self) -> bool:
        return self.emit is not None

    async def send(self, chunk: StreamChunk) -> None:
        if self.emit is not None:
            self.emitted_chunks += 1
            await self.emit(chunk)


Handler = Callable[[CallContext], Awaitable[Completion]]


class Middleware(Protocol):
    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion: ...


def compose(middlewares: Sequence[Middleware], terminal: Handler) -> Handler:
    """Wrap ``terminal`` so that ``middlewares[0]`` runs outermost."""
    handler = terminal
    for mw in reversed(middlewares):
        handler = _bind(mw, handler)
    return handler


def _bind(mw: Middleware, nxt: Handler) -> Handler:
    async def run(ctx: CallContext) -> Completion:
        return await mw(ctx, nxt)

    return run


# A strategy calls models through this: (model id, request, meta) -> priced Completion.
ModelCaller = Callable[[str, ChatRequest, CallMeta], Awaitable[Completion]]
