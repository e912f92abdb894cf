"""Opening the ledger database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE writes) or Postgres (psycopg 3)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from podium.core.errors import ConfigError
from podium.ledger.schema import migrate

WRITE_FLAG = "podium_write"  # execution option: transactions on this connection take the write lock up front


def normalize_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` to the psycopg 3 driver; leave other URLs alone."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, or None for in-memory databases and other backends."""
    if not is_sqlite(engine):
        return None
    db = engine.url.database
    return Path(db) if db and db != ":memory:" else None


def create_ledger_engine(url: str, *, busy_timeout_ms: int = 10_000, synchronous: str = "normal") -> Engine:
    """An engine for ``url``. Postgres' driver is imported only here, when a postgres URL is used."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
    if url.startswith("postgresql+psycopg"):
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ConfigError(
                "ledger.url is a Postgres URL but the psycopg driver is not installed; "
                "install it with `pip install 'podium[postgres]'`",
                field="ledger.url",
                value=_redact(url),
            ) from exc
        return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise ConfigError(
        f"ledger.url {_redact(url)!r} is not supported; use sqlite:///path/to/ledger.db or postgresql://user@host/db",
        field="ledger.url",
        value=_redact(url),
        valid=["sqlite:///...", "postgresql://..."],
    )


def _redact(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL: show only the scheme, it may hold a password
        return url.split(":", 1)[0] + ":..."


def _sqlite_engine(url: str, *, busy_timeout_ms: int, synchronous: str) -> Engine:
    parsed = sa.make_url(url)
    db = parsed.database
    if db and db != ":memory:":
        # SQLite does not expand "~" itself: open the file the folder is made for (and the journal/lock sit beside).
        path = Path(db).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = sa.create_engine(parsed, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level so SQLAlchemy's "begin" hook decides how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # IMMEDIATE takes the write lock at BEGIN, so check-then-reserve cannot interleave across processes.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_FLAG) else "BEGIN")

    return engine


def write_connection(engine: Engine) -> sa.Connection:
    """A connection whose transactions lock for writing at BEGIN (SQLite) — the writer thread's connection."""
    return engine.connect().execution_options(**{WRITE_FLAG: True})


def run_migrations(engine: Engine, now: datetime) -> list[str]:
    """Apply pending migrations under a lock, so two processes starting together do not both apply them."""
    with write_connection(engine) as conn, conn.begin():
        if not is_sqlite(engine):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.podium_migrate'))"))
        applied = migrate(conn, now)
    return applied
