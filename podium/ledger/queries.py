"""Reading the ledger: rows for logs, reports and exports, and budget totals. Takes no writer lock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.ledger.budgets import UsageKey
from podium.ledger.database import create_ledger_engine, ledger_url, run_migrations
from podium.ledger.feedback import feedback_rows, gate_verdicts
from podium.ledger.operations import Totals, where_key
from podium.ledger.readonly import pending_migrations, read_only_engine, sqlite_file
from podium.ledger.rows import row_to_dict
from podium.ledger.schema import budget_usage, calls


def _open(url: str, clock: Clock) -> Engine:
    """An existing, up-to-date SQLite file is opened read-only (it may be a file or folder the user cannot write);
    otherwise the ledger is opened as a writer would, so a fresh home reads as an empty ledger."""
    path = sqlite_file(ledger_url(url))
    if path is not None:
        engine = read_only_engine(path)
        if not pending_migrations(engine, path):
            return engine
        engine.dispose()
    engine = create_ledger_engine(url)
    run_migrations(engine, clock.now())
    return engine


class LedgerReader:
    """Read-only access to a ledger database (``podium logs``, ``podium costs``)."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        if engine is None:
            if url is None:
                raise ValueError("LedgerReader needs a database url or an engine")
            engine = _open(url, clock)
            self._owns_engine = True
        else:
            self._owns_engine = False
        self.engine = engine

    def rows(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        statuses: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Ledger rows as dicts (Decimal costs, aware UTC times), oldest first unless ``newest_first``."""
        c = calls.c
        stmt = sa.select(calls)
        if since is not None:
            stmt = stmt.where(c.started_at >= since)
        if until is not None:
            stmt = stmt.where(c.started_at < until)
        if statuses:
            stmt = stmt.where(c.status.in_(list(statuses)))
        stmt = stmt.order_by(c.id.desc() if newest_first else c.id.asc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            return [row_to_dict(r) for r in conn.execute(stmt)]

    def row(self, request_id: str, attempt: int = 1) -> dict[str, Any] | None:
        c = calls.c
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(calls).where(c.request_id == request_id, c.attempt == attempt)).first()
        return None if r is None else row_to_dict(r)

    def feedback_rows(
        self, *, key: str | None = None, team: str | None = None, since: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Stored feedback (one row per rated call), oldest first, with the answer's prompt when it was logged."""
        with self.engine.connect() as conn:
            return feedback_rows(conn, key=key, team=team, since=since)

    def gate_verdicts(self, *, since: datetime | None = None) -> list[dict[str, Any]]:
        """Answers a quality gate kept or escalated (``outcome``), except those rated explicitly: weak labels."""
        with self.engine.connect() as conn:
            return gate_verdicts(conn, since=since)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(calls)).scalar_one())

    def totals(self, key: UsageKey) -> Totals:
        """The running totals of a usage key (zero when nothing was ever reserved under it)."""
        c = budget_usage.c
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(c.spent_usd, c.reserved_usd).where(where_key(key))).first()
        return Totals() if r is None else Totals(r[0], r[1])

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()
