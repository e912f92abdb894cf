"""Time the resilience layer adds to one healthy call (target: p50 ≤ 50 µs). Prints a table.

    python benchmarks/resilience_overhead.py [--calls 20000]

Each row runs the same terminal handler (returns a fixed Completion, no I/O) bare and wrapped in a chain, and
reports the added time per call. Default chain = retry + breaker + rate limiter with a model RPM/TPM limit high
enough never to wait; the cache rows add the SQLite response cache (a miss then a store per call, or a hit).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from podium.config.resilience import ResilienceSettings
from podium.core.clock import SYSTEM_CLOCK
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, Handler, compose
from podium.core.types import ChatRequest, Completion, Usage
from podium.resilience import build_resilience

MODEL = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini", default_rpm=10**9,
                  default_tpm=10**12)  # fmt: skip
ANSWER = Completion("ok", MODEL.id, "openai", usage=Usage(12, 3))


async def _terminal(ctx: CallContext) -> Completion:
    return ANSWER


async def _timings(handler: Handler, calls: int, request_for: Callable[[int], ChatRequest]) -> list[float]:
    out: list[float] = []
    for i in range(calls):
        ctx = CallContext(request_for(i), MODEL, CallMeta(), f"r{i}", clock=SYSTEM_CLOCK)
        start = time.perf_counter_ns()
        await handler(ctx)
        out.append((time.perf_counter_ns() - start) / 1000.0)
    return out


async def _case(settings: ResilienceSettings, calls: int, request_for: Callable[[int], ChatRequest],
                warm: Callable[[Handler], Awaitable[None]] | None = None) -> tuple[float, float, float]:  # fmt: skip
    with tempfile.TemporaryDirectory() as home:
        stack = build_resilience(settings, clock=SYSTEM_CLOCK, emit=lambda e: None, home=Path(home),
                                 rng=random.Random(0))  # fmt: skip
        chain = compose([*stack.middlewares_outer, *stack.middlewares_inner], _terminal)
        if warm is not None:
            await warm(chain)
        await _timings(chain, min(calls, 500), request_for)  # warm-up
        bare = await _timings(_terminal, calls, request_for)
        wrapped = await _timings(chain, calls, request_for)
        await stack.aclose()
    added = sorted(w - b for w, b in zip(sorted(wrapped), sorted(bare), strict=True))
    return statistics.median(added), added[int(len(added) * 0.95)], added[int(len(added) * 0.99)]


async def _run(calls: int) -> list[tuple[str, tuple[float, float, float]]]:
    fixed = ChatRequest.from_prompt("What is the capital of France?")

    def unique(i: int) -> ChatRequest:
        return ChatRequest.from_prompt(f"What is the capital of country number {i}?")

    async def prime(chain: Handler) -> None:
        await chain(CallContext(fixed, MODEL, CallMeta(), "prime", clock=SYSTEM_CLOCK))

    cache = {"cache": {"enabled": True}}
    retry_only = ResilienceSettings(rate_limiting=False, breaker={"enabled": False})
    return [
        ("retry + breaker + rate limit (default)", await _case(ResilienceSettings(), calls, lambda i: fixed)),
        ("retry only", await _case(retry_only, calls, lambda i: fixed)),
        ("+ cache, miss and store (SQLite)", await _case(ResilienceSettings(**cache), min(calls, 3000), unique)),
        ("+ cache, hit (SQLite)", await _case(ResilienceSettings(**cache), min(calls, 3000), lambda i: fixed, prime)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    rows = asyncio.run(_run(args.calls))
    table = Table(title=f"Resilience overhead per healthy call ({args.calls} calls; target p50 ≤ 50 µs)")
    for col in ("chain", "p50 µs", "p95 µs", "p99 µs"):
        table.add_column(col, justify="left" if col == "chain" else "right")
    for name, (p50, p95, p99) in rows:
        table.add_row(name, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
