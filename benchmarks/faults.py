"""Success rate and latency under injected upstream faults. Prints a table.

    python benchmarks/faults.py [--calls 1000] [--rates 0,0.1,0.3,0.5] [--timeout 0.25] [--concurrency 1]

Two models (openai:gpt-4o-mini, anthropic:claude-haiku-4-5) fail a share of calls with a mix of 429 (Retry-After
1 s), 500, 503, timeouts, malformed JSON and cut streams; gemini:gemini-2.5-flash stays healthy. Every call asks
gpt-4o-mini (one in five streamed) through the engine with the default resilience settings and the ledger, over
loopback HTTP to the fake upstream. Backoff waits run on a virtual clock (20 calls per virtual second), so
"p50/p95" is real time per call (HTTP, timeouts, fallbacks) and "backoff s" the mean virtual time a call would
also have waited between retries. "req/call" counts upstream requests, "opens" circuit-breaker openings.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from podium.catalog import Catalog
from podium.config.ledger import LedgerSettings
from podium.config.providers import ProviderSettings
from podium.config.resilience import ResilienceSettings
from podium.core.events import Event, EventType
from podium.core.types import ChatRequest
from podium.engine import Podium
from podium.engine.providers import ProviderPool
from podium.ledger import build_ledger_middleware, close_ledger
from podium.resilience import build_resilience
from podium.testing import FakeUpstream, serve
from podium.testing.clock import FakeClock

MODELS = {"openai:gpt-4o-mini": "gpt-4o-mini", "anthropic:claude-haiku-4-5": "claude-haiku-4-5-20251001"}
HEALTHY = "gemini:gemini-2.5-flash"
MIX = (429, 500, 503, "timeout", "malformed", "cut")


def _client(url: str, timeout: float, clock: FakeClock, events: list[Event], home: Path, http: httpx.AsyncClient):  # type: ignore[no-untyped-def]
    names = {"openai": url + "/v1", "anthropic": url, "gemini": url}
    settings = {n: ProviderSettings(name=n, kind=n, base_url=b, api_key_env="FAKE_KEY", read_timeout=timeout,  # type: ignore[arg-type]
                                    stream_idle_timeout=timeout, total_timeout=10) for n, b in names.items()}  # fmt: skip
    pool = ProviderPool(settings, http_client=http, env={"FAKE_KEY": "k"}, clock=clock)
    stack = build_resilience(ResilienceSettings(), clock=clock, emit=events.append, home=home, rng=random.Random(0))
    ledger_mw, ledger = build_ledger_middleware(LedgerSettings(mode="process"), home=home, clock=clock)
    client = Podium(catalog=Catalog.bundled(), providers=pool, clock=clock, emit=events.append, fallback=stack.fallback,
                    middlewares=[*stack.middlewares_outer, ledger_mw, *stack.middlewares_inner],
                    fallback_models=[*list(MODELS)[1:], HEALTHY])  # fmt: skip
    return client, stack, ledger


async def _level(rate: float, calls: int, timeout: float, concurrency: int) -> dict[str, float]:
    upstream = FakeUpstream(api_key="k", timeout_seconds=timeout * 4)
    for n, wire in enumerate(MODELS.values()):
        upstream.error_rate(wire, rate, MIX, rng=random.Random(10 + n), retry_after=1.0)
    clock, events = FakeClock(), []
    latencies: list[float] = []
    failed: list[int] = []
    ok = 0
    with tempfile.TemporaryDirectory() as home:
        async with serve(upstream.app) as url, httpx.AsyncClient() as http:
            client, stack, ledger = _client(url, timeout, clock, events, Path(home), http)

            async def one(i: int) -> None:
                nonlocal ok
                started = time.perf_counter()
                request = ChatRequest.from_prompt(f"question {i}")
                try:
                    if i % 5 == 0:
                        await client.stream(request, model="openai:gpt-4o-mini").collect()
                    else:
                        await client.complete(request, model="openai:gpt-4o-mini")
                except Exception:  # noqa: BLE001 - a failed call is what this benchmark counts
                    failed.append(i)
                else:
                    ok += 1
                latencies.append((time.perf_counter() - started) * 1000)

            for start in range(0, calls, concurrency):
                clock.advance(concurrency / 20)  # 20 calls per virtual second
                await asyncio.gather(*(one(i) for i in range(start, min(calls, start + concurrency))))
            await client.aclose()
            await stack.aclose()
            await close_ledger(ledger)
    kinds = Counter(e.type for e in events)
    latencies.sort()
    return {
        "success": ok / calls * 100,
        "p50": statistics.median(latencies),
        "p95": latencies[int(len(latencies) * 0.95)],
        "backoff": clock.slept / calls,
        "upstream": upstream.count() / calls,
        "fallbacks": kinds[EventType.FALLBACK] / calls,
        "opens": kinds[EventType.BREAKER_OPEN],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rates", default="0,0.1,0.3,0.5")
    parser.add_argument("--timeout", type=float, default=0.25, help="provider read/stream-idle timeout in seconds")
    parser.add_argument("--concurrency", type=int, default=1, help="calls in flight at once")
    args = parser.parse_args()
    table = Table(title=f"{args.calls} calls per fault rate on 2 of 3 models (mix: 429/500/503/timeout/malformed/cut)")
    for col in ("faults", "ok %", "p50 ms", "p95 ms", "backoff s", "req/call", "fallbk/call", "opens"):
        table.add_column(col, justify="right")
    for rate in (float(r) for r in args.rates.split(",")):
        r = asyncio.run(_level(rate, args.calls, args.timeout, args.concurrency))
        table.add_row(f"{rate:.0%}", f"{r['success']:.1f}", f"{r['p50']:.1f}", f"{r['p95']:.1f}", f"{r['backoff']:.2f}",
                      f"{r['upstream']:.2f}", f"{r['fallbacks']:.2f}", str(int(r["opens"])))  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
