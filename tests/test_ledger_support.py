"""Shared pieces of the ledger tests: a priced model, call contexts, a settable clock, a Postgres schema.

The terminal handlers here stand in for the upstream provider: they are the injected boundary of the pipeline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from podium.core.events import Event
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, Handler
from podium.core.types import ChatRequest, Completion, Usage

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

SPEC = ModelSpec(
    id="acme:model-a",
    provider="acme",
    api_model="model-a",
    input_per_million=Decimal(3),
    output_per_million=Decimal(15),
    cached_input_per_million=Decimal("0.30"),
    max_output_tokens=1000,
)
UNPRICED = ModelSpec(id="local:mystery", provider="local", api_model="mystery")


class SteppingClock:
    """A clock whose wall time the test sets; monotonic advances by 1 ms per read so latencies are positive."""

    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        self._mono += 0.001
        return self._mono

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class Events(list[Event]):
    """An event sink that keeps what it receives."""

    def __call__(self, event: Event) -> None:
        self.append(event)

    def of(self, kind: object) -> list[Event]:
        return [e for e in self if e.type == kind]


def make_ctx(
    request_id: str,
    *,
    model: ModelSpec = SPEC,
    meta: CallMeta | None = None,
    max_tokens: int | None = 100,
    prompt: str = "Write a haiku about ledgers.",
    clock: object | None = None,
    attempt: int = 1,
) -> CallContext:
    ctx = CallContext(
        request=ChatRequest.from_prompt(prompt, max_tokens=max_tokens),
        model=model,
        meta=meta or CallMeta(),
        request_id=request_id,
        attempt=attempt,
    )
    if clock is not None:
        ctx.clock = clock  # type: ignore[assignment]
    return ctx


def worst_case(ctx: CallContext) -> Decimal:
    from podium.core.tokens import request_token_bound

    cost = ctx.model.worst_case_cost(request_token_bound(ctx.request), ctx.request.max_tokens)
    assert cost is not None
    return cost


def priced_terminal(usage: Usage, *, calls: list[str] | None = None, yield_first: bool = True) -> Handler:
    """An upstream that answers with ``usage`` and a completion priced the way the engine prices it."""

    async def terminal(ctx: CallContext) -> Completion:
        if calls is not None:
            calls.append(ctx.request_id)
        if yield_first:
            await asyncio.sleep(0)  # let other callers interleave, as a real network call would
        return Completion(
            text="ok", model=ctx.model.id, provider=ctx.model.provider, usage=usage, cost_usd=ctx.model.cost(usage)
        )

    return terminal


def sqlite_url(tmp_path: Path, name: str = "ledger.db") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema in the test Postgres, dropped afterwards; the URL pins search_path to it."""
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(f"Postgres at 127.0.0.1:5432 is unreachable: {exc.orig}")
    schema = f"podium_ledger_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
