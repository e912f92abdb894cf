"""The gateway end to end: uvicorn on loopback, the official openai SDK as the client, the fake upstream behind it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.clock import SYSTEM_CLOCK
from podium.core.types import Usage
from podium.engine import Podium
from podium.engine.providers import ProviderPool
from podium.ledger import LedgerReader, UsageKey
from podium.providers.replay import ReplayProvider
from podium.server import create_app, sha256_hex
from podium.server.keys import VirtualKeys
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve
from podium.testing.scripted import ScriptedProvider, SingleProviderRegistry

UPSTREAM_KEY = "sk-upstream-secret-0123456789"
TEAM_KEY = "pk-team-a-secret-42"
OTHER_KEY = "pk-team-b-secret-43"
MODEL = "openai:gpt-4o-mini"
WIRE_MODEL = "gpt-4o-mini"
ASK = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


@dataclass
class Running:
    base_url: str
    home: Path
    config: PodiumConfig

    def sdk(self, key: str | None = TEAM_KEY) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url + "/v1", api_key=key or "none", max_retries=0)

    def ledger(self) -> LedgerReader:
        return LedgerReader(self.config.ledger.database_url(self.home))


@contextlib.asynccontextmanager
async def _uvicorn(app: Any) -> AsyncIterator[str]:
    """uvicorn in this test's event loop with the lifespan on, so the engine client lives and closes in one loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http="h11",
        loop="asyncio",
        ws="none",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the gateway did not start")
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def gateway(
    upstream: FakeUpstream, home: Path, *, keys: tuple[dict[str, Any], ...] = (), **config: Any
) -> AsyncIterator[Running]:
    data = {"providers": {"openai": {"base_url": upstream.base_url + "/v1"}}, "orchestration": {"enabled": False}}
    cfg = PodiumConfig.from_mapping({**data, **config})
    settings = ServerSettings(keys=keys)
    env = {"OPENAI_API_KEY": UPSTREAM_KEY} if cfg.mode == "live" else {}
    app = create_app(None, settings, config=cfg, telemetry=Telemetry(cfg.telemetry), env=env, home=home)
    async with _uvicorn(app) as base_url:
        yield Running(base_url, home, cfg)


def team_key(**extra: Any) -> dict[str, Any]:
    return {"id": "team-a", "key_sha256": sha256_hex(TEAM_KEY), "team": "eng", **extra}


def price(input_tokens: int, output_tokens: int) -> Decimal:
    spec = Catalog.bundled().get(MODEL)
    return (Decimal(input_tokens) * spec.input_per_million + Decimal(output_tokens) * spec.output_per_million) / 10**6


# -- answers ---------------------------------------------------------------------------------------------------------


async def test_non_streaming_answer_has_openai_shape_and_exact_cost(upstream, tmp_path):
    upstream.script(WIRE_MODEL, text="Paris.", usage=Usage(1234, 56))
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model=MODEL, messages=ASK, max_completion_tokens=64, temperature=0.2
        )
        chat = raw.parse()
    assert chat.object == "chat.completion" and chat.model == MODEL
    assert chat.choices[0].message.content == "Paris." and chat.choices[0].finish_reason == "stop"
    assert (chat.usage.prompt_tokens, chat.usage.completion_tokens, chat.usage.total_tokens) == (1234, 56, 1290)
    assert chat.usage.prompt_tokens_details.cached_tokens == 0
    assert chat.usage.completion_tokens_details.reasoning_tokens == 0
    assert Decimal(raw.headers["x-podium-cost-usd"]) == price(1234, 56)
    assert raw.headers["x-podium-model"] == MODEL
    sent = upstream.last.json
    assert sent["max_completion_tokens"] == 64 and sent["temperature"] == 0.2
    row = gw.ledger().row(raw.headers["x-podium-request-id"])
    assert row is not None and row["key"] == "team-a" and row["team"] == "eng"
    assert row["cost_usd"] == price(1234, 56)


async def test_streaming_with_include_usage_ends_with_usage_chunk_and_done(upstream, tmp_path):
    upstream.script(WIRE_MODEL, text="Paris is the capital.", usage=Usage(900, 12))
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=ASK, stream=True, stream_options={"include_usage": True}
        )
        chunks = [c async for c in raw.parse()]
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.headers["x-podium-model"] == MODEL
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Paris is the capital."
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    final = chunks[-1]
    assert final.choices == [] and final.usage.prompt_tokens == 900 and final.usage.completion_tokens == 12
    assert Decimal(final.model_extra["podium"]["cost_usd"]) == price(900, 12)
    assert len({c.id for c in chunks}) == 1 and upstream.last.stream is True


