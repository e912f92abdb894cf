"""Transactional steps run by the writer thread: reserve (check + write-ahead), settle, recover.

Each function takes an open Connection inside a write transaction. On SQLite that transaction began with
BEGIN IMMEDIATE, so it holds the database write lock; on Postgres the usage rows are locked with
SELECT ... FOR UPDATE, always in key order so two processes cannot deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from podium.core.money import ZERO
from podium.ledger.budgets import SCOPE_FIELDS, Budget, UsageKey
from podium.ledger.fastsql import FastStatement
from podium.ledger.rows import PENDING, RECOVERED, parse_keys
from podium.ledger.schema import DecimalText, budget_usage, calls, leases
from podium.ledger.writer import Tx


@dataclass(frozen=True, slots=True)
class Totals:
    """A usage key's running totals: settled spend and what in-flight calls hold."""

    spent: Decimal = ZERO
    reserved: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Refusal:
    budget: Budget
    key: UsageKey
    totals: Totals


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of a reservation: refused by a hard budget, or admitted (maybe past soft ones)."""

    refusal: Refusal | None = None
    soft_overs: tuple[Refusal, ...] = ()
    totals: dict[UsageKey, Totals] = field(default_factory=dict)


def _insert(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def where_key(key: UsageKey) -> Any:
    c = budget_usage.c
    return sa.and_(c.scope == key.scope, c.scope_id == key.scope_id, c.period == key.period)


# Statements built once with bind parameters: compiled once per connection, not once per call.
_U = budget_usage.c
_KEY_MATCH = sa.and_(
    _U.scope == sa.bindparam("k_scope"), _U.scope_id == sa.bindparam("k_id"), _U.period == sa.bindparam("k_period")
)
_SELECT_TOTALS = sa.select(_U.spent_usd, _U.reserved_usd).where(_KEY_MATCH).with_for_update()
_UPDATE_TOTALS = budget_usage.update().where(_KEY_MATCH)
_C = calls.c
_ROW_MATCH = sa.and_(_C.request_id == sa.bindparam("r_id"), _C.attempt == sa.bindparam("r_attempt"))
# Finalizing matches only a pending row, so a row already final (settled, recovered) is never charged twice.
_FINALIZE_ROW = calls.update().where(_ROW_MATCH, _C.status == PENDING).returning(_C.reserved_usd, _C.budget_keys)
_INSERT_ROW = calls.insert()
# The statements every call runs, executed on the cursor (fastsql.py); the same SQL, a tenth of the overhead.
_FAST_SELECT_TOTALS = FastStatement(_SELECT_TOTALS, (DecimalText(), DecimalText()))
_FAST_UPDATE_TOTALS = FastStatement(_UPDATE_TOTALS)
_FAST_FINALIZE_ROW = FastStatement(_FINALIZE_ROW, (DecimalText(), sa.Text()))
_FAST_INSERT_ROW = FastStatement(_INSERT_ROW)
_TOTAL_COLUMNS = ("reserved_usd", "spent_usd")
_ROW_DEFAULTS = {c.key: c.default.arg for c in calls.columns if c.default is not None and c.default.is_scalar}
_DIRTY = "totals_dirty"
_NEW_ROWS = "new_rows"  # Tx.cache key: rows to insert at commit, in one executemany
_QUEUED = "queued_rows"  # Tx.cache key: {(request id, attempt): row} of _NEW_ROWS, for ops later in the batch


def _add_row(tx: Tx, row: dict[str, Any]) -> None:
    """Queue a row for this transaction's single multi-row insert (a batch of N rows costs one statement)."""
    row = dict(row)  # a later op in this batch may finalize it in place; the caller's dict must stay as it was
    tx.cache.setdefault(_NEW_ROWS, []).append(row)
    tx.cache.setdefault(_QUEUED, {}).setdefault((row["request_id"], row["attempt"]), row)
    tx.before_commit(_NEW_ROWS, _insert_rows)


def _queued_row(tx: Tx, request_id: str, attempt: int) -> dict[str, Any] | None:
    """A row queued for insert in this transaction: a settle in the same batch as its reservation updates it here."""
    queued: dict[tuple[str, int], dict[str, Any]] | None = tx.cache.get(_QUEUED)
    return None if queued is None else queued.get((request_id, attempt))


def queued_rows(tx: Tx) -> list[dict[str, Any]]:
    """Rows queued for insert in this transaction, not yet visible to a SELECT (feedback looks at them too)."""
    return list(tx.cache.get(_NEW_ROWS, ()))


def _insert_rows(tx: Tx) -> None:
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in tx.cache[_NEW_ROWS]:  # grouped by column set, as executemany needs
        row = {**_ROW_DEFAULTS, **row}  # the cursor path applies no Python-side column defaults itself
        groups.setdefault(tuple(row), []).append(row)
    for columns, rows in groups.items():
        _FAST_INSERT_ROW.run_many(tx.cursor, tx.conn.dialect, rows, columns)


