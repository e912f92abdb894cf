"""What goes into a ledger row: the write-ahead (pending) values and the values that finalize it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from podium.core.money import ZERO
from podium.core.pipeline import CallContext
from podium.core.types import Completion, Usage
from podium.ledger.budgets import UsageKey

# Row statuses. `pending` exists only between the reservation and the answer.
PENDING = "pending"
OK = "ok"
ERROR = "error"
CACHE_HIT = "cache_hit"
CANCELLED = "cancelled"
REFUSED = "refused"
RECOVERED = "recovered"
STATUSES: tuple[str, ...] = (PENDING, OK, ERROR, CACHE_HIT, CANCELLED, REFUSED, RECOVERED)
MAX_ERROR_CHARS = 2000


def pending_row(
    ctx: CallContext, *, reserved: Decimal, keys: Sequence[UsageKey], owner: str, now: datetime, log_text: bool
) -> dict[str, Any]:
    """The row written before the upstream call: who, what, and the worst case it may cost."""
    meta = ctx.meta
    return {
        "request_id": ctx.request_id,
        "attempt": ctx.attempt,
        "started_at": now,
        "project": meta.project,
        "key": meta.key,
        "team": meta.team,
        "user_id": meta.user,
        "org": meta.org,
        "strategy": meta.strategy,
        "task_type": meta.task_type,
        "model": ctx.model.id,
        "provider": ctx.model.provider,
        "stream": ctx.streaming,
        "input_tokens": 0,
        "output_tokens": 0,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": None,
        "reserved_usd": reserved,
        "status": PENDING,
        "prompt": ctx.request.prompt_text if log_text else None,
        "budget_keys": keys_json(tuple(keys)),
        "owner": owner,
        "tags": tags_json(meta.tags),
    }


@lru_cache(maxsize=1024)
def keys_json(keys: tuple[UsageKey, ...]) -> str:
    """The ``budget_keys`` column: the usage keys a reservation holds (encoded once per set of keys)."""
    return json.dumps([k.to_json() for k in keys])


@lru_cache(maxsize=1024)
def parse_keys(text: str) -> tuple[UsageKey, ...]:
    """The usage keys a ``budget_keys`` column names, in key (lock) order."""
    return tuple(sorted(UsageKey.from_json(k) for k in json.loads(text)))


def tags_json(tags: Mapping[str, str] | None) -> str | None:
    """A call's tags as stored: a JSON object with sorted keys, or None when it has none."""
    return json.dumps(dict(sorted(tags.items())), ensure_ascii=False) if tags else None


def row_tags(row: Mapping[str, Any]) -> dict[str, str]:
    """The tags stored on a ledger row (none on rows written before they were recorded)."""
    raw = row.get("tags")
    return {str(k): str(v) for k, v in json.loads(raw).items()} if raw else {}


# A call's category, as the task-router tool's cost tracker reports it (``report --category orchestration``).
ORCHESTRATION, DIRECT = "orchestration", "direct"


def row_category(row: Mapping[str, Any]) -> str:
    """What a call was for: its ``category`` tag when the caller set one; else the workflow that made it (testgen,
    project, app, problems); else ``orchestration`` when a routing strategy chose the model, ``direct`` when the
    caller named it."""
    tags = row_tags(row)
    if tags.get("category"):
        return tags["category"]
    if tags.get("workflow"):
        return tags["workflow"]
    return ORCHESTRATION if row.get("strategy") else DIRECT


def usage_values(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_input_tokens": usage.cached_input_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
    }


def success_values(
    ctx: CallContext, completion: Completion, *, cost: Decimal | None, latency_ms: float, now: datetime, log_text: bool
) -> dict[str, Any]:
    """How a pending row is finalized after an answer (a cache hit included)."""
    values: dict[str, Any] = {
        "finished_at": now,
        "status": CACHE_HIT if completion.cached else OK,
        "cost_usd": cost,
        "latency_ms": latency_ms,
        **usage_values(completion.usage),
    }
    # A fallback inside the provider may have answered with a different model; record who really answered. The
    # pending row already names the model asked for: setting it again would rewrite its index entry for nothing.
    if completion.model and completion.model != ctx.model.id:
        values["model"] = completion.model
    if completion.provider and completion.provider != ctx.model.provider:
        values["provider"] = completion.provider
    if log_text:
        values["response"] = completion.text
    return values


def error_values(
    exc: BaseException, *, status: str, cost: Decimal, usage: Usage | None, latency_ms: float, now: datetime
) -> dict[str, Any]:
    """How a pending row is finalized when the attempt raised (or was cancelled)."""
    values: dict[str, Any] = {
        "finished_at": now,
        "status": status,
        "cost_usd": cost,
        "latency_ms": latency_ms,
        "error_type": type(exc).__name__,
        "error_message": str(exc)[:MAX_ERROR_CHARS],
    }
    if usage is not None:
        values.update(usage_values(usage))
    return values


def row_to_dict(row: Any) -> dict[str, Any]:
    """A result row as a plain dict, with JSON columns decoded."""
    out = dict(row._mapping)
    for col in ("gates", "budget_keys"):
        if isinstance(out.get(col), str):
            out[col] = json.loads(out[col])
    return out


def answered_values(
    ctx: CallContext, completion: Completion, latency_ms: float, now: datetime, log_text: bool
) -> tuple[dict[str, Any], Decimal | None]:
    """An answered attempt's final row values and cost (a cache hit costs nothing; an unpriced completion is
    priced from its catalog entry)."""
    cost = ZERO if completion.cached else ctx.model.completion_cost(completion)
    values = success_values(
        ctx, completion, cost=cost, latency_ms=latency_ms, now=now, log_text=log_text or ctx.meta.log_text
    )
    return values, cost


def failed_values(
    ctx: CallContext, exc: BaseException, latency_ms: float, now: datetime, *, prompt_tokens: int
) -> tuple[dict[str, Any], Decimal]:
    """A failed attempt's final row values and cost: only what is known to be billed."""
    usage = getattr(exc, "usage", None)
    if not isinstance(usage, Usage) and ctx.emitted_chunks > 0:
        # A stream cut after it began was billed upstream: estimate roughly one token per chunk sent.
        usage = Usage(input_tokens=prompt_tokens, output_tokens=ctx.emitted_chunks)
    cost = (ctx.model.cost(usage) or ZERO) if isinstance(usage, Usage) else ZERO
    status = CANCELLED if isinstance(exc, asyncio.CancelledError) else ERROR
    values = error_values(
        exc, status=status, cost=cost, usage=usage if isinstance(usage, Usage) else None, latency_ms=latency_ms,
        now=now,
    )
    return values, cost