async def test_tool_calls_and_image_parts_pass_through(upstream, tmp_path):
    upstream.script(WIRE_MODEL, tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    image = "data:image/png;base64,iVBORw0KGgo="
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Weather here?"}, {"type": "image_url", "image_url": {"url": image}}],
        }
    ]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    async with gateway(upstream, tmp_path) as gw, gw.sdk() as client:
        chat = await client.chat.completions.create(model=MODEL, messages=messages, tools=tools, tool_choice="auto")
    call = chat.choices[0].message.tool_calls[0]
    assert chat.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather" and call.function.arguments == '{"city":"Paris"}'
    sent = upstream.last.json
    assert sent["messages"][0]["content"][1] == {"type": "image_url", "image_url": {"url": image}}
    assert sent["tools"] == tools and sent["tool_choice"] == "auto"


async def test_virtual_cascade_and_auto_answer_recorded_prompts_in_replay_mode(upstream, tmp_path):
    prompt = ReplayProvider.sample_prompts(2)[1]
    replay, catalog = ReplayProvider(), Catalog.bundled()
    async with gateway(upstream, tmp_path, mode="replay") as gw, gw.sdk() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="podium/cascade", messages=[{"role": "user", "content": prompt}]
        )
        chat = raw.parse()
        stream = await client.chat.completions.create(
            model="podium/auto",
            messages=[{"role": "user", "content": prompt}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [c async for c in stream]
    recorded = replay.lookup(prompt, catalog.get(chat.model))
    assert recorded is not None and chat.choices[0].message.content == recorded[1].response
    assert Decimal(raw.headers["x-podium-cost-usd"]) >= recorded[1].cost_usd > 0
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    auto_recorded = replay.lookup(prompt, catalog.get(chunks[-1].model))
    assert auto_recorded is not None and streamed == auto_recorded[1].response
    assert upstream.count() == 0


# -- refusals --------------------------------------------------------------------------------------------------------


async def test_bad_or_missing_key_is_401(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk("pk-wrong") as client:
        with pytest.raises(openai.AuthenticationError) as bad:
            await client.chat.completions.create(model=MODEL, messages=ASK)
        async with httpx.AsyncClient() as http:
            missing = await http.post(gw.base_url + "/v1/chat/completions", json={"model": MODEL, "messages": ASK})
    assert bad.value.status_code == 401 and bad.value.code == "invalid_api_key"
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["error"]["message"]
    assert upstream.count() == 0


async def test_key_budget_refuses_with_402_and_never_overspends(upstream, tmp_path):
    upstream.script(WIRE_MODEL, text="ok", usage=Usage(1000, 100))  # $0.00021 per call
    limit = Decimal("0.0005")
    async with gateway(upstream, tmp_path, keys=(team_key(budget_usd=str(limit)),)) as gw, gw.sdk() as client:
        for _ in range(2):
            await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=200)
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=200)
    assert refused.value.status_code == 402 and refused.value.code == "budget_exceeded"
    assert "the budget of key team-a ($0.0005) would be exceeded: $0.00042 spent" in refused.value.message
    assert upstream.count(WIRE_MODEL) == 2
    reader = gw.ledger()
    totals = reader.totals(UsageKey("key", "team-a", "none"))
    reader.close()
    assert totals.spent == 2 * price(1000, 100) <= limit and totals.reserved == 0


async def test_key_rpm_limit_is_429_with_retry_after(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(rpm=2),)) as gw, gw.sdk() as client:
        for _ in range(2):
            await client.chat.completions.create(model=MODEL, messages=ASK)
        with pytest.raises(openai.RateLimitError) as limited:
            await client.chat.completions.create(model=MODEL, messages=ASK)
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert "Podium's own limit" in limited.value.message and upstream.count() == 2


async def test_model_outside_allowed_models_is_403(upstream, tmp_path):
    keys = (team_key(allowed_models=["podium/cheapest", "openai:gpt-4o"]),)
    async with gateway(upstream, tmp_path, keys=keys) as gw, gw.sdk() as client:
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await client.chat.completions.create(model=MODEL, messages=ASK)
        listed = [m.id async for m in client.models.list()]
    assert "team-a" in denied.value.message and denied.value.code == "model_not_allowed"
    assert listed == ["podium/cheapest", "openai:gpt-4o"]


async def test_unknown_model_is_404_and_points_at_the_model_list(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw, gw.sdk() as client:
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="openai:gpt-9-ultra", messages=ASK)
    assert "/v1/models" in missing.value.message and missing.value.code == "model_not_found"
    assert missing.value.param == "model"