def _key_params(key: UsageKey) -> dict[str, str]:
    return {"k_scope": key.scope, "k_id": key.scope_id, "k_period": key.period}


def _initial_spend(conn: Connection, key: UsageKey) -> Decimal:
    """What the ledger already holds for a key that has no running total yet (a budget added later)."""
    c = calls.c
    cond = [c.status != PENDING, c.cost_usd.is_not(None)]
    if key.scope in SCOPE_FIELDS:
        cond.append(c[SCOPE_FIELDS[key.scope][1]] == key.scope_id)
    start, end = key.window()
    if start is not None:
        cond += [c.started_at >= start, c.started_at < end]
    total = ZERO
    for (cost,) in conn.execute(sa.select(c.cost_usd).where(*cond)):
        total += cost
    return total


def load_totals(tx: Tx, key: UsageKey) -> Totals:
    """The key's totals, locked for this transaction (read once per batch); created from the rows on first use."""
    cache: dict[UsageKey, Totals] = tx.totals
    if key in cache:
        return cache[key]
    params = _key_params(key)
    found = _FAST_SELECT_TOTALS.run(tx.cursor, tx.conn.dialect, params)
    row = found[0] if found else None
    if row is None:
        spent = _initial_spend(tx.conn, key)
        ins = _insert(tx.conn)(budget_usage).values(
            scope=key.scope, scope_id=key.scope_id, period=key.period, spent_usd=spent, reserved_usd=ZERO
        )
        tx.conn.execute(ins.on_conflict_do_nothing())
        row = tx.conn.execute(_SELECT_TOTALS, params).one()
    cache[key] = Totals(row[0], row[1])
    return cache[key]


def _store_totals(tx: Tx, key: UsageKey, totals: Totals) -> None:
    tx.totals[key] = totals
    tx.cache.setdefault(_DIRTY, set()).add(key)
    tx.before_commit(_DIRTY, _write_totals)


def _write_totals(tx: Tx) -> None:
    cache: dict[UsageKey, Totals] = tx.totals
    for key in sorted(tx.cache.get(_DIRTY, ())):
        t = cache[key]
        params = {**_key_params(key), "spent_usd": t.spent, "reserved_usd": t.reserved}
        _FAST_UPDATE_TOTALS.run(tx.cursor, tx.conn.dialect, params, _TOTAL_COLUMNS)


def check(budgets: Sequence[tuple[Budget, UsageKey]], totals: dict[UsageKey, Totals], requested: Decimal) -> Admission:
    """Does ``requested`` fit every hard budget? Soft budgets it would pass are reported, not refused."""
    soft: list[Refusal] = []
    for budget, key in budgets:
        t = totals[key]
        if t.spent + t.reserved + requested > budget.limit_usd:
            if budget.hard:
                return Admission(refusal=Refusal(budget, key, t), totals=totals)
            soft.append(Refusal(budget, key, t))
    return Admission(soft_overs=tuple(soft), totals=totals)


def reserve(
    tx: Tx,
    budgets: Sequence[tuple[Budget, UsageKey]],
    requested: Decimal,
    row: dict[str, Any],
    *,
    enforce: bool = True,
) -> Admission:
    """Check every budget and, if the call fits, hold ``requested`` on each key and write the pending row.

    ``enforce=False`` skips the check: the in-process mode has already decided in memory.
    """
    keys = sorted({k for _, k in budgets})
    totals = {k: load_totals(tx, k) for k in keys}
    admission = check(budgets, totals, requested) if enforce else Admission(totals=totals)
    if admission.refusal is not None:
        return admission
    for k in keys:
        _store_totals(tx, k, Totals(totals[k].spent, totals[k].reserved + requested))
    _add_row(tx, row)
    return admission


def settle(
    tx: Tx, request_id: str, attempt: int, values: dict[str, Any], cost: Decimal | None
) -> dict[UsageKey, Totals]:
    """Finalize a pending row and move its reservation to spend. A row already final is left alone (no double charge)."""
    queued = _queued_row(tx, request_id, attempt)
    if queued is not None:
        if queued["status"] != PENDING:
            return {}
        queued.update(values)
        return _move(tx, queued["reserved_usd"], queued["budget_keys"], cost or ZERO)
    params = {**values, "r_id": request_id, "r_attempt": attempt}
    found = _FAST_FINALIZE_ROW.run(tx.cursor, tx.conn.dialect, params, tuple(sorted(values)))
    if not found:
        return {}
    row = found[0]
    return _move(tx, row[0], row[1], cost or ZERO)


def _move(tx: Tx, reserved: Decimal, keys_json: str, cost: Decimal) -> dict[UsageKey, Totals]:
    out: dict[UsageKey, Totals] = {}
    for key in parse_keys(keys_json):
        t = load_totals(tx, key)
        new = Totals(t.spent + cost, max(ZERO, t.reserved - reserved))
        _store_totals(tx, key, new)
        out[key] = new
    return out


