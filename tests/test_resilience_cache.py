"""Response cache on real SQLite: keys, TTL, no-cache/no-store, streamed hits, single-flight."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from podium.config.resilience import ResilienceSettings
from podium.core.errors import ServerError
from podium.core.events import Event, EventType
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta
from podium.core.types import ChatRequest, Completion, Message, StreamChunk, Usage
from podium.resilience import CacheMiddleware, SQLiteResponseStore, build_resilience, request_key
from podium.resilience.cache_store import sqlite_path
from podium.testing.clock import FakeClock

M = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")
REQ = ChatRequest.from_prompt("What is 2+2?", system="be brief", temperature=0.0)


class Upstream:
    def __init__(self, text: str = "4, obviously") -> None:
        self.calls = 0
        self.text = text
        self.gate: asyncio.Event | None = None
        self.fail_next = 0

    async def __call__(self, ctx: CallContext) -> Completion:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise ServerError("down", provider="openai", status=503)
        return Completion(self.text, ctx.model.id, "openai", usage=Usage(20, 5), cost_usd=Decimal("0.00001"),
                          finish_reason="stop", request_id=ctx.request_id)  # fmt: skip


@pytest.fixture
async def cache(tmp_path: Path):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    events: list[Event] = []
    mw = CacheMiddleware(SQLiteResponseStore(tmp_path / "cache.db"), clock=clock, emit=events.append, ttl_s=60,
                         chunk_chars=4)  # fmt: skip
    yield mw, clock, events
    await mw.aclose()


def _ctx(clock: FakeClock, request: ChatRequest = REQ, *, rid: str = "r", meta: CallMeta | None = None, emit=None):  # type: ignore[no-untyped-def]
    return CallContext(request, M, meta or CallMeta(), rid, clock=clock, emit=emit)


def test_key_ignores_alias_user_and_streaming_but_not_parameters() -> None:
    base = request_key(M.id, REQ)
    assert request_key(M.id, REQ.with_model("mini")) == base
    assert request_key(M.id, ChatRequest(REQ.messages, temperature=0.0, user="alice")) == base
    assert request_key("anthropic:claude-haiku-4-5", REQ) != base
    assert request_key(M.id, ChatRequest(REQ.messages, temperature=0.7)) != base
    assert request_key(M.id, ChatRequest(REQ.messages, temperature=0.0, max_tokens=5)) != base
    assert request_key(M.id, ChatRequest((*REQ.messages, Message.assistant("x")), temperature=0.0)) != base
    assert len(base) == 64


async def test_second_identical_call_is_a_free_hit(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, events = cache
    up = Upstream()
    first = await mw(_ctx(clock, rid="r1"), up)
    assert not first.cached and first.cost_usd == Decimal("0.00001")
    hit = await mw(_ctx(clock, rid="r2"), up)
    assert up.calls == 1
    assert hit.cached and hit.cost_usd == Decimal(0) and hit.usage == Usage()
    assert (hit.text, hit.model, hit.finish_reason, hit.request_id) == (first.text, M.id, "stop", "r2")
    assert hit.metadata["cache"]["original_usage"]["input_tokens"] == 20
    assert hit.metadata["cache"]["original_request_id"] == "r1"
    assert [e.type for e in events] == [EventType.CACHE_HIT]


async def test_entries_expire_after_ttl(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, _ = cache
    up = Upstream()
    await mw(_ctx(clock), up)
    clock.advance(59)
    assert (await mw(_ctx(clock), up)).cached
    clock.advance(2)
    assert not (await mw(_ctx(clock), up)).cached
    assert up.calls == 2


async def test_no_cache_skips_reading_and_no_store_skips_writing(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, _ = cache
    up = Upstream()
    await mw(_ctx(clock, meta=CallMeta(no_store=True)), up)
    assert await mw.store.count() == 0
    await mw(_ctx(clock), up)  # stores
    fresh = await mw(_ctx(clock, meta=CallMeta(no_cache=True)), up)
    assert not fresh.cached and up.calls == 3
    assert (await mw(_ctx(clock, meta=CallMeta(no_store=True)), up)).cached  # no_store still reads
    await mw(_ctx(clock, meta=CallMeta(no_cache=True, no_store=True)), up)
    assert up.calls == 4 and await mw.store.count() == 1


async def test_hit_while_streaming_is_sent_in_chunks(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, _ = cache
    await mw(_ctx(clock), Upstream("four!!!!!"))
    got: list[StreamChunk] = []

    async def sink(chunk: StreamChunk) -> None:
        got.append(chunk)

    ctx = _ctx(clock, emit=sink)
    hit = await mw(ctx, Upstream("unused"))
    assert hit.cached
    assert [c.delta for c in got[:-1]] == ["four", "!!!!", "!"]
    assert got[-1].finish_reason == "stop" and got[-1].usage == Usage()
    assert ctx.emitted_chunks == 4


async def test_concurrent_identical_requests_make_one_upstream_call(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, events = cache
    up = Upstream()
    up.gate = asyncio.Event()
    tasks = [asyncio.create_task(mw(_ctx(clock, rid=f"r{i}"), up)) for i in range(10)]
    for _ in range(20):
        await asyncio.sleep(0.001)
    up.gate.set()
    results = await asyncio.gather(*tasks)
    assert up.calls == 1
    assert sum(not r.cached for r in results) == 1
    followers = [r for r in results if r.cached]
    assert len(followers) == 9 and all(r.cost_usd == 0 for r in followers)
    assert sum(e.data.get("coalesced", False) for e in events) == 9


async def test_failed_leader_lets_followers_call_themselves(cache) -> None:  # type: ignore[no-untyped-def]
    mw, clock, _ = cache
    up = Upstream()
    up.gate = asyncio.Event()
    up.fail_next = 1
    tasks = [asyncio.create_task(mw(_ctx(clock, rid=f"r{i}"), up)) for i in range(3)]
    for _ in range(20):
        await asyncio.sleep(0.001)
    up.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert sum(isinstance(r, ServerError) for r in results) == 1  # only the leader's own call failed
    assert sum(isinstance(r, Completion) for r in results) == 2
    assert up.calls == 2  # one follower took over; the other joined it


async def test_cache_survives_reopen_and_uses_podium_home(tmp_path: Path) -> None:
    settings = ResilienceSettings(cache={"enabled": True, "ttl_s": None})
    clock = FakeClock()
    for expected_calls in (1, 0):
        stack = build_resilience(settings, clock=clock, emit=lambda e: None, home=tmp_path)
        assert stack.cache is not None
        up = Upstream()
        await stack.cache(_ctx(clock), up)
        await stack.aclose()
        assert up.calls == expected_calls
    rows = sqlite3.connect(tmp_path / "cache.db").execute("SELECT model, expires_at FROM response_cache").fetchall()
    assert rows == [(M.id, None)]


def test_sqlite_path_forms(tmp_path: Path) -> None:
    assert sqlite_path(None, tmp_path) == tmp_path / "cache.db"
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db", tmp_path) == tmp_path / "x.db"
    assert sqlite_path("rel.db", tmp_path) == Path("rel.db")
    with pytest.raises(ValueError, match="sqlite:///"):
        sqlite_path("postgresql://h/db", tmp_path)
