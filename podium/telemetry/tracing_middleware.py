"""A span per upstream attempt, with OpenTelemetry GenAI semantic-convention attributes."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.trace import SpanKind, Tracer

from podium.core.pipeline import CallContext, Handler
from podium.core.types import Completion
from podium.telemetry.tracing import mark_error


class TracingMiddleware:
    """Wraps each attempt in a CLIENT span named ``chat <model>``.

    Prompt and answer text go on the span only with ``capture_content=True``; headers (and so API keys) never do.
    """

    def __init__(self, tracer: Tracer, *, capture_content: bool = False) -> None:
        self.tracer = tracer
        self.capture_content = capture_content

    async def __call__(self, ctx: CallContext, call_next: Handler) -> Completion:
        with self.tracer.start_as_current_span(
            f"chat {ctx.model.api_model}",
            kind=SpanKind.CLIENT,
            attributes=self.request_attributes(ctx),
            record_exception=False,  # exception text may quote the upstream body
            set_status_on_exception=False,
        ) as span:
            try:
                completion = await call_next(ctx)
            except BaseException as exc:
                mark_error(span, exc)
                raise
            span.set_attributes(self.response_attributes(completion))
            return completion

    def request_attributes(self, ctx: CallContext) -> dict[str, Any]:
        req = ctx.request
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": ctx.model.provider,
            "gen_ai.provider.name": ctx.model.provider,
            "gen_ai.request.model": ctx.model.api_model,
            "podium.model": ctx.model.id,
            "podium.attempt": ctx.attempt,
            "podium.request_id": ctx.request_id,
            "podium.streaming": ctx.streaming,
        }
        optional = {
            "gen_ai.request.max_tokens": req.max_tokens,
            "gen_ai.request.temperature": req.temperature,
            "gen_ai.request.top_p": req.top_p,
            "gen_ai.request.seed": req.seed,
            "podium.strategy": ctx.meta.strategy,
            "podium.project": ctx.meta.project,
        }
        attrs.update({k: v for k, v in optional.items() if v is not None})
        if self.capture_content:
            messages = [{"role": m.role, "content": m.text} for m in req.messages]
            attrs["gen_ai.input.messages"] = json.dumps(messages, ensure_ascii=False)
        return attrs

    def response_attributes(self, completion: Completion) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "gen_ai.response.model": completion.model,
            "gen_ai.usage.input_tokens": completion.usage.input_tokens,
            "gen_ai.usage.output_tokens": completion.usage.output_tokens,
            "podium.cache_hit": completion.cached,
            "podium.latency_ms": float(completion.latency_ms),
        }
        if completion.finish_reason:
            attrs["gen_ai.response.finish_reasons"] = (completion.finish_reason,)
        if completion.request_id:
            attrs["gen_ai.response.id"] = completion.request_id
        if completion.cost_usd is not None:
            attrs["podium.cost_usd"] = str(completion.cost_usd)  # exact; a float attribute would round
        if completion.usage.cached_input_tokens:
            attrs["gen_ai.usage.cache_read.input_tokens"] = completion.usage.cached_input_tokens
        if self.capture_content:
            attrs["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "content": completion.text}], ensure_ascii=False
            )
        return attrs
