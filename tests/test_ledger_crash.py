"""A process killed between the upstream answer and the ledger write leaves no paid call unrecorded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import SteppingClock, make_ctx, priced_terminal, sqlite_url, worst_case

from podium.core.pipeline import CallMeta
from podium.core.types import Usage
from podium.ledger import Budget, Ledger, Totals, UsageKey

# The child answers the call, then SIGKILLs itself from a middleware sitting inside the ledger's: the answer
# exists, the ledger middleware never gets to settle the row.
CHILD = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from decimal import Decimal
    sys.path.insert(0, {tests!r})
    from podium.core.pipeline import CallMeta, compose
    from podium.core.types import Usage
    from podium.ledger import Budget, Ledger, LedgerMiddleware
    from test_ledger_support import make_ctx, priced_terminal

    async def die_after_answer(ctx, call_next):
        completion = await call_next(ctx)
        print("answered", completion.cost_usd, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    async def main():
        ledger = Ledger({url!r}, budgets=[Budget("team", Decimal("1"), scope_id="eng")], mode={mode!r})
        handler = compose([LedgerMiddleware(ledger), die_after_answer], priced_terminal(Usage(500, 80)))
        await handler(make_ctx("paid-1", meta=CallMeta(team="eng")))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("mode", ["shared", "process"])
def test_kill_after_answer_is_recovered_on_restart(tmp_path: Path, mode: str) -> None:
    url = sqlite_url(tmp_path)
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent), url=url, mode=mode))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -9, proc.stderr  # killed by SIGKILL
    assert proc.stdout.startswith("answered")

    ledger = Ledger(url, budgets=[Budget("team", Decimal(1), scope_id="eng")], mode=mode)
    try:
        assert ledger.recovered == 1
        row = ledger.reader.row("paid-1")
        reserved = worst_case(make_ctx("x", meta=CallMeta(team="eng")))
        # Charged conservatively at the worst case it reserved: the provider may have billed the whole call.
        assert (row["status"], row["cost_usd"], row["reserved_usd"]) == ("recovered", reserved, reserved)
        assert ledger.reader.count() == 1  # nothing written twice
        assert ledger.totals(UsageKey("team", "eng", "none")) == Totals(spent=reserved, reserved=Decimal(0))
    finally:
        ledger.close()
    again = Ledger(url)
    try:
        assert again.recovered == 0  # recovery is idempotent
    finally:
        again.close()


async def test_stale_pending_row_of_a_live_owner_is_recovered_by_age(tmp_path: Path) -> None:
    clock = SteppingClock()
    url = sqlite_url(tmp_path)
    first = Ledger(url, clock=clock, stale_pending_s=600)
    hold = await first.reserve(make_ctx("stuck-1"))
    assert hold.requested > 0
    # This process is alive, so a new ledger leaves the row alone until it is older than any call could run.
    second = Ledger(url, clock=clock, stale_pending_s=600)
    assert second.recovered == 0
    second.close()
    clock.advance(seconds=601)
    third = Ledger(url, clock=clock, stale_pending_s=600)
    try:
        assert third.recovered == 1
        assert third.reader.row("stuck-1")["status"] == "recovered"
        # The first ledger's late settle finds the row already final and changes nothing.
        await first.flush()
        first.settle(hold, make_ctx("stuck-1"), await priced_terminal(Usage(1, 1))(make_ctx("stuck-1")), 5.0)
        await first.flush()
        assert third.reader.row("stuck-1")["cost_usd"] == hold.requested
    finally:
        first.close()
        third.close()