async def test_invalid_fields_are_400_naming_the_field(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw, gw.sdk() as client:
        with pytest.raises(openai.BadRequestError) as hot:
            await client.chat.completions.create(model=MODEL, messages=ASK, temperature=5)
        with pytest.raises(openai.BadRequestError) as role:
            await client.chat.completions.create(model=MODEL, messages=[{"role": "robot", "content": "hi"}])
    assert hot.value.param == "temperature" and "0 to 2" in hot.value.message
    assert role.value.param == "messages[0].role" and "robot" in role.value.message
    assert upstream.count() == 0


async def test_upstream_500_without_fallback_is_502_without_the_provider_key(upstream, tmp_path):
    upstream.fail(WIRE_MODEL, status=500, times=2)
    no_fallback = {"retry": {"max_attempts": 2, "base_delay": 0, "max_delay": 0.01}, "fallback": {"enabled": False}}
    async with gateway(upstream, tmp_path, resilience=no_fallback) as gw, gw.sdk(None) as client:
        with pytest.raises(openai.APIStatusError) as failed:
            await client.chat.completions.create(model=MODEL, messages=ASK)
    assert failed.value.status_code == 502 and failed.value.code == "upstream_error"
    assert "500" in failed.value.message and "openai" in failed.value.message
    assert UPSTREAM_KEY not in failed.value.response.text and upstream.count(WIRE_MODEL) == 2


def test_unexpected_500_is_logged_with_a_traceback_that_shows_no_key(caplog):
    env = {"OPENAI_API_KEY": UPSTREAM_KEY}
    scripted = ScriptedProvider()
    scripted.fail(MODEL, RuntimeError(f"adapter bug: sent {UPSTREAM_KEY} for caller {TEAM_KEY}"))
    pool = ProviderPool(registry=SingleProviderRegistry(scripted), clock=SYSTEM_CLOCK, env=env)
    client = Podium(catalog=Catalog.bundled(), providers=pool)
    app = create_app(client, ServerSettings(keys=(team_key(),)), env=env)
    caplog.set_level(logging.WARNING, logger="podium.server")
    with serve(app) as base_url:
        r = httpx.post(
            f"{base_url}/v1/chat/completions",
            json={"model": MODEL, "messages": ASK},
            headers={"authorization": f"Bearer {TEAM_KEY}"},
        )
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    logged = "\n".join(caplog.text.splitlines() + [rec.getMessage() for rec in caplog.records])
    assert "RuntimeError: adapter bug: sent" in logged and "Traceback" in logged  # the details are still logged
    assert UPSTREAM_KEY not in logged and TEAM_KEY not in logged


async def test_mid_stream_failure_is_reported_in_band(upstream, tmp_path):
    upstream.cut_stream(WIRE_MODEL, after_chunks=2)
    once = {"retry": {"max_attempts": 1}, "fallback": {"enabled": False}}
    async with gateway(upstream, tmp_path, resilience=once) as gw, gw.sdk(None) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=ASK, stream=True)
        with pytest.raises(openai.APIError) as cut:
            async for _ in stream:
                pass
    assert "cut" in str(cut.value) or "ended" in str(cut.value)


# -- models, health, metrics -----------------------------------------------------------------------------------------


async def test_models_health_and_metrics(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw, gw.sdk(None) as client:
        ids = [m.id async for m in client.models.list()]
        auto = await client.models.retrieve("podium/auto")
        await client.chat.completions.create(model=MODEL, messages=ASK)
        async with httpx.AsyncClient(base_url=gw.base_url) as http:
            health = await http.get("/healthz")
            metrics = (await http.get("/metrics")).text
    assert ids[:4] == ["podium/auto", "podium/cheapest", "podium/cascade", "podium/ensemble"]
    assert MODEL in ids and auto.owned_by == "podium"
    assert health.json() == {"status": "ok"}
    assert f'podium_requests_total{{model="{MODEL}",provider="openai",status="ok",strategy="direct"}} 1.0' in metrics
    assert "podium_gateway_overhead_seconds_count 1.0" in metrics


def test_strategy_candidates_of_a_key_stay_inside_its_allow_list_globs_included():
    def allowed(models: list[str]) -> list[str] | None:
        keys = VirtualKeys(ServerSettings(keys=(team_key(allowed_models=models),)), env={}, clock=SYSTEM_CLOCK)
        return keys.concrete_allowed(keys.authenticate(f"Bearer {TEAM_KEY}"), Catalog.bundled())

    by_glob = allowed(["podium/cheapest", "anthropic:*", MODEL])
    assert by_glob and MODEL in by_glob and any(m.startswith("anthropic:") for m in by_glob)
    assert all(m == MODEL or m.startswith("anthropic:") for m in by_glob)
    assert allowed(["podium/cheapest", "nosuch:*"]) == []  # nothing the key may use: not "anything"
    assert allowed(["podium/*"]) is None  # only strategies listed: they may pick any model


async def test_a_fallback_stays_inside_the_keys_allowed_models(upstream, tmp_path):
    upstream.fail(WIRE_MODEL, status=500, times=None)
    upstream.script("gpt-4o", "answer from a model the key may not use")
    keys = (team_key(allowed_models=[MODEL]),)
    config = {"orchestration": {"fallback_strategy": {"models": ["openai:gpt-4o"]}},
              "resilience": {"retry": {"max_attempts": 1}}}
    async with gateway(upstream, tmp_path, keys=keys, **config) as gw, gw.sdk() as client:
        with pytest.raises(openai.APIStatusError) as failed:
            await client.chat.completions.create(model=MODEL, messages=ASK)
    assert failed.value.status_code == 502 and upstream.count("gpt-4o") == 0
