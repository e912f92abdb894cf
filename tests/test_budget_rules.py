"""Budget rules: refusal fields, soft mode, alerts, unknown prices, per-call caps, periods, scopes, modes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from test_ledger_support import UNPRICED, Events, SteppingClock, make_ctx, priced_terminal, sqlite_url, worst_case

from podium.config.ledger import BudgetSettings, LedgerSettings
from podium.core.errors import BudgetExceededError, ConfigError, UnknownPriceError
from podium.core.events import EventType
from podium.core.pipeline import CallMeta, compose
from podium.core.types import Usage
from podium.ledger import Budget, Ledger, LedgerMiddleware, UsageKey, build_ledger_middleware

ANSWER = Usage(input_tokens=20, output_tokens=50)
COST = Decimal("0.00081")  # 20 * 3/1M + 50 * 15/1M
WORST = worst_case(make_ctx("x"))


def open_ledger(
    tmp_path: Path,
    *budgets: Budget,
    clock: SteppingClock | None = None,
    events: Events | None = None,
    mode: str = "shared",
) -> Ledger:
    return Ledger(
        sqlite_url(tmp_path),
        budgets=budgets,
        clock=clock or SteppingClock(),
        emit=Events() if events is None else events,
        mode=mode,
    )


async def call(ledger: Ledger, rid: str, *, upstream: list[str] | None = None, **kw: object):
    handler = compose([LedgerMiddleware(ledger)], priced_terminal(ANSWER, calls=upstream))
    result = await handler(make_ctx(rid, **kw))  # type: ignore[arg-type]
    await ledger.flush()
    return result


def test_cost_constant_matches_the_model() -> None:
    from test_ledger_support import SPEC

    assert SPEC.cost(ANSWER) == COST


async def test_refusal_names_scope_limit_spent_reserved_requested(tmp_path: Path) -> None:
    events = Events()
    limit = COST + WORST - Decimal("0.000001")  # one call fits; the next worst case no longer does
    ledger = open_ledger(tmp_path, Budget("team", limit, scope_id="eng"), events=events)
    upstream: list[str] = []
    try:
        await call(ledger, "r1", meta=CallMeta(team="eng"), upstream=upstream)
        with pytest.raises(BudgetExceededError) as info:
            await call(ledger, "r2", meta=CallMeta(team="eng"), upstream=upstream)
        err = info.value
        assert (err.scope, err.limit, err.spent, err.reserved, err.requested) == ("team:eng", limit, COST, 0, WORST)
        assert str(err).startswith(f"the budget of team eng (${limit}) would be exceeded: ${COST} spent and $0 held")
        assert upstream == ["r1"]  # nothing was sent for the refused call
        await ledger.flush()
        assert ledger.reader.row("r2")["status"] == "refused"
        exceeded = events.of(EventType.BUDGET_EXCEEDED)
        assert len(exceeded) == 1 and exceeded[0].data["mode"] == "hard" and exceeded[0].data["admitted"] is False
        # Another team is not affected by eng's budget.
        await call(ledger, "r3", meta=CallMeta(team="research"))
    finally:
        ledger.close()


async def test_soft_budget_warns_and_lets_the_call_through(tmp_path: Path) -> None:
    events = Events()
    ledger = open_ledger(tmp_path, Budget("global", Decimal("0.0001"), mode="soft"), events=events)
    try:
        completion = await call(ledger, "s1")
        assert completion.cost_usd == COST
        soft = events.of(EventType.BUDGET_EXCEEDED)
        assert len(soft) == 1 and soft[0].data["mode"] == "soft" and soft[0].data["admitted"] is True
        assert ledger.reader.row("s1")["status"] == "ok"
    finally:
        ledger.close()


@pytest.mark.parametrize("mode", ["shared", "process"])
async def test_alert_fires_once_at_the_threshold(tmp_path: Path, mode: str) -> None:
    events = Events()
    ledger = open_ledger(
        tmp_path, Budget("project", COST * 10, scope_id="p", alert_threshold=Decimal("0.5")), events=events, mode=mode
    )
    try:
        for i in range(4):
            await call(ledger, f"a{i}", meta=CallMeta(project="p"))
        assert events.of(EventType.BUDGET_WARNING) == []  # 40% spent
        await call(ledger, "a4", meta=CallMeta(project="p"))
        await call(ledger, "a5", meta=CallMeta(project="p"))
        warnings = events.of(EventType.BUDGET_WARNING)
        assert len(warnings) == 1
        assert warnings[0].data["phase"] == "project:p" and warnings[0].data["ratio"] == pytest.approx(0.5)
    finally:
        ledger.close()


async def test_unknown_price_fails_closed_under_a_hard_budget(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, Budget("global", Decimal(10)))
    upstream: list[str] = []
    try:
        with pytest.raises(UnknownPriceError, match="local:mystery"):
            await call(ledger, "u1", model=UNPRICED, upstream=upstream)
        assert upstream == [] and ledger.reader.row("u1") is None
    finally:
        ledger.close()


async def test_unknown_price_runs_under_a_soft_budget_and_is_recorded_unpriced(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path, Budget("global", Decimal(10), mode="soft"))
    try:
        await call(ledger, "u2", model=UNPRICED)
        row = ledger.reader.row("u2")
        assert (row["status"], row["cost_usd"], row["reserved_usd"]) == ("ok", None, Decimal(0))
    finally:
        ledger.close()


async def test_per_call_cap_from_max_cost(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path)
    try:
        with pytest.raises(BudgetExceededError) as info:
            await call(ledger, "c1", meta=CallMeta(max_cost_usd=Decimal("0.001")), max_tokens=1000)
        assert (info.value.scope, info.value.limit, info.value.spent) == ("call", Decimal("0.001"), 0)
        await call(ledger, "c2", meta=CallMeta(max_cost_usd=Decimal("0.01")), max_tokens=100)
        with pytest.raises(UnknownPriceError):
            await call(ledger, "c3", meta=CallMeta(max_cost_usd=Decimal(1)), model=UNPRICED)
    finally:
        ledger.close()


@pytest.mark.parametrize("mode", ["shared", "process"])
async def test_daily_budget_resets_the_next_day_and_monthly_the_next_month(tmp_path: Path, mode: str) -> None:
    clock = SteppingClock()
    tiny = Decimal("0.000001")
    day = Budget("key", COST + WORST - tiny, scope_id="k", period="day")  # one call fits, then a worst case fails
    month = Budget("key", COST * 3 + WORST - tiny, scope_id="k", period="month")  # three calls fit
    ledger = open_ledger(tmp_path, day, month, clock=clock, mode=mode)
    try:
        await call(ledger, "d1", meta=CallMeta(key="k"))
        with pytest.raises(BudgetExceededError) as info:
            await call(ledger, "d2", meta=CallMeta(key="k"))
        assert info.value.scope == "key:k (day 2025-06-10)"
        clock.advance(days=1)
        await call(ledger, "d3", meta=CallMeta(key="k"))
        clock.advance(days=1)
        await call(ledger, "d4", meta=CallMeta(key="k"))
        clock.advance(days=1)
        with pytest.raises(BudgetExceededError) as info:  # the month is full now: 3 calls of COST
            await call(ledger, "d5", meta=CallMeta(key="k"))
        assert info.value.scope == "key:k (month 2025-06)" and info.value.spent == COST * 3
        clock.advance(days=30)
        await call(ledger, "d6", meta=CallMeta(key="k"))
        assert ledger.totals(UsageKey("key", "k", "month:2025-07")).spent == COST
    finally:
        ledger.close()


async def test_a_budget_added_later_counts_earlier_spend(tmp_path: Path) -> None:
    clock = SteppingClock()
    ledger = open_ledger(tmp_path, clock=clock)
    for i in range(3):
        await call(ledger, f"h{i}", meta=CallMeta(user="ann"))
    ledger.close()
    ledger = open_ledger(tmp_path, Budget("user", COST * 3 + WORST - Decimal("0.000001"), period="month"), clock=clock)
    try:
        with pytest.raises(BudgetExceededError) as info:
            await call(ledger, "h3", meta=CallMeta(user="ann"))
        assert info.value.spent == COST * 3
        await call(ledger, "h4", meta=CallMeta(user="bob"))  # id None: each user has their own budget
    finally:
        ledger.close()


def test_process_mode_is_exclusive(tmp_path: Path) -> None:
    shared = open_ledger(tmp_path)
    try:
        with pytest.raises(ConfigError, match="ledger.mode"):
            open_ledger(tmp_path, mode="process")
    finally:
        shared.close()
    solo = open_ledger(tmp_path, mode="process")
    try:
        with pytest.raises(ConfigError, match="ledger.mode: process by another process"):
            open_ledger(tmp_path)
    finally:
        solo.close()


async def test_settings_build_the_seed_budgets(tmp_path: Path) -> None:
    from podium.config import PodiumConfig

    settings = PodiumConfig.model_validate({
        "orchestration": {"cost_tracking": {"budget_limit_usd": "0.001"}},  # seed 001's monthly budget (an alias)
        "ledger": {"url": sqlite_url(tmp_path), "budgets": [{"scope": "org", "id": "acme", "limit_usd": 5}],
                   "daily_budget_usd": 50},
    }).ledger
    middleware, ledger = build_ledger_middleware(settings, home=tmp_path)
    assert middleware is not None and ledger is not None
    try:
        scopes = sorted((b.scope, b.period, str(b.limit_usd)) for b in ledger.budgets)
        assert scopes == [("global", "day", "50"), ("global", "month", "0.001"), ("org", "none", "5")]
        with pytest.raises(BudgetExceededError, match=r"^the global budget \(\$0\.001 for month \d{4}-\d\d\) would be exceeded"):
            await compose([middleware], priced_terminal(ANSWER))(make_ctx("seed-1"))
    finally:
        ledger.close()
    assert build_ledger_middleware(LedgerSettings(enabled=False), home=tmp_path) == (None, None)
    assert LedgerSettings().database_url(tmp_path) == f"sqlite:///{tmp_path / 'ledger.db'}"


def test_budget_settings_reject_nonsense() -> None:
    import pydantic

    with pytest.raises(pydantic.ValidationError, match="per-call budget has no period"):
        BudgetSettings(scope="call", period="day", limit_usd=1)
    with pytest.raises(pydantic.ValidationError, match="global budget takes no id"):
        BudgetSettings(scope="global", id="x", limit_usd=1)
    assert BudgetSettings(scope="team", limit_usd=0.1).limit_usd == Decimal("0.1")
