"""Storage for the response cache: SQLite on one worker thread (the event loop never blocks on disk), or Redis,
shared by every replica and worker (``cache.url: redis://host:port/db``, ``pip install podium[redis]``)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from podium.core.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS response_cache (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    payload TEXT NOT NULL
)
"""


def sqlite_path(url: str | None, home: Path) -> Path:
    """The cache file for ``cache.url`` (``sqlite:///path`` or a path); default ``<home>/cache.db``."""
    if url is None:
        return home / "cache.db"
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).expanduser()
    if "://" in url:
        raise ConfigError(f"cache.url {url!r} is not supported; use sqlite:///path/to/cache.db", field="cache.url",
                          value=url, valid="sqlite:///<path>")  # fmt: skip
    return Path(url).expanduser()


def response_store(url: str | None, home: Path) -> Any:
    """The store ``cache.url`` names: Redis for ``redis://`` / ``rediss://`` URLs, else a SQLite file."""
    if url is not None and url.startswith(("redis://", "rediss://")):
        return RedisResponseStore(url)
    return SQLiteResponseStore(sqlite_path(url, home))


class SQLiteResponseStore:
    """Key → JSON payload with an expiry time (epoch seconds; None = never). Thread-confined connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-cache")
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _get(self, key: str, now: float) -> dict[str, Any] | None:
        conn = self._connect()
        row = conn.execute(
            "SELECT payload, expires_at, created_at FROM response_cache WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        payload, expires_at, created_at = row
        if expires_at is not None and expires_at <= now:
            conn.execute("DELETE FROM response_cache WHERE key = ? AND expires_at <= ?", (key, now))
            return None
        data: dict[str, Any] = json.loads(payload)
        data["_created_at"] = created_at
        return data

    def _put(self, key: str, model: str, payload: str, now: float, expires_at: float | None) -> None:
        self._connect().execute(
            "INSERT OR REPLACE INTO response_cache (key, model, created_at, expires_at, payload) VALUES (?, ?, ?, ?, ?)",
            (key, model, now, expires_at, payload),
        )

    def _purge(self, now: float) -> int:
        cur = self._connect().execute("DELETE FROM response_cache WHERE expires_at IS NOT NULL AND expires_at <= ?",
                                      (now,))  # fmt: skip
        return cur.rowcount

    def _count(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM response_cache").fetchone()[0])

    async def get(self, key: str, now: float) -> dict[str, Any] | None:
        """The stored payload (plus ``_created_at``) if present and not expired at ``now``."""
        return await self._run(self._get, key, now)  # type: ignore[no-any-return]

    async def put(self, key: str, model: str, payload: dict[str, Any], now: float, ttl_s: float | None) -> None:
        text = json.dumps(payload, separators=(",", ":"), default=str)
        await self._run(self._put, key, model, text, now, None if ttl_s is None else now + ttl_s)

    async def purge_expired(self, now: float) -> int:
        """Delete expired rows; returns how many."""
        return await self._run(self._purge, now)  # type: ignore[no-any-return]

    async def count(self) -> int:
        return await self._run(self._count)  # type: ignore[no-any-return]

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def aclose(self) -> None:
        await self._run(self._close)
        self._executor.shutdown(wait=True)


class RedisResponseStore:
    """Key → JSON payload in Redis, so every replica answers a repeated prompt from one cache.

    Expiry is decided on the injected clock's ``now`` (as with SQLite); Redis also drops each entry at its expiry
    (server time, plus a minute's grace) so nothing accumulates.
    """

    def __init__(self, url: str | None = None, *, client: Any = None, prefix: str = "podium:cache:") -> None:
        if client is None:
            try:
                import redis.asyncio as aioredis
            except ImportError as exc:
                raise ConfigError("cache.url redis://... needs the redis package: pip install 'podium[redis]'",
                                  field="cache.url", value=url) from exc  # fmt: skip
            client = aioredis.Redis.from_url(url)
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.prefix = prefix

    async def get(self, key: str, now: float) -> dict[str, Any] | None:
        raw = await self.client.get(self.prefix + key)
        if raw is None:
            return None
        entry = json.loads(raw)
        expires_at = entry.get("expires_at")
        if expires_at is not None and expires_at <= now:
            return None
        data: dict[str, Any] = entry["payload"]
        data["_created_at"] = entry["created_at"]
        return data

    async def put(self, key: str, model: str, payload: dict[str, Any], now: float, ttl_s: float | None) -> None:
        expires_at = None if ttl_s is None else now + ttl_s
        entry = {"model": model, "created_at": now, "expires_at": expires_at, "payload": payload}
        text = json.dumps(entry, separators=(",", ":"), default=str)
        px = None if ttl_s is None else int((ttl_s + 60) * 1000)
        await self.client.set(self.prefix + key, text, px=px)

    async def purge_expired(self, now: float) -> int:
        """Redis expires entries itself; nothing to purge."""
        return 0

    async def count(self) -> int:
        n = 0
        async for _ in self.client.scan_iter(match=self.prefix + "*", count=500):
            n += 1
        return n

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
