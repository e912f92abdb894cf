"""Forward-only named migrations, database URLs, and the writer's batching."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_ledger_support import make_ctx, pg_url, priced_terminal, sqlite_url  # noqa: F401

from podium.core.errors import ConfigError
from podium.core.pipeline import compose
from podium.core.types import Usage
from podium.ledger import Ledger, LedgerMiddleware
from podium.ledger.database import create_ledger_engine, normalize_url, run_migrations
from podium.ledger.schema import MIGRATIONS, migrations_table

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def applied(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.select(migrations_table.c.name)))


def test_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    engine = create_ledger_engine(sqlite_url(tmp_path))
    try:
        assert run_migrations(engine, NOW) == [name for name, _ in MIGRATIONS]
        assert run_migrations(engine, NOW) == []
        assert applied(engine) == sorted(name for name, _ in MIGRATIONS)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_an_old_database_is_brought_forward(tmp_path: Path) -> None:
    engine = create_ledger_engine(sqlite_url(tmp_path))
    try:
        with engine.begin() as conn:  # a database written by a version that only knew the first migration
            migrations_table.create(conn)
            name, step = MIGRATIONS[0]
            step(conn)
            conn.execute(migrations_table.insert().values(name=name, applied_at=NOW))
        assert not sa.inspect(engine).get_indexes("ledger_calls")
        assert run_migrations(engine, NOW) == [n for n, _ in MIGRATIONS[1:]]
        assert {i["name"] for i in sa.inspect(engine).get_indexes("ledger_calls")} >= {"ix_ledger_calls_started_at"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_gets_the_same_schema(pg_url: str) -> None:  # noqa: F811
    engine = create_ledger_engine(pg_url)
    try:
        assert run_migrations(engine, NOW) == [name for name, _ in MIGRATIONS]
        assert {"ledger_calls", "ledger_budget_usage", "podium_migrations"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_urls() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError, match="ledger.url") as info:
        create_ledger_engine("mysql://root:hunter22@db/ledger")
    assert "hunter22" not in str(info.value)


async def test_concurrent_writes_commit_in_batches(tmp_path: Path) -> None:
    import asyncio

    ledger = Ledger(sqlite_url(tmp_path))
    try:
        handler = compose([LedgerMiddleware(ledger)], priced_terminal(Usage(3, 3)))
        await asyncio.gather(*(handler(make_ctx(f"b{i}")) for i in range(300)))
        await ledger.flush()
        assert ledger.reader.count() == 300
        # 300 pending rows + 300 settles in far fewer transactions than 600: group commit at work.
        assert ledger.transactions < 100
    finally:
        ledger.close()


def test_a_sqlite_url_under_home_opens_the_expanded_file() -> None:
    # `ledger.url: sqlite:///~/ledgers/podium.db` must open the file in $HOME (SQLite would take "~" literally).
    home = Path.home()
    with Ledger("sqlite:///~/ledgers/podium.db", mode="process") as ledger:
        assert ledger.engine.url.database == str(home / "ledgers" / "podium.db")
        assert ledger.journal is not None and ledger.journal.path.parent == home / "ledgers"
    assert (home / "ledgers" / "podium.db").is_file()
    assert not Path("~").exists()