def insert_row(tx: Tx, row: dict[str, Any]) -> None:
    """A row that never held a reservation (a refused call)."""
    _add_row(tx, row)


def set_gates(tx: Tx, request_id: str, attempt: int, outcome: object) -> int:
    queued = _queued_row(tx, request_id, attempt)
    if queued is not None:
        queued["gates"] = json.dumps(outcome)
        return 1
    c = calls.c
    stmt = calls.update().where(c.request_id == request_id, c.attempt == attempt).values(gates=json.dumps(outcome))
    return tx.conn.execute(stmt).rowcount


def recover(
    tx: Tx,
    is_alive: Callable[[str], bool],
    stale_before: datetime,
    now: datetime,
    *,
    self_owner: str | None = None,
) -> int:
    """Charge pending rows of dead writers at their reserved worst case; the provider may have billed them.

    A row is orphaned when ``is_alive(owner)`` is false, its owner's lease (``ledger_leases``) expired before
    ``now``, or it started before ``stale_before`` (no call runs that long). ``self_owner``'s rows are live unless
    stale. Each row is finalized only while still pending, so two replicas reclaiming together charge it once.
    """
    c = calls.c
    expiry = dict(tx.conn.execute(sa.select(leases.c.owner, leases.c.expires_at)).all())
    rows = tx.conn.execute(
        sa.select(c.id, c.owner, c.started_at).where(c.status == PENDING)
    ).all()
    count = 0
    for row_id, owner, started_at in rows:
        if started_at >= stale_before:
            if owner == self_owner:
                continue
            lease = expiry.get(owner)
            if (lease is None or lease >= now) and is_alive(owner):
                continue
        got = tx.conn.execute(
            calls.update()
            .where(c.id == row_id, c.status == PENDING)
            .values({**recovered_values(None, now), "cost_usd": c.reserved_usd})
            .returning(c.reserved_usd, c.budget_keys)
        ).first()
        if got is None:  # settled or reclaimed meanwhile
            continue
        _move(tx, got[0], got[1], got[0])
        count += 1
    dead = [o for o, exp in expiry.items() if exp < now and o != self_owner]
    if dead:
        tx.conn.execute(leases.delete().where(leases.c.owner.in_(dead), leases.c.expires_at < now))
    return count


def renew_lease(tx: Tx, owner: str, expires_at: datetime) -> None:
    """Extend ``owner``'s lease: its pending reservations are live until ``expires_at``."""
    updated = tx.conn.execute(leases.update().where(leases.c.owner == owner).values(expires_at=expires_at))
    if updated.rowcount == 0:
        tx.conn.execute(_insert(tx.conn)(leases).values(owner=owner, expires_at=expires_at).on_conflict_do_nothing())


def drop_lease(tx: Tx, owner: str) -> None:
    tx.conn.execute(leases.delete().where(leases.c.owner == owner))


_DIED = "the writing process ended before the answer was recorded; charged at the reserved worst case"


def recovered_values(reserved: Decimal | None, now: datetime) -> dict[str, Any]:
    """How an orphaned reservation is finalized: charged its worst case, since the provider may have billed it."""
    return {
        "status": RECOVERED,
        "cost_usd": reserved,
        "finished_at": now,
        "error_type": "ProcessDied",
        "error_message": _DIED,
    }


_EXISTING = sa.select(_C.status, _C.reserved_usd, _C.budget_keys).where(_ROW_MATCH)


def replay(tx: Tx, entries: Sequence[tuple[dict[str, Any], dict[str, Any] | None]], now: datetime) -> int:
    """Write the final row of each journaled reservation the database does not hold as final; return how many.

    ``entries`` are (reservation row, final values or None). With final values (the answer came back and was
    journaled) the row gets them exactly; without, it is recovered at its reserved worst case. A row already
    final is left alone, so replaying twice changes nothing.
    """
    count = 0
    for reservation, final in entries:
        params = {"r_id": reservation["request_id"], "r_attempt": reservation["attempt"]}
        existing = tx.conn.execute(_EXISTING, params).first()
        if existing is not None and existing[0] != PENDING:
            continue
        values = final if final is not None else recovered_values(reservation["reserved_usd"], now)
        cost = values.get("cost_usd") or ZERO
        if existing is None:  # the reservation never reached the database: nothing holds it in the totals
            # Another process replaying the same journal at once may have inserted it: then it counted it too.
            ins = _insert(tx.conn)(calls).values({**reservation, **values}).on_conflict_do_nothing().returning(_C.id)
            if tx.conn.execute(ins).first() is None:  # (rowcount is -1 on psycopg with RETURNING)
                continue
            for key in parse_keys(reservation["budget_keys"]):
                t = load_totals(tx, key)
                _store_totals(tx, key, Totals(t.spent + cost, t.reserved))
        elif tx.conn.execute(_FINALIZE_ROW, {**values, **params}).first() is None:
            continue  # finalized meanwhile by someone else
        else:
            _move(tx, existing[1], existing[2], cost)
        count += 1
    return count
