"""Ledger throughput and reservation latency on SQLite and Postgres. Prints a table.

    python benchmarks/ledger.py [--rows 20000] [--pg postgresql://postgres@127.0.0.1:5432/test]

* rows/s: finished rows written through the writer thread, batched (group commit) and unbatched (one
  transaction per row); and whole calls/s through the middleware (each call = write-ahead + settle).
* reservation latency: the in-process admission decision (ledger.mode: process, in memory), and a whole
  reservation including its write-ahead, one caller at a time, for each mode and backend. In process mode the
  write-ahead is a journal line (``journal``; ``journal+fsync`` is the power-cut-safe variant) or, with
  ``journal=False``, the committed pending row (``db commit``, what Postgres process mode does without
  ``journal_path``). Shared mode always waits for the database transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import ChatRequest, Completion, Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware
from podium.ledger import operations as ops

SPEC = ModelSpec(
    id="bench:model",
    provider="bench",
    api_model="model",
    input_per_million=Decimal(3),
    output_per_million=Decimal(15),
    max_output_tokens=1000,
)
USAGE = Usage(input_tokens=120, output_tokens=80)
BUDGETS = [Budget("global", Decimal(1000000), period="month"), Budget("project", Decimal(1000000))]
NOW = datetime(2025, 6, 1, tzinfo=UTC)
# label -> (ledger.mode, Ledger options); process mode journals by default beside a SQLite file.
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "shared": ("shared", {}),
    "process (journal)": ("process", {}),
    "process (db commit)": ("process", {"journal": False}),
}
FSYNC: tuple[str, dict[str, object]] = ("process", {"journal_fsync": True})
_RUN = uuid.uuid4().hex[:12]  # request ids stay unique across runs sharing one Postgres schema
_SEQ = itertools.count()


def ctx(i: int, meta: CallMeta) -> CallContext:
    rid = f"r{next(_SEQ)}-{_RUN}"
    return CallContext(ChatRequest.from_prompt(f"benchmark prompt {i}", max_tokens=100), SPEC, meta, rid)


async def upstream(c: CallContext) -> Completion:
    return Completion(text="x", model=SPEC.id, provider="bench", usage=USAGE, cost_usd=SPEC.cost(USAGE))


def final_row(i: int, owner: str) -> dict:
    return {
        "request_id": f"w{i}-{owner}",
        "attempt": 1,
        "started_at": NOW,
        "finished_at": NOW,
        "model": SPEC.id,
        "provider": "bench",
        "stream": False,
        "input_tokens": 120,
        "output_tokens": 80,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": SPEC.cost(USAGE),
        "reserved_usd": Decimal(0),
        "latency_ms": 1.0,
        "status": "ok",
        "budget_keys": "[]",
        "owner": owner,
    }


async def rows_per_second(url: str, n: int, batch_max: int) -> float:
    ledger = Ledger(url, batch_max=batch_max)
    try:
        start = time.perf_counter()
        futs = [ledger._writer.submit(partial(ops.insert_row, row=final_row(i, ledger.owner))) for i in range(n)]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futs))
        return n / (time.perf_counter() - start)
    finally:
        ledger.close()


async def calls_per_second(url: str, n: int, mode: str, concurrency: int = 200, **options: object) -> float:
    ledger = Ledger(url, budgets=BUDGETS, mode=mode, **options)  # type: ignore[arg-type]
    handler = compose([LedgerMiddleware(ledger)], upstream)
    meta = CallMeta(project="bench")
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            await handler(ctx(i, meta))

    try:
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        await ledger.flush()
        return n / (time.perf_counter() - start)
    finally:
        ledger.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[int(0.95 * (len(s) - 1))]


async def decision_latency(url: str, n: int) -> tuple[float, float]:
    """The in-memory admission alone (process mode): what a reservation costs before its write-ahead."""
    ledger = Ledger(url, budgets=BUDGETS, mode="process")
    try:
        meta = CallMeta(project="bench")
        await ledger.reserve(ctx(-1, meta))  # loads the budget totals
        from podium.ledger.budgets import applicable

        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            pairs = applicable(ledger.budgets, meta, ledger.clock.now())
            ledger.admit_in_memory(pairs, Decimal("0.0015"))
            samples.append((time.perf_counter() - t0) * 1000)
        return percentiles(samples)
    finally:
        ledger.close()


async def reserve_latency(url: str, n: int, mode: str, **options: object) -> tuple[float, float]:
    """A whole reservation, one caller at a time: decision + write-ahead (journal line or committed row).

    Each iteration also settles, so the writer thread is busy committing the previous rows meanwhile, as in use.
    """
    ledger = Ledger(url, budgets=BUDGETS, mode=mode, **options)  # type: ignore[arg-type]
    meta = CallMeta(project="bench")
    try:
        samples = []
        for i in range(n):
            c = ctx(i, meta)
            t0 = time.perf_counter()
            hold = await ledger.reserve(c)
            samples.append((time.perf_counter() - t0) * 1000)
            ledger.settle(hold, c, await upstream(c), 1.0)
        await ledger.flush()
        return percentiles(samples)
    finally:
        ledger.close()


@contextmanager
def pg_schema(admin_url: str) -> Iterator[str | None]:
    engine = sa.create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = f"podium_bench_{uuid.uuid4().hex[:8]}"
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        print(f"(Postgres skipped: {exc.orig})", file=sys.stderr)
        engine.dispose()
        yield None
        return
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


async def run(rows: int, pg_admin: str) -> list[tuple[str, str, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="podium-bench-"))
    fresh: Callable[[], str] = lambda: f"sqlite:///{tmp / uuid.uuid4().hex}.db"
    out = _Rows()
    out.append(("SQLite", "rows/s batched (group commit)", f"{await rows_per_second(fresh(), rows, 512):,.0f}"))
    out.append(("SQLite", "rows/s unbatched", f"{await rows_per_second(fresh(), rows // 10, 1):,.0f}"))
    for label, (mode, options) in VARIANTS.items():
        value = await calls_per_second(fresh(), rows // 4, mode, **options)
        out.append(("SQLite", f"calls/s via middleware, {label}", f"{value:,.0f}"))
    p50, p95 = await decision_latency(fresh(), 20_000)
    out.append(("in-process", "admission decision p50 / p95 ms", f"{p50:.4f} / {p95:.4f}"))
    for label, (mode, options) in {**VARIANTS, "process (journal+fsync)": FSYNC}.items():
        n = 500 if options.get("journal_fsync") else 2_000
        p50, p95 = await reserve_latency(fresh(), n, mode, **options)
        out.append(("SQLite", f"reserve + write-ahead p50 / p95 ms, {label}", f"{p50:.3f} / {p95:.3f}"))
    with pg_schema(pg_admin) as pg:
        if pg is not None:
            out.append(("Postgres", "rows/s batched (group commit)", f"{await rows_per_second(pg, rows, 512):,.0f}"))
            out.append(("Postgres", "rows/s unbatched", f"{await rows_per_second(pg, rows // 10, 1):,.0f}"))
            out.append(
                (
                    "Postgres",
                    "calls/s via middleware, shared",
                    f"{await calls_per_second(pg, rows // 4, 'shared'):,.0f}",
                )
            )
            pg_variants = {**VARIANTS, "process (journal)": ("process", {"journal_path": tmp / "pg.podium-journal"})}
            for label, (mode, options) in pg_variants.items():
                p50, p95 = await reserve_latency(pg, 2_000, mode, **options)
                out.append(("Postgres", f"reserve + write-ahead p50 / p95 ms, {label}", f"{p50:.3f} / {p95:.3f}"))
    return out


class _Rows(list[tuple[str, str, str]]):
    """Results, echoed to stderr as they arrive so a long run shows progress."""

    def append(self, item: tuple[str, str, str]) -> None:
        print("  ", *item, file=sys.stderr)
        super().append(item)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = asyncio.run(run(args.rows, args.pg))
    width = max(len(what) for _, what, _ in results)
    print(f"{'backend':<11} {'measure':<{width}} value")
    for backend, what, value in results:
        print(f"{backend:<11} {what:<{width}} {value}")


if __name__ == "__main__":
    main()
