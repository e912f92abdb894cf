"""Opening the ledger database: SQLite (WAL, busy timeout, BEGIN IMMEDIATE writes) or Postgres (psycopg 3)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from podium.core.errors import ConfigError, PodiumError
from podium.ledger.schema import migrate

WRITE_FLAG = "podium_write"  # execution option: transactions on this connection take the write lock up front
ACCEPTED_FORMS = "a file path (e.g. ~/.podium/ledger.db), sqlite:///path/to/ledger.db or postgresql://user@host/db"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # "sqlite:", "postgresql+psycopg:" (not a drive letter "C:\")
_PASSWORD = re.compile(r"^([^:/@]+://[^:/@]*:).*@")  # to the last "@": an unescaped "@" or "/" in it stays hidden


class LedgerUnavailableError(PodiumError):
    """The ledger database cannot be opened or reached: the server is down, the file's folder cannot be made, ..."""


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``: a plain file path (no scheme) is a SQLite file, ``~`` expanded and relative
    to the current folder; ``postgres://`` and ``postgresql://`` get the psycopg 3 driver; others are left alone."""
    text = url.strip()
    if text == ":memory:":
        return "sqlite://"
    if "://" not in text and (not _SCHEME.match(text) or re.match(r"^[A-Za-z]:[\\/]", text)):
        return f"sqlite:///{Path(text).expanduser().absolute()}"
    for prefix in ("postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql+psycopg://" + text[len(prefix) :]
    return text


_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&]*")


def shown_url(url: str) -> str:
    """``url`` as the user wrote it, with only the password hidden (also a ``?password=`` query parameter):
    safe for an error message."""
    return _QUERY_PASSWORD.sub(r"\1***", _PASSWORD.sub(r"\1***@", url.strip()))


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, or None for in-memory databases and other backends."""
    if not is_sqlite(engine):
        return None
    db = engine.url.database
    return Path(db) if db and db != ":memory:" else None


def ledger_url(url: str, *, label: str = "ledger.url") -> sa.URL:
    """Parse ``url`` (see ``normalize_url``); an unsupported or malformed one is a ConfigError naming ``label`` and
    showing the value exactly as given (password hidden), with the forms that are accepted."""
    normalized = normalize_url(url)
    problem = None
    try:
        parsed = sa.make_url(normalized)
    except sa.exc.ArgumentError:
        problem = "is not a valid database URL"
    else:
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            problem = "is not supported"
    if problem is None and "://" in normalized and normalized.split("://", 1)[1].split("/", 1)[0].count("@") > 1:
        problem = "has an '@' in its user or password; write it as %40"  # else part of the password reads as the host
    if problem is not None:
        raise ConfigError(
            f"{label} {shown_url(url)!r} {problem}; use {ACCEPTED_FORMS}",
            field=label,
            value=shown_url(url),
            valid=["/path/to/ledger.db", "sqlite:///path/to/ledger.db", "postgresql://user@host/db"],
        )
    return parsed


def create_ledger_engine(url: str, *, busy_timeout_ms: int = 10_000, synchronous: str = "normal") -> Engine:
    """An engine for ``url``. Postgres' driver is imported only here, when a postgres URL is used."""
    parsed = ledger_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_ms=busy_timeout_ms, synchronous=synchronous)
    try:
        if parsed.get_driver_name() == "psycopg":
            import psycopg  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "ledger.url is a Postgres URL but the psycopg driver is not installed; "
            "install it with `pip install 'podium[postgres]'`",
            field="ledger.url",
            value=shown_url(url),
        ) from exc
    return sa.create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _shown(engine: Engine) -> str:
    text = engine.url.render_as_string(hide_password=True)
    return shown_url(text.replace("postgresql+psycopg://", "postgresql://", 1))


def _unreachable(engine: Engine, exc: sa.exc.DBAPIError) -> LedgerUnavailableError:
    """One line for a database that cannot be opened or reached: which one (no password) and what to check."""
    reason = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    for secret in (engine.url.password, engine.url.query.get("password")):
        if secret:
            reason = reason.replace(str(secret), "***")
    if is_sqlite(engine):
        where = sqlite_path(engine) or "(in memory)"
        return LedgerUnavailableError(
            f"cannot open the ledger database {where}: {reason}; check that it is a file (not a folder) you may "
            "write, or pass another with --db / ledger.url",
            url=_shown(engine),
        )
    return LedgerUnavailableError(
        f"cannot connect to the ledger database {_shown(engine)}: {reason}; check that the server is running and "
        "the URL's host, port, user, password and database name (ledger.url or --db)",
        url=_shown(engine),
    )


def _sqlite_engine(parsed: sa.URL, *, busy_timeout_ms: int, synchronous: str) -> Engine:
    db = parsed.database
    if db and db != ":memory:":
        # SQLite does not expand "~" itself: open the file the folder is made for (and the journal/lock sit beside).
        path = Path(db).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LedgerUnavailableError(
                f"cannot create the folder of the ledger database {path}: {exc.strerror or exc}; "
                "pass another path with --db / ledger.url",
                url=str(path),
            ) from None
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
    try:
        conn = write_connection(engine)  # the first connection a ledger or reader opens: say plainly if it fails
    except sa.exc.DBAPIError as exc:
        raise _unreachable(engine, exc) from exc
    with conn, conn.begin():
        if not is_sqlite(engine):
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.podium_migrate'))"))
        applied = migrate(conn, now)
    return applied
