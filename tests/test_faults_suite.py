"""Fault injection through the whole chain: the engine, the ledger and the resilience layer against the fake
upstream over loopback HTTP, on a virtual clock (only the timeouts take real time: 0.25 s each)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from podium.catalog import Catalog
from podium.config.ledger import LedgerSettings
from podium.config.providers import ProviderSettings
from podium.config.resilience import ResilienceSettings
from podium.core.errors import AllAttemptsFailedError, ProviderError
from podium.core.events import Event, EventType
from podium.core.types import ChatRequest, Completion
from podium.engine import Podium
from podium.engine.providers import ProviderPool
from podium.ledger import Ledger, build_ledger_middleware, close_ledger
from podium.resilience import BreakerState, ResilienceStack, build_resilience
from podium.testing import FakeUpstream, serve
from podium.testing.clock import FakeClock

pytestmark = pytest.mark.slow  # training, replays or many processes: the everyday run skips it

PRIMARY, SECOND, HEALTHY = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "gemini:gemini-2.5-flash"
WIRE = {PRIMARY: "gpt-4o-mini", SECOND: "claude-haiku-4-5-20251001", HEALTHY: "gemini-2.5-flash"}
MIXED = (429, 500, 503, "timeout", "malformed", "cut")
LOCAL = "ollama:llama3.2"
KEY = "test-key"


@dataclass
class Rig:
    upstream: FakeUpstream
    client: Podium
    clock: FakeClock
    events: list[Event]
    ledger: Ledger
    stack: ResilienceStack

    def kinds(self) -> Counter[EventType]:
        return Counter(e.type for e in self.events)

    async def rows(self) -> list[dict]:  # type: ignore[type-arg]
        await self.ledger.flush()
        return self.ledger.reader.rows()


def _providers(url: str, read_timeout: float) -> dict[str, ProviderSettings]:
    def p(name: str, base: str, local: bool = False) -> ProviderSettings:
        return ProviderSettings(name=name, kind="openai" if local else name, base_url=base,  # type: ignore[arg-type]
                                api_key_env=f"{name.upper()}_API_KEY", read_timeout=read_timeout,
                                stream_idle_timeout=read_timeout, total_timeout=5, local=local)  # fmt: skip

    return {
        "openai": p("openai", url + "/v1"),
        "anthropic": p("anthropic", url),
        "gemini": p("gemini", url),
        "ollama": p("ollama", url + "/v1", local=True),
    }


@pytest.fixture
async def rig(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    param: dict = getattr(request, "param", {})  # type: ignore[type-arg]
    settings: ResilienceSettings = param.get("settings") or ResilienceSettings()
    upstream = FakeUpstream(api_key=KEY, timeout_seconds=1.0)
    clock = FakeClock()
    events: list[Event] = []
    async with serve(upstream.app) as url, httpx.AsyncClient() as http:
        env = {f"{name.upper()}_API_KEY": KEY for name in ("openai", "anthropic", "gemini", "ollama")}
        pool = ProviderPool(_providers(url, 0.25), http_client=http, env=env, clock=clock)
        stack = build_resilience(settings, clock=clock, emit=events.append, home=tmp_path, rng=random.Random(5),
                                 local_providers={"ollama"})  # fmt: skip
        ledger_mw, ledger = build_ledger_middleware(LedgerSettings(mode="process"), home=tmp_path, clock=clock)
        assert ledger_mw is not None and ledger is not None
        client = Podium(
            catalog=Catalog.bundled(), providers=pool, clock=clock, emit=events.append, fallback=stack.fallback,
            middlewares=[*stack.middlewares_outer, ledger_mw, *stack.middlewares_inner],
            fallback_models=param.get("fallbacks", [SECOND, HEALTHY, LOCAL]),
        )  # fmt: skip
        try:
            yield Rig(upstream, client, clock, events, ledger, stack)
        finally:
            await client.aclose()
            await stack.aclose()
            await close_ledger(ledger)


async def _ask(rig: Rig, i: int) -> Completion | BaseException:
    request = ChatRequest.from_prompt(f"question {i}")
    try:
        if i % 5 == 0:
            return await rig.client.stream(request, model=PRIMARY).collect()
        return await rig.client.complete(request, model=PRIMARY)
    except Exception as exc:  # noqa: BLE001 - counted by the caller
        return exc


async def _run(rig: Rig, calls: int, *, batch: int = 20) -> list[Completion | BaseException]:
    results: list[Completion | BaseException] = []
    for start in range(0, calls, batch):
        rig.clock.advance(1.0)  # 20 calls per virtual second: breakers cool down and probe during the run
        results += await asyncio.gather(*(_ask(rig, i) for i in range(start, min(calls, start + batch))))
    return results


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.5])
async def test_mixed_faults_on_two_models_while_one_stays_healthy(rig: Rig, rate: float) -> None:
    for n, model in enumerate((PRIMARY, SECOND)):
        rig.upstream.error_rate(WIRE[model], rate, MIXED, rng=random.Random(100 + n), retry_after=1.0)
    results = await _run(rig, 1000)

    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) <= 1, f"{len(failures)} of 1000 calls failed: {failures[:3]}"
    rows = await rig.rows()
    # Every upstream attempt is one ledger row. Rows the breaker rejected never reached the upstream; a failed
    # connection or a client-side timeout may or may not have (on a loaded machine a request can time out before the
    # upstream reads it), so only those rows are left open.
    unsure_types = ("UpstreamConnectionError", "UpstreamTimeoutError")
    reached = [r for r in rows if r["error_type"] not in ("CircuitOpenError", *unsure_types)]
    unsure = [r for r in rows if r["error_type"] in unsure_types]
    counts = Counter((r["status"], r["error_type"]) for r in rows)
    assert len(reached) <= rig.upstream.count() <= len(reached) + len(unsure), counts
    assert len({(r["request_id"], r["attempt"]) for r in rows}) == len(rows)
    # No call is charged twice: one answered row per request, no request with two charged rows, and a failed
    # attempt costs nothing unless its stream was cut after tokens were sent (billed upstream, so charged once).
    answered = Counter(r["request_id"] for r in rows if r["status"] == "ok")
    assert len(answered) == 1000 - len(failures) and set(answered.values()) == {1}
    charged = Counter(r["request_id"] for r in rows if r["cost_usd"] and r["cost_usd"] > 0)
    assert set(charged.values()) <= {1}
    assert all(r["cost_usd"] == Decimal(0) for r in rows if r["status"] != "ok" and r["output_tokens"] == 0)
    billed = sum((r["cost_usd"] for r in rows if r["status"] == "ok"), Decimal(0))
    assert billed == sum((c.cost_usd for c in results if isinstance(c, Completion)), Decimal(0))

    kinds = rig.kinds()
    if rate == 0:
        assert rig.upstream.counts == {WIRE[PRIMARY]: 1000}
        assert not kinds[EventType.BREAKER_OPEN] and not kinds[EventType.FALLBACK] and not kinds[EventType.RETRY]
        return
    assert kinds[EventType.RETRY] > 0
    # At 10% faults retries usually absorb everything, so whether any call had to fall back depends on how the
    # concurrent calls interleave; from 30% on, fallbacks are certain.
    assert kinds[EventType.FALLBACK] > 0 or rate < 0.3
    assert kinds[EventType.BREAKER_OPEN] > 0 and kinds[EventType.BREAKER_HALF_OPEN] > 0
    assert kinds[EventType.BREAKER_CLOSED] > 0
    await _recovers(rig)


async def _recovers(rig: Rig) -> None:
    """Once the faults stop and the cooldown passes, half-open probes close every breaker again."""
    for model in (PRIMARY, SECOND):
        rig.upstream.error_rate(WIRE[model], 0.0)
    rig.clock.advance(60)
    answers = [await rig.client.complete(f"after {i}", model=PRIMARY) for i in range(5)]
    assert {a.model for a in answers} == {PRIMARY}
    assert rig.stack.breaker is not None and rig.stack.breaker.state(PRIMARY) is BreakerState.CLOSED


async def test_retry_after_2_is_honoured_on_the_injected_clock(rig: Rig) -> None:
    rig.upstream.fail(WIRE[PRIMARY], 429, retry_after=2, times=1)
    answer = await rig.client.complete("hello", model=PRIMARY)
    assert answer.model == PRIMARY and rig.upstream.count(WIRE[PRIMARY]) == 2
    first, second = await rig.rows()
    assert (first["attempt"], first["error_type"], second["attempt"], second["status"]) == (
        1,
        "RateLimitError",
        2,
        "ok",
    )
    assert (second["started_at"] - first["started_at"]).total_seconds() >= 2.0
    assert rig.clock.sleeps and rig.clock.sleeps[0] >= 2.0
    assert rig.kinds()[EventType.FALLBACK] == 0


@pytest.mark.parametrize(
    "rig", [{"settings": ResilienceSettings(retry={"retry_budget": 10}), "fallbacks": [SECOND, HEALTHY]}], indirect=True
)
async def test_all_providers_down_fails_in_bounded_time_listing_every_attempt(rig: Rig) -> None:
    for n, wire in enumerate(WIRE.values()):
        rig.upstream.error_rate(wire, 1.0, (500, 503, "timeout", "malformed"), rng=random.Random(n))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AllAttemptsFailedError) as info:
        await rig.client.complete("anyone there?", model=PRIMARY)
    real_s = loop.time() - started
    err = info.value
    rows = await rig.rows()
    assert len(err.attempts) == len(rows) == rig.upstream.count()
    assert [m for m, _ in err.attempts] == [r["model"] for r in rows]
    assert all(isinstance(e, ProviderError) for _, e in err.attempts)
    assert {m for m, _ in err.attempts} == {PRIMARY, SECOND, HEALTHY}
    for model, cause in err.attempts:
        assert f"{model}: {type(cause).__name__}" in str(err)
    assert rig.clock.elapsed <= 3 * 10  # each model's retries stay within its retry budget
    assert real_s < 30  # only the injected timeouts (0.25 s each) take real time


async def test_local_model_answers_when_every_remote_provider_is_down(rig: Rig) -> None:
    for n, wire in enumerate(WIRE.values()):
        rig.upstream.error_rate(wire, 1.0, (500, 503), rng=random.Random(n))
    answer = await rig.client.complete("local please", model=PRIMARY)
    assert answer.model == LOCAL
    fallbacks = [e.data["to"] for e in rig.events if e.type is EventType.FALLBACK]
    assert fallbacks[-1] == LOCAL and set(fallbacks[:-1]) == {SECOND, HEALTHY}


@pytest.mark.parametrize("rig", [{"settings": ResilienceSettings(cache={"enabled": True})}], indirect=True)
async def test_cache_hits_cost_nothing_and_concurrent_twins_share_one_call(rig: Rig) -> None:
    rig.upstream.delay(WIRE[PRIMARY], 0.05)
    first = await asyncio.gather(*(rig.client.complete("same question", model=PRIMARY) for _ in range(8)))
    assert rig.upstream.count() == 1
    assert sum(not c.cached for c in first) == 1
    streamed = await rig.client.stream("same question", model=PRIMARY).collect()
    assert streamed.cached and streamed.text == first[0].text and rig.upstream.count() == 1
    rows = await rig.rows()
    assert len(rows) == 9 and sum(r["cost_usd"] > 0 for r in rows) == 1
    assert rig.kinds()[EventType.CACHE_HIT] == 8
