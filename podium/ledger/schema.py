"""The ledger's tables and forward-only named migrations (the ``llm`` way: a table lists what has been applied)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

metadata = sa.MetaData()


class DecimalText(sa.types.TypeDecorator[Decimal]):
    """Exact money: a Decimal stored as its text, so it comes back digit for digit on SQLite and Postgres."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and read back timezone-aware, the same on every backend."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


migrations_table = sa.Table(
    "podium_migrations",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

# One row per upstream attempt. Written as `pending` before the call (write-ahead), finalized in place after it.
calls = sa.Table(
    "ledger_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(200), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
    sa.Column("project", sa.String(200)),
    sa.Column("key", sa.String(200)),
    sa.Column("team", sa.String(200)),
    sa.Column("user_id", sa.String(200)),
    sa.Column("org", sa.String(200)),
    sa.Column("strategy", sa.String(100)),
    sa.Column("task_type", sa.String(100)),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("provider", sa.String(100), nullable=False),
    sa.Column("stream", sa.Boolean, nullable=False, default=False),
    sa.Column("input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("output_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cached_input_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("reasoning_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cost_usd", DecimalText),  # None: the price is unknown
    sa.Column("reserved_usd", DecimalText, nullable=False),
    sa.Column("latency_ms", sa.Float),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error_type", sa.String(200)),
    sa.Column("error_message", sa.Text),
    sa.Column("gates", sa.Text),  # JSON: quality-gate outcome
    sa.Column("prompt", sa.Text),
    sa.Column("response", sa.Text),
    sa.Column("budget_keys", sa.Text, nullable=False, default="[]"),  # JSON: usage rows the reservation holds
    sa.Column("owner", sa.String(200), nullable=False),  # host:pid:token of the writing process
    sa.Column("tags", sa.Text),  # JSON object with sorted keys: the caller's tags (metadata / x-podium-tags)
    sa.UniqueConstraint("request_id", "attempt", name="uq_ledger_calls_request_attempt"),
    sa.Index("ix_ledger_calls_started_at", "started_at"),
    sa.Index("ix_ledger_calls_status", "status"),
    sa.Index("ix_ledger_calls_project", "project", "started_at"),
    sa.Index("ix_ledger_calls_key", "key", "started_at"),
    sa.Index("ix_ledger_calls_model", "model", "started_at"),
)

# Running totals per budget key, kept in the same transaction as the rows that change them.
budget_usage = sa.Table(
    "ledger_budget_usage",
    metadata,
    sa.Column("scope", sa.String(20), primary_key=True),
    sa.Column("scope_id", sa.String(200), primary_key=True),
    sa.Column("period", sa.String(20), primary_key=True),
    sa.Column("spent_usd", DecimalText, nullable=False),
    sa.Column("reserved_usd", DecimalText, nullable=False),
)


# Explicit verdicts on answers (``podium feedback``, POST /v1/feedback): one row per rated call, a repeat replaces it.
# ``request_id`` is the call as its caller knows it (a routed call's own id); ``call_request_id``/``attempt`` name
# the ledger row of the answer that was rated, and ``model``/``task_type`` are copied from it for training.
feedback = sa.Table(
    "ledger_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(200), nullable=False),
    sa.Column("call_request_id", sa.String(200), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("task_type", sa.String(100)),
    sa.Column("score", sa.Float, nullable=False),  # 0..1; a label is stored as 1.0 (good) or 0.0 (bad)
    sa.Column("label", sa.String(10), nullable=False),  # good | bad (a score of 0.5 or more is good)
    sa.Column("note", sa.Text),
    sa.Column("key", sa.String(200)),
    sa.Column("team", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("request_id", name="uq_ledger_feedback_request"),
    sa.Index("ix_ledger_feedback_model", "model", "task_type"),
)


# Reservation leases: each live ledger (one per process) renews its row; a pending call whose owner's lease has
# expired belongs to a dead replica, and any live replica settles it (recovery.py).
leases = sa.Table(
    "ledger_leases",
    metadata,
    sa.Column("owner", sa.String(200), primary_key=True),  # host:pid:token, as in ledger_calls.owner
    sa.Column("expires_at", UTCDateTime, nullable=False),
)


# Steps emit explicit DDL (CreateTable does not include indexes) so each step does exactly its own part.
def _m001_initial(conn: Connection) -> None:
    conn.execute(CreateTable(calls))
    conn.execute(CreateTable(budget_usage))


def _m002_indexes(conn: Connection) -> None:
    for index in sorted(calls.indexes, key=lambda i: str(i.name)):
        conn.execute(CreateIndex(index))


def _m003_feedback(conn: Connection) -> None:
    conn.execute(CreateTable(feedback))
    for index in sorted(feedback.indexes, key=lambda i: str(i.name)):
        conn.execute(CreateIndex(index))


def _m004_leases(conn: Connection) -> None:
    conn.execute(CreateTable(leases))


def _m005_call_tags(conn: Connection) -> None:
    # A ledger created after ``tags`` joined ``calls`` has it from m001 already.
    if "tags" not in {c["name"] for c in sa.inspect(conn).get_columns(calls.name)}:
        conn.execute(sa.text(f"ALTER TABLE {calls.name} ADD COLUMN tags TEXT"))


# Forward-only: append new steps, never edit or reorder applied ones.
MIGRATIONS: tuple[tuple[str, Callable[[Connection], Any]], ...] = (
    ("m001_initial", _m001_initial),
    ("m002_indexes", _m002_indexes),
    ("m003_feedback", _m003_feedback),
    ("m004_leases", _m004_leases),
    ("m005_call_tags", _m005_call_tags),
)


def migrate(conn: Connection, now: datetime) -> list[str]:
    """Apply every migration not yet listed in ``podium_migrations``; return the names applied now."""
    migrations_table.create(conn, checkfirst=True)
    done = {r[0] for r in conn.execute(sa.select(migrations_table.c.name))}
    applied: list[str] = []
    for name, step in MIGRATIONS:
        if name in done:
            continue
        step(conn)
        conn.execute(migrations_table.insert().values(name=name, applied_at=now))
        applied.append(name)
    return applied
