"""Budgets cannot be overshot by concurrent callers: in one process (asyncio) and across processes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SPEC, make_ctx, pg_url, priced_terminal, sqlite_url, worst_case  # noqa: F401

from podium.core.errors import BudgetExceededError
from podium.core.pipeline import CallContext, CallMeta, compose
from podium.core.types import Completion, Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware, UsageKey

CALLERS = 200
ANSWER = Usage(input_tokens=40, output_tokens=60)


async def run_callers(url: str, mode: str, limit: Decimal, **options: object) -> tuple[int, list[dict], Ledger]:
    ledger = Ledger(url, budgets=[Budget("project", limit, scope_id="p1")], mode=mode, **options)  # type: ignore[arg-type]
    upstream: list[str] = []
    answer = priced_terminal(ANSWER, calls=upstream)
    arrived = 0
    everyone = asyncio.Event()

    def arrive() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == CALLERS:
            everyone.set()

    async def held_upstream(ctx: CallContext) -> Completion:
        # Every admitted call stays in flight until all callers have been admitted or refused: all 200 compete.
        arrive()
        await everyone.wait()
        return await answer(ctx)

    handler = compose([LedgerMiddleware(ledger)], held_upstream)

    async def one(i: int) -> bool:
        try:
            await handler(make_ctx(f"req-{i}", meta=CallMeta(project="p1")))
        except BudgetExceededError:
            arrive()
            return False
        return True

    admitted = sum(await asyncio.gather(*(one(i) for i in range(CALLERS))))
    await ledger.flush()
    assert len(upstream) == admitted  # a refused call never reached the upstream
    return admitted, ledger.reader.rows(), ledger


def check_no_overshoot(admitted: int, rows: list[dict], ledger: Ledger, limit: Decimal) -> None:
    ok = [r for r in rows if r["status"] == "ok"]
    refused = [r for r in rows if r["status"] == "refused"]
    spent = sum((r["cost_usd"] for r in ok), Decimal(0))
    assert spent <= limit
    assert 0 < admitted < CALLERS  # the limit bites: some calls were admitted, not all
    assert len(ok) == admitted
    assert len(refused) == CALLERS - admitted
    assert Counter(r["request_id"] for r in rows).most_common(1)[0][1] == 1  # every call recorded exactly once
    assert all(r["cost_usd"] == SPEC.cost(ANSWER) for r in ok)
    totals = ledger.totals(UsageKey("project", "p1", "none"))
    assert totals == ledger.reader.totals(UsageKey("project", "p1", "none"))
    assert totals.spent == spent and totals.reserved == 0


def limit_for(admit: int) -> Decimal:
    # Room for `admit` worst-case reservations (and a bit): the in-flight holds, not actual costs, decide.
    return worst_case(make_ctx("x")) * admit + Decimal("0.0000001")


# process = in-memory admission with the journal as write-ahead; process-db = waiting for the committed row.
MODES = {"shared": ("shared", {}), "process": ("process", {}), "process-db": ("process", {"journal": False})}


@pytest.mark.parametrize("variant", list(MODES))
async def test_200_concurrent_callers_sqlite(tmp_path: Path, variant: str) -> None:
    mode, options = MODES[variant]
    limit = limit_for(37)
    admitted, rows, ledger = await run_callers(sqlite_url(tmp_path), mode, limit, **options)
    try:
        check_no_overshoot(admitted, rows, ledger, limit)
        assert admitted == 37  # every caller arrives before any settles, so exactly the worst cases that fit
        if ledger.journal is not None:
            assert ledger.journal.pending == 0 and ledger.journal.size() == 0  # all final: checkpointed away
    finally:
        ledger.close()


@pytest.mark.postgres
@pytest.mark.parametrize("variant", list(MODES))
async def test_200_concurrent_callers_postgres(pg_url: str, tmp_path: Path, variant: str) -> None:  # noqa: F811
    mode, options = MODES[variant]
    if variant == "process":  # Postgres has no file to sit beside: the journal goes where it is told
        options = {"journal_path": tmp_path / "pg.podium-journal"}
    limit = limit_for(37)
    admitted, rows, ledger = await run_callers(pg_url, mode, limit, **options)
    try:
        check_no_overshoot(admitted, rows, ledger, limit)
        assert admitted == 37
        assert (ledger.journal is not None) == (variant == "process")
    finally:
        ledger.close()


WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from decimal import Decimal
    sys.path.insert(0, {tests!r})
    from podium.core.errors import BudgetExceededError
    from podium.core.pipeline import CallMeta, compose
    from podium.ledger import Budget, Ledger, LedgerMiddleware
    from test_ledger_support import make_ctx, priced_terminal
    from test_budget_concurrency import ANSWER

    async def main(worker, n, url, limit):
        ledger = Ledger(url, budgets=[Budget("project", Decimal(limit), scope_id="p1")], batch_max=8)
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(ANSWER))
        async def one(i):
            try:
                await handler(make_ctx(f"w{{worker}}-{{i}}", meta=CallMeta(project="p1")))
                return 1
            except BudgetExceededError:
                return 0
        admitted = sum(await asyncio.gather(*(one(i) for i in range(n))))
        await ledger.flush()
        ledger.close()
        print(admitted)

    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]))
    """
)


def test_concurrent_processes_share_one_budget_on_sqlite(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    limit = limit_for(45)
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=str(Path(__file__).parent)))
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(w), "50", url, str(limit)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    admitted = sum(int(out.strip()) for out, _ in outputs)
    ledger = Ledger(url, budgets=[Budget("project", limit, scope_id="p1")])
    try:
        rows = ledger.reader.rows()
        ok = [r for r in rows if r["status"] == "ok"]
        assert len(rows) == 150 and len(ok) == admitted
        assert sum((r["cost_usd"] for r in ok), Decimal(0)) <= limit
        # Holds are released as calls settle, so across processes more than 45 may run, never past the limit.
        assert admitted >= 45
        assert ledger.totals(UsageKey("project", "p1", "none")).spent == SPEC.cost(ANSWER) * admitted
    finally:
        ledger.close()
