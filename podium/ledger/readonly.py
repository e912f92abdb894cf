"""Opening an existing SQLite ledger for reading only: `podium logs` and `podium costs` on a file or folder the user
may not write (mode 0444, a read-only folder or mount) read it without taking a lock or running a migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from podium.ledger.database import LedgerUnavailableError
from podium.ledger.schema import MIGRATIONS, migrations_table


def sqlite_file(url: sa.URL) -> Path | None:
    """The existing database file of a SQLite ``url``; None for another backend, memory, or a file not yet made."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(str(url.database)).expanduser()
    return path if path.is_file() else None


def _connect(path: Path) -> sqlite3.Connection:
    """``mode=ro`` first; in a read-only folder a WAL ledger cannot get its ``-shm`` file, so it is then opened as
    ``immutable`` (nobody can be writing a file in a folder nobody may write)."""
    uri = "file:" + quote(str(path.absolute()))
    failure: sqlite3.Error | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(f"{uri}?{options}", uri=True, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the first read is where opening fails
            return conn
        except sqlite3.Error as exc:
            conn.close()
            failure = exc
    raise LedgerUnavailableError(
        f"cannot read the ledger database {path}: {failure}; check that it is a Podium ledger file you may read, "
        "or pass another with --db / ledger.url",
        url=str(path),
    )


def read_only_engine(path: Path) -> Engine:
    """An engine whose connections can only read ``path``; a file that is not a readable ledger is one line."""
    _connect(path).close()  # fail here, with the file named, rather than inside the first query
    return sa.create_engine("sqlite://", creator=lambda: _connect(path))


def pending_migrations(engine: Engine, path: Path) -> list[str]:
    """The migrations the ledger at ``path`` has not had: one written by an older Podium is upgraded before reading."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(migrations_table.name):
                return [name for name, _ in MIGRATIONS]
            done = {r[0] for r in conn.execute(sa.select(migrations_table.c.name))}
    except sa.exc.DBAPIError as exc:
        raise LedgerUnavailableError(
            f"cannot read the ledger database {path}: {exc.orig}; check that it is a Podium ledger file",
            url=str(path),
        ) from None
    return [name for name, _ in MIGRATIONS if name not in done]
