"""Answering one chat request through the engine: a model directly, or a ``podium/*`` virtual model's strategy.

``usage`` in a response counts every attempt the call paid for (a cascade may call several models), and
``x-podium-cost-usd`` is their total, so the two always agree. Streaming answers cannot carry the cost in a
header (headers go out before the answer; a routed stream's answer is whole before it streams, so it has the header
too); the closing usage chunk has it in an extra ``podium`` object.

``x-podium-request-id`` is the call's id: a routed call's ledger rows are ``<id>.<n>``, and
``x-podium-attempt-request-id`` (``podium.attempt_request_id`` in a stream) is the ledger row of the attempt that
answered. A direct stream's id is made by the gateway and handed to the engine, so it is also its ledger row's id.
``x-podium-task-type`` (or ``metadata.task_type`` in the body; the header wins) names the call's task type, as
``podium ask --task-type`` does: ``podium/table`` routes by it, the learned cascade uses its plan, the ledger records it.
``x-podium-budget-limited: true`` marks a routed answer a budget cut short: a later model was refused before it
was sent, so the best answer already paid for came back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from podium.core.clock import Clock
from podium.core.errors import ValidationError
from podium.core.pipeline import CallMeta
from podium.core.types import Completion, StreamChunk, Usage
from podium.server.errors import GatewayError, to_gateway_error
from podium.server.openai_request import ParsedChat
from podium.server.openai_response import DONE, ChunkWriter, completion_json, sse
from podium.telemetry.tracing import record_answer

if TYPE_CHECKING:
    from podium.engine import CompletionStream, Podium

log = logging.getLogger("podium.server")

# The virtual models a client may name instead of a catalog model, and the strategy each runs.
VIRTUAL_MODELS: dict[str, str] = {
    "podium/auto": "auto",
    "podium/cheapest": "cheapest",
    "podium/cascade": "cascade",
    "podium/ensemble": "ensemble",
    "podium/table": "table",
}
TASK_TYPE_HEADER = "x-podium-task-type"
OnUsage = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Target:
    """What a request's ``model`` names: a catalog model id, or a strategy (with the models it may pick)."""

    name: str
    model: str | None = None
    strategy: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    completion: Completion
    usage: Usage
    cost_usd: Decimal | None
    upstream_s: float
    request_id: str | None = None  # the call's id: a routed call's, else the completion's own
    budget_limited: bool = False

    def headers(self, request_id: str) -> dict[str, str]:
        return response_headers(self.completion, request_id, cost_usd=self.cost_usd, budget_limited=self.budget_limited)


def response_headers(
    completion: Completion | None,
    request_id: str,
    *,
    model: str | None = None,
    cost_usd: Decimal | None = None,
    budget_limited: bool = False,
) -> dict[str, str]:
    """The x-podium-* headers (and ``x-request-id``) of one response."""
    headers = {"x-podium-model": model or (completion.model if completion else ""), "x-podium-request-id": request_id,
               "x-request-id": request_id}
    if completion is not None and completion.request_id:
        headers["x-podium-attempt-request-id"] = completion.request_id
    if cost_usd is not None:
        headers["x-podium-cost-usd"] = str(cost_usd)
    if budget_limited:
        headers["x-podium-budget-limited"] = "true"
    return headers




