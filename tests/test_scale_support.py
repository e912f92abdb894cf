"""Shared pieces of the scale-out tests: gateway replicas as real `podium serve` processes, a gated upstream.

The upstream is the package's FakeUpstream behind a gate the test opens and closes, so a test can hold calls
in flight at the provider (their reservations committed) and kill a replica exactly then.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from podium.server.keys import sha256_hex

UPSTREAM_KEY = "sk-upstream-0123456789"
REDIS_URL = "redis://127.0.0.1:6379/0"
MODEL, WIRE_MODEL = "openai:gpt-4o-mini", "gpt-4o-mini"
ASK = [{"role": "user", "content": "What is the capital of France?"}]


def client_key(key_id: str) -> str:
    return f"sk-podium-{key_id}-0123456789"


def key_entry(key_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": key_id, "key_sha256": sha256_hex(client_key(key_id)), **extra}


class Gate:
    """ASGI middleware in front of the fake upstream: counts arrivals and, while closed, holds calls."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.arrivals = 0
        self._cond = threading.Condition()
        self._closed = False
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            event: asyncio.Event | None = None
            with self._cond:
                self.arrivals += 1
                self._cond.notify_all()
                if self._closed:
                    event = asyncio.Event()
                    self._waiters.append((asyncio.get_running_loop(), event))
            if event is not None:
                await event.wait()
        await self.app(scope, receive, send)

    def close(self) -> None:
        with self._cond:
            self._closed = True

    def open(self) -> None:
        with self._cond:
            self._closed = False
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def wait_arrivals(self, n: int, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.arrivals >= n, timeout):
                raise AssertionError(f"only {self.arrivals} of {n} calls reached the upstream")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """One `podium serve` process on a free port; ``kill()`` is SIGKILL (no shutdown, no flush)."""

    def __init__(
        self, workdir: Path, config: dict[str, Any], *, workers: int = 1, name: str = "gw",
        extra_env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PODIUM_", "OPENAI_", "ANTHROPIC_", "GEMINI_"))
        }
        env.update(OPENAI_API_KEY=UPSTREAM_KEY, HOME=str(workdir), PODIUM_HOME=str(workdir / ".podium"))
        env.update(extra_env or {})
        cmd = [sys.executable, "-m", "podium.cli.main", "serve", "--config", str(self.config_path),
               "--port", str(self.port)]  # fmt: skip
        if workers > 1:
            cmd += ["--workers", str(workers)]
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)

    def wait_ready(self, timeout: float = 60.0) -> Replica:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"replica exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            threading.Event().wait(0.05)  # waiting on another process to boot; nothing to inject a clock into
        self.stop()
        raise AssertionError(f"replica not ready in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


def start_replicas(workdir: Path, configs: list[dict[str, Any]], **kw: Any) -> list[Replica]:
    replicas = [Replica(workdir, c, name=f"gw{i}", **kw) for i, c in enumerate(configs)]
    try:
        return [r.wait_ready() for r in replicas]
    except BaseException:
        for r in replicas:
            r.stop()
        raise


def gateway_config(upstream_url: str, *, ledger_url: str | None, keys: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "providers": {"openai": {"base_url": upstream_url + "/v1"}},
        "orchestration": {"enabled": False},
        "resilience": {"fallback": {"enabled": False}, "retry": {"max_attempts": 1},
                       "limiter_backend": "redis", "redis_url": REDIS_URL},
        "ledger": {"enabled": ledger_url is not None} | ({"url": ledger_url} if ledger_url else {}),
        "server": {"keys": keys},
    }  # fmt: skip
    for section, values in extra.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def post(base_url: str, key_id: str, *, timeout: float = 60.0, **body: Any) -> httpx.Response:
    payload = {"model": MODEL, "messages": ASK, **body}
    return httpx.post(base_url + "/v1/chat/completions", json=payload, timeout=timeout,
                      headers={"authorization": f"Bearer {client_key(key_id)}"})  # fmt: skip


def wait_until(check: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll another process's state (a replica's background work) until ``check()`` is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        threading.Event().wait(0.1)


@pytest.fixture
def redis_ok() -> None:
    try:
        import redis
    except ImportError:
        pytest.skip("the redis package is not installed")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis at 127.0.0.1:6379 is unreachable: {exc}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def pg_engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
