"""Who may write the ledger: any number of `shared` writers, or exactly one `process` writer.

The in-process mode keeps budget totals in memory, which is only correct when no other process writes the same
database. So it takes an exclusive lock (a flock beside the SQLite file, or a Postgres advisory lock) and shared
writers take the same lock in shared mode: a second process can never silently bypass the in-memory counters.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from podium.core.errors import ConfigError
from podium.ledger.database import is_sqlite, sqlite_path

_PG_LOCK_KEY = "hashtext(current_schema() || '.podium_ledger_writers')"


class ModeLock:
    """A held writer lock; ``release()`` gives it back (closing the ledger does)."""

    def __init__(self, release: Any = None) -> None:
        self._release = release

    def release(self) -> None:
        if self._release is not None:
            fn, self._release = self._release, None
            fn()


def _busy(where: str, mode: str) -> ConfigError:
    if mode == "process":
        msg = (
            f"the ledger at {where} is already open in another process, so ledger.mode: process (one writer) "
            "cannot start; stop the other process or use ledger.mode: shared"
        )
    else:
        msg = (
            f"the ledger at {where} is open in ledger.mode: process by another process, which allows no other "
            "writer; stop it or switch it to ledger.mode: shared"
        )
    return ConfigError(msg, field="ledger.mode", value=mode, valid=["shared", "process"])


def acquire_mode_lock(engine: Engine, mode: str) -> ModeLock:
    """Take the writer lock for ``mode`` ("shared" or "process") or raise ConfigError naming the conflict."""
    if is_sqlite(engine):
        return _flock(engine, mode)
    return _advisory(engine, mode)


def _flock(engine: Engine, mode: str) -> ModeLock:
    path = sqlite_path(engine)
    try:
        import fcntl
    except ImportError:  # no flock on this platform: the in-process mode is then the user's promise
        return ModeLock()
    if path is None:
        return ModeLock()
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if mode == "process" else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _busy(str(path), mode) from None

    def release() -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    return ModeLock(release)


def _advisory(engine: Engine, mode: str) -> ModeLock:
    fn = "pg_try_advisory_lock" if mode == "process" else "pg_try_advisory_lock_shared"
    conn = engine.connect()
    with conn.begin():
        got = conn.execute(sa.text(f"SELECT {fn}({_PG_LOCK_KEY})")).scalar()
    if not got:
        conn.close()
        raise _busy(engine.url.render_as_string(hide_password=True), mode)

    def release() -> None:
        unlock = "pg_advisory_unlock" if mode == "process" else "pg_advisory_unlock_shared"
        try:
            with conn.begin():
                conn.execute(sa.text(f"SELECT {unlock}({_PG_LOCK_KEY})"))
        finally:
            conn.close()

    return ModeLock(release)
