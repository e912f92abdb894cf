"""Completion and StreamChunk -> OpenAI Chat Completions JSON (``chat.completion`` and ``chat.completion.chunk``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from podium.core.types import Completion, StreamChunk, Usage
from podium.providers.openai_wire import CHOICES, LOGPROBS_CONTENT, usage_to_wire

# Podium's finish reasons are OpenAI's names already; anything else is reported as a plain stop.
_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})


def finish_reason(reason: str | None, tool_calls: object = None) -> str:
    if reason in _FINISH_REASONS:
        return reason  # type: ignore[return-value]
    return "tool_calls" if tool_calls else "stop"


usage_json = usage_to_wire


def _message(text: str | None, tool_calls: Sequence[dict[str, Any]] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or "", "refusal": None}
    if tool_calls:
        message["tool_calls"] = [_tool_call(c, i) for i, c in enumerate(tool_calls)]
        if not text:
            message["content"] = None
    return message


def logprobs_json(completion: Completion) -> dict[str, Any] | None:
    """``choices[0].logprobs``: the upstream's token entries when it sent them, else one entry per logprob."""
    content = completion.metadata.get(LOGPROBS_CONTENT)
    if content is None and completion.logprobs is not None:
        content = [{"token": "", "logprob": lp, "bytes": None, "top_logprobs": []} for lp in completion.logprobs]
    return None if content is None else {"content": content, "refusal": None}


def _choices(completion: Completion) -> list[dict[str, Any]]:
    several = completion.metadata.get(CHOICES)
    if several:
        return [
            {"index": i, "message": _message((c["message"].get("content") or ""), c["message"].get("tool_calls")),
             "logprobs": c.get("logprobs"), "finish_reason": finish_reason(c.get("finish_reason"),
                                                                             c["message"].get("tool_calls"))}
            for i, c in enumerate(several)
        ]
    return [{
        "index": 0,
        "message": _message(completion.text, completion.tool_calls),
        "logprobs": logprobs_json(completion),
        "finish_reason": finish_reason(completion.finish_reason, completion.tool_calls),
    }]


def priced_usage_json(usage: Usage, cost_usd: Decimal | None) -> dict[str, Any]:
    """OpenAI's ``usage`` plus ``cost`` in USD, as OpenRouter sends it (what OpenRouter and LiteLLM clients read as
    the response's cost). A JSON number: the exact value is the ``x-podium-cost-usd`` header's."""
    out = usage_json(usage)
    if cost_usd is not None:
        out["cost"] = float(cost_usd)
    return out


def completion_json(
    completion: Completion, *, response_id: str, created: int, usage: Usage, cost_usd: Decimal | None = None
) -> dict[str, Any]:
    """The ``chat.completion`` object. ``usage`` is what the call consumed (every attempt of a strategy); with
    ``n`` > 1 it covers every choice, as the upstream billed them. ``cost_usd`` is its total, as ``usage.cost``."""
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": created,
        "model": completion.model,
        "choices": _choices(completion),
        "usage": priced_usage_json(usage, cost_usd),
        "service_tier": completion.metadata.get("service_tier"),
        "system_fingerprint": None,
    }


def _tool_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    fn = call.get("function") or {}
    args = fn.get("arguments", "")
    return {
        "id": call.get("id") or f"call_{index}",
        "type": "function",
        "function": {"name": fn.get("name", ""), "arguments": args if isinstance(args, str) else json.dumps(args)},
    }


class ChunkWriter:
    """Renders one streamed answer as SSE ``data:`` frames sharing one id, created time and model."""

    def __init__(self, *, response_id: str, created: int, model: str, include_usage: bool) -> None:
        self.response_id = response_id
        self.created = created
        self.model = model
        self.include_usage = include_usage
        self._tool_calls = False

    def _frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        obj: dict[str, Any] = {
            "id": self.response_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            obj["usage"] = None
        obj.update(extra)
        return sse(obj)

    def role(self) -> bytes:
        """The opening chunk, as OpenAI sends it: the assistant role and empty content."""
        return self._frame([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])

    def delta(self, chunk: StreamChunk) -> bytes | None:
        """A content or tool-call piece; None when the chunk only carries the finish reason or usage."""
        delta: dict[str, Any] = {}
        if chunk.delta:
            delta["content"] = chunk.delta
        if chunk.tool_call_delta:
            self._tool_calls = True
            delta["tool_calls"] = [{"index": 0, **chunk.tool_call_delta}]
        if not delta:
            return None
        return self._frame([{"index": 0, "delta": delta, "finish_reason": None}])

    def finish(self, reason: str | None) -> bytes:
        return self._frame([{"index": 0, "delta": {}, "finish_reason": finish_reason(reason, self._tool_calls)}])

    def usage(
        self,
        completion: Completion,
        *,
        usage: Usage | None = None,
        cost_usd: Decimal | None = None,
        request_id: str | None = None,
        budget_limited: bool = False,
    ) -> bytes:
        """The closing usage chunk (``choices: []``), with the answering model, cost and ids in an extra ``podium``
        object. ``usage``/``cost_usd`` default to the completion's own; ``request_id`` (the response's
        ``x-podium-request-id``) defaults to the completion's ledger id."""
        cost = cost_usd if cost_usd is not None else completion.cost_usd
        extra = podium_json(
            completion.model, cost, request_id or completion.request_id, completion.request_id, budget_limited
        )
        return self._frame([], usage=priced_usage_json(usage or completion.usage, cost), podium=extra)


def podium_json(
    model: str, cost_usd: Decimal | None, request_id: str | None, attempt_request_id: str | None, budget_limited: bool
) -> dict[str, Any]:
    """``request_id`` is the call's (a routed call's ledger rows are ``<request_id>.<n>``); ``attempt_request_id`` is
    the ledger row id of the attempt that answered; ``budget_limited`` says a budget stopped a routed call early."""
    return {
        "model": model,
        "cost_usd": None if cost_usd is None else str(cost_usd),
        "request_id": request_id,
        "attempt_request_id": attempt_request_id,
        "budget_limited": budget_limited,
    }


def sse(obj: object) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"