class ChatService:
    """Runs parsed requests on a Podium client and renders them; times the gateway's own overhead."""

    def __init__(
        self,
        client: Podium,
        *,
        clock: Clock,
        observe_overhead: Callable[[float], None],
        secrets: Callable[[], Sequence[str]],
        task_table: Iterable[str] = (),
    ) -> None:
        self.client = client
        self._task_table = tuple(task_table)
        self._clock = clock
        self._observe = observe_overhead
        self._secrets = secrets

    def target(self, name: str) -> Target:
        """Resolve ``model``; raises UnknownModelError (404) for a name neither virtual nor in the catalog."""
        strategy = VIRTUAL_MODELS.get(name)
        if strategy is not None:
            return Target(name, strategy=strategy)
        return Target(name, model=self.client.catalog.resolve(name))

    def task_type(self, header: str | None, parsed: ParsedChat) -> str | None:
        """The caller's task type (the header, else ``metadata.task_type``) as a known one; 400 names where it came
        from and lists the valid task types."""
        given, where = (header, TASK_TYPE_HEADER) if header is not None else (parsed.task_type, "metadata.task_type")
        if given is None:
            return None
        from podium.routing.strategies import task_type_name

        try:
            return task_type_name(given, self._task_table)
        except ValidationError as exc:
            raise GatewayError(400, f"{where}: {exc}", code="invalid_task_type", param=where) from None

    async def answer(self, parsed: ParsedChat, target: Target, meta: CallMeta) -> Answer:
        """A whole answer; strategies report every attempt's usage and their total cost."""
        if target.strategy is None:
            c = await self.client.complete(parsed.request, model=target.model, meta=meta)
            record_answer(c, c.usage, c.cost_usd)
            return Answer(c, c.usage, c.cost_usd, c.latency_ms / 1000.0, c.request_id)
        result = await self.client.route(parsed.request, strategy=target.strategy, meta=meta)
        record_answer(result.completion, result.usage, result.total_cost_usd)
        return Answer(
            result.completion, result.usage, result.total_cost_usd, result.upstream_ms / 1000.0,
            result.request_id or result.completion.request_id, result.decision.budget_limited,
        )

    def render(self, answer: Answer, started: float) -> tuple[dict[str, Any], dict[str, str]]:
        """The ``chat.completion`` body and the x-podium-* headers; records the overhead."""
        c = answer.completion
        request_id = answer.request_id or uuid.uuid4().hex
        body = completion_json(c, response_id=f"chatcmpl-{request_id}", created=self._created(), usage=answer.usage,
                               cost_usd=answer.cost_usd)
        self._observe(self._clock.monotonic() - started - answer.upstream_s)
        return body, answer.headers(request_id)

    def _created(self) -> int:
        return int(self._clock.now().timestamp())

    # -- streaming ----------------------------------------------------------------------------------------------

    async def open_stream(
        self, parsed: ParsedChat, target: Target, meta: CallMeta, started: float, *, on_usage: OnUsage | None = None
    ) -> tuple[AsyncIterator[bytes], dict[str, str]]:
        """Start the answer and wait for its first piece, so failures before any output get a proper status.
        ``on_usage(total_tokens)`` is awaited once the answer's usage is known."""
        if target.strategy is not None:
            answer = await self.answer(parsed, target, meta)
            if on_usage is not None:
                await on_usage(answer.usage.total_tokens)
            request_id = answer.request_id or uuid.uuid4().hex
            frames = self._whole_answer_frames(answer, parsed, request_id, started)
            return frames, answer.headers(request_id)  # judged whole first: its cost is known before it streams
        model = target.model or parsed.model
        gateway_id = uuid.uuid4().hex  # also the call's ledger id: the header names the row it will be
        stream = self.client.stream(parsed.request, model=target.model, meta=meta, request_id=gateway_id)
        chunks = aiter(stream)
        try:
            first: StreamChunk | None = await anext(chunks)
        except StopAsyncIteration:
            first = None
        writer = ChunkWriter(
            response_id=f"chatcmpl-{gateway_id}",
            created=self._created(),
            model=model,
            include_usage=parsed.include_usage,
        )
        frames = self._relay_frames(stream, chunks, first, writer, gateway_id, started, on_usage)
        return frames, response_headers(None, gateway_id, model=model)

    async def _relay_frames(
        self,
        stream: CompletionStream,
        chunks: AsyncIterator[StreamChunk],
        first: StreamChunk | None,
        writer: ChunkWriter,
        request_id: str,
        started: float,
        on_usage: OnUsage | None = None,
    ) -> AsyncIterator[bytes]:
        yield writer.role()
        finish: str | None = None
        try:
            chunk = first
            while chunk is not None:
                if (frame := writer.delta(chunk)) is not None:
                    yield frame
                finish = chunk.finish_reason or finish
                chunk = await anext(chunks, None)
        except Exception as exc:  # noqa: BLE001 - the status line is gone: report in-band, as OpenAI does
            yield self._error_frame(exc)
            return
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]  # a client that left must not leave the call running
        completion: Completion | None = stream.completion
        yield writer.finish(finish or (completion.finish_reason if completion else None))
        if completion is not None:
            record_answer(completion, completion.usage, completion.cost_usd)
            if on_usage is not None:
                await on_usage(completion.usage.total_tokens)
            if writer.include_usage:
                yield writer.usage(completion, request_id=request_id)
            self._observe(self._clock.monotonic() - started - completion.latency_ms / 1000.0)
        yield DONE

    async def _whole_answer_frames(
        self, answer: Answer, parsed: ParsedChat, request_id: str, started: float
    ) -> AsyncIterator[bytes]:
        """A strategy's accepted answer, sent as one content chunk (it had to be judged whole first)."""
        c = answer.completion
        writer = ChunkWriter(
            response_id=f"chatcmpl-{request_id}",
            created=self._created(),
            model=c.model,
            include_usage=parsed.include_usage,
        )
        yield writer.role()
        for call_index, call in enumerate(c.tool_calls or ()):
            yield writer.delta(StreamChunk(tool_call_delta={"index": call_index, **call})) or b""
        if c.text:
            yield writer.delta(StreamChunk(delta=c.text)) or b""
        yield writer.finish(c.finish_reason)
        if writer.include_usage:
            yield writer.usage(
                c, usage=answer.usage, cost_usd=answer.cost_usd, request_id=request_id,
                budget_limited=answer.budget_limited,
            )
        self._observe(self._clock.monotonic() - started - answer.upstream_s)
        yield DONE

    def _error_frame(self, exc: BaseException) -> bytes:
        err = to_gateway_error(exc, self._secrets())
        log.warning("stream failed after it started: %s", err.message)
        return sse(err.body())
