"""The engine's own logic: pricing, streaming assembly, fallbacks and error aggregation, over a scripted provider."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from podium import AllAttemptsFailedError, ChatRequest, MissingAPIKeyError, Podium, ServerError, SyncPodium, Usage
from podium.catalog import Catalog
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, Handler
from podium.core.types import Completion
from podium.engine.providers import ProviderPool
from podium.testing.scripted import ScriptedProvider, SingleProviderRegistry

CHEAP = ModelSpec(
    id="openai:cheap", provider="openai", api_model="cheap",
    input_per_million=Decimal("0.15"), output_per_million=Decimal("0.60"), cached_input_per_million=Decimal("0.075"),
)
STRONG = ModelSpec(
    id="anthropic:strong", provider="anthropic", api_model="strong",
    input_per_million=Decimal(3), output_per_million=Decimal(15),
)


def make_client(provider: ScriptedProvider, *, fallback_models=(), middlewares=()) -> Podium:
    keys = {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k"}
    pool = ProviderPool(registry=SingleProviderRegistry(provider), clock=SYSTEM_CLOCK, env=keys)
    return Podium(catalog=Catalog([CHEAP, STRONG]), providers=pool, fallback_models=fallback_models, middlewares=middlewares)


async def test_completion_is_priced_exactly_from_catalog() -> None:
    provider = ScriptedProvider()
    provider.reply("openai:cheap", "hi", usage=Usage(input_tokens=1000, output_tokens=500, cached_input_tokens=400))
    async with make_client(provider) as client:
        c = await client.complete("hello", model="openai:cheap")
    # 600 uncached × 0.15/M + 400 cached × 0.075/M + 500 × 0.60/M
    assert c.cost_usd == Decimal("0.00009") + Decimal("0.00003") + Decimal("0.0003")
    assert c.model == "openai:cheap" and c.text == "hi"


async def test_stream_yields_chunks_and_a_priced_completion() -> None:
    provider = ScriptedProvider()
    provider.reply("openai:cheap", "one two three", usage=Usage(input_tokens=10, output_tokens=3))
    async with make_client(provider) as client:
        stream = client.stream("count", model="openai:cheap")
        deltas = [c.delta async for c in stream]
    assert "".join(deltas) == "one two three"
    assert stream.completion is not None
    assert stream.completion.cost_usd == Decimal(10) * Decimal("0.15") / 10**6 + Decimal(3) * Decimal("0.60") / 10**6
    assert stream.completion.finish_reason == "stop"


async def test_falls_back_to_next_configured_model_on_provider_error() -> None:
    provider = ScriptedProvider()
    provider.fail("openai:cheap", ServerError("boom", provider="openai", status=500))
    provider.reply("anthropic:strong", "rescued")
    async with make_client(provider, fallback_models=["anthropic:strong"]) as client:
        c = await client.complete("x", model="openai:cheap")
    assert c.text == "rescued" and c.model == "anthropic:strong"
    assert [m for m, _ in provider.calls] == ["openai:cheap", "anthropic:strong"]


async def test_every_attempt_failing_lists_each_cause() -> None:
    provider = ScriptedProvider()
    provider.fail("openai:cheap", ServerError("cheap down", provider="openai", status=503))
    provider.fail("anthropic:strong", ServerError("strong down", provider="anthropic", status=500))
    async with make_client(provider, fallback_models=["anthropic:strong"]) as client:
        with pytest.raises(AllAttemptsFailedError) as info:
            await client.complete("x", model="openai:cheap")
    assert [m for m, _ in info.value.attempts] == ["openai:cheap", "anthropic:strong"]
    assert "cheap down" in str(info.value) and "strong down" in str(info.value)


async def test_missing_key_for_the_requested_model_is_not_hidden_by_fallbacks() -> None:
    provider = ScriptedProvider()
    provider.fail("openai:cheap", MissingAPIKeyError("openai", "OPENAI_API_KEY"))
    async with make_client(provider, fallback_models=["anthropic:strong"]) as client:
        with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
            await client.complete("x", model="openai:cheap")


async def test_middlewares_see_every_attempt_with_shared_request_id() -> None:
    seen: list[tuple[str, str, int]] = []

    async def record(ctx: CallContext, call_next: Handler) -> Completion:
        seen.append((ctx.request_id, ctx.model.id, ctx.attempt))
        return await call_next(ctx)

    provider = ScriptedProvider()
    provider.fail("openai:cheap", ServerError("down", provider="openai", status=500))
    async with make_client(provider, fallback_models=["anthropic:strong"], middlewares=[record]) as client:
        await client.complete("x", model="openai:cheap", meta=CallMeta(project="p1"))
    assert [(m, a) for _, m, a in seen] == [("openai:cheap", 1), ("anthropic:strong", 2)]
    assert seen[0][0] == seen[1][0]


def test_sync_facade_runs_calls_and_streams() -> None:
    provider = ScriptedProvider()
    provider.reply("openai:cheap", "sync answer")
    provider.reply("openai:cheap", "a b")
    with SyncPodium(make_client(provider)) as client:
        assert client.complete(ChatRequest.from_prompt("q"), model="openai:cheap").text == "sync answer"
        assert "".join(c.delta for c in client.stream("q", model="openai:cheap")) == "a b"


async def test_stream_stopped_early_with_a_full_queue_closes_without_hanging() -> None:
    provider = ScriptedProvider()
    provider.reply("openai:cheap", " ".join(["w"] * 600))  # more chunks than the stream's queue holds
    async with make_client(provider) as client:
        stream = client.stream("q", model="openai:cheap")
        chunks = aiter(stream)
        first = await anext(chunks)
        await asyncio.wait_for(chunks.aclose(), timeout=5)  # type: ignore[attr-defined]
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert first.delta == "w" and stream.completion is None
    assert pending == []  # the call driving the stream was stopped, not left blocked on the queue


def test_sync_stream_stopped_early_stops_the_call() -> None:
    outcome: list[str] = []

    async def watch(ctx: CallContext, call_next: Handler) -> Completion:
        try:
            return await call_next(ctx)
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    provider = ScriptedProvider()
    provider.reply("openai:cheap", " ".join(["w"] * 600))  # the call is still sending when the caller stops
    with SyncPodium(make_client(provider, middlewares=[watch])) as client:
        chunks = client.stream("q", model="openai:cheap")
        assert next(chunks).delta == "w"
        chunks.close()
        assert outcome == ["cancelled"]


def test_sync_facade_that_cannot_load_its_config_raises_the_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="PODIUM_CONFIG"):
        SyncPodium(env={"PODIUM_CONFIG": str(tmp_path / "missing.yaml")}, home=tmp_path)


async def test_an_injected_empty_catalog_is_used_not_replaced(tmp_path) -> None:
    from podium.config.root import PodiumConfig

    async with Podium.from_config(PodiumConfig.from_mapping({"orchestration": {"enabled": False}}), catalog=Catalog([]), env={}, home=tmp_path, layers=False) as client:
        assert len(client.catalog) == 0


async def test_route_leaves_the_callers_meta_unchanged() -> None:
    seen: list[str | None] = []

    async def record(ctx: CallContext, call_next: Handler) -> Completion:
        seen.append(ctx.meta.strategy)
        return await call_next(ctx)

    provider = ScriptedProvider()
    meta = CallMeta(project="p1", strategy="original")
    async with make_client(provider, middlewares=[record]) as client:
        result = await client.route("x", strategy="cheapest", meta=meta, candidates=["openai:cheap"])
    assert result.completion.model == "openai:cheap"
    assert seen == ["cheapest"]  # the attempt is labelled with the strategy that ran it
    assert meta.strategy == "original" and meta.project == "p1"


class _CloseTracking(ScriptedProvider):
    def __init__(self, name: str, error: Exception | None = None) -> None:
        super().__init__(name)
        self.closed = False
        self._error = error

    async def aclose(self) -> None:
        self.closed = True
        if self._error is not None:
            raise self._error


class _ByNameRegistry:
    def __init__(self, *providers: _CloseTracking) -> None:
        self._providers = {p.name: p for p in providers}

    def build(self, settings, **_):  # type: ignore[no-untyped-def]
        return self._providers[settings.name]


async def test_pool_close_closes_every_provider_then_raises_the_first_failure() -> None:
    first, second = RuntimeError("openai close failed"), RuntimeError("anthropic close failed")
    providers = [_CloseTracking("openai", first), _CloseTracking("anthropic", second), _CloseTracking("gemini")]
    pool = ProviderPool(registry=_ByNameRegistry(*providers), clock=SYSTEM_CLOCK, env={})
    for name in ("openai", "anthropic", "gemini"):
        pool.for_model(ModelSpec(id=f"{name}:m", provider=name, api_model="m"))
    with pytest.raises(RuntimeError) as info:
        await pool.aclose()
    assert info.value is first
    assert [p.closed for p in providers] == [True, True, True]
