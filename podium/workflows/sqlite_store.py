"""The SQLite file under a workflow store: one connection shared between threads, named forward-only migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar, Self

from podium.core.clock import SYSTEM_CLOCK, Clock


class SQLiteStore:
    """Base of the workflow stores; subclasses name their migrations, the table recording them, and their pragmas."""

    MIGRATIONS: ClassVar[tuple[tuple[str, str], ...]]
    MIGRATIONS_TABLE: ClassVar[str]
    PRAGMAS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, path: str | Path, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        for pragma in self.PRAGMAS:
            self._conn.execute(f"PRAGMA {pragma}")
        self._migrate()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        table = self.MIGRATIONS_TABLE
        with self._tx() as db:
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, applied_at TEXT)")
            done = {r[0] for r in db.execute(f"SELECT name FROM {table}")}
            for name, sql in self.MIGRATIONS:
                if name not in done:
                    for statement in filter(str.strip, sql.split(";")):
                        db.execute(statement)
                    db.execute(f"INSERT INTO {table} VALUES (?, ?)", (name, self._clock.now().isoformat()))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
