"""Run an ASGI app with uvicorn on 127.0.0.1 in a background thread, for tests and local demos.

    with serve(app) as base_url: ...          # sync tests
    async with serve(app) as base_url: ...    # async tests (startup and shutdown do not block the loop)
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

_POLL = 0.005
_ABANDON_TIMEOUT = 5.0  # how long a server that failed to start gets to stop before its socket is closed


class ServedApp:
    """A running server; use as a (sync or async) context manager that yields the base URL."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
        lifespan: str = "off",
    ) -> None:
        # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (else ~40 ms per request).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((host, port))  # binding here gives the free port before the server starts
            config = uvicorn.Config(
                app, log_config=None, log_level="warning", access_log=False, lifespan=lifespan, ws="none",
                http="h11", loop="asyncio", timeout_graceful_shutdown=2,
            )
        except BaseException:
            self._sock.close()
            raise
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._startup_timeout = startup_timeout
        bound_host, bound_port = self._sock.getsockname()[:2]
        self.base_url = f"http://{bound_host}:{bound_port}"

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except SystemExit:  # uvicorn exits when startup fails; the waiting side reports it, not this thread
            pass

    def _start(self) -> None:
        self._thread.start()

    def _check_started(self, deadline: float) -> bool:
        if self._server.started:
            return True
        if not self._thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server at {self.base_url} did not start")
        return False

    def _stop(self) -> None:
        self._server.should_exit = True

    def _closed(self) -> None:
        self._sock.close()

    def _shutdown(self, timeout: float | None = None) -> None:
        self._stop()
        self._thread.join(timeout)
        self._closed()

    async def _ashutdown(self, timeout: float | None = None) -> None:
        self._stop()
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._thread.is_alive() and (deadline is None or time.monotonic() < deadline):
            await asyncio.sleep(_POLL)
        self._closed()

    def __enter__(self) -> str:
        self._start()
        deadline = time.monotonic() + self._startup_timeout
        try:
            while not self._check_started(deadline):
                time.sleep(_POLL)
        except BaseException:  # failed, timed out or interrupted: stop the thread and release the port
            self._shutdown(_ABANDON_TIMEOUT)
            raise
        return self.base_url

    def __exit__(self, *exc: object) -> None:
        self._shutdown()

    async def __aenter__(self) -> str:
        self._start()
        deadline = time.monotonic() + self._startup_timeout
        try:
            while not self._check_started(deadline):
                await asyncio.sleep(_POLL)
        except BaseException:  # failed, timed out or cancelled: stop the thread and release the port
            await self._ashutdown(_ABANDON_TIMEOUT)
            raise
        return self.base_url

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._ashutdown()


def serve(app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, lifespan: str = "off") -> ServedApp:
    """Serve ``app`` on ``host`` (loopback by default) at a free port; the context manager yields the base URL.

    ``lifespan="on"`` runs the app's startup/shutdown in the server thread's own event loop.
    """
    return ServedApp(app, host=host, port=port, lifespan=lifespan)
