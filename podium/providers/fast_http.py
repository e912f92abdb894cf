"""The upstream client a provider uses for whole (non-streaming) answers when it owns its HTTP client: HTTP/1.1 on
a keep-alive pool of asyncio connections, responses parsed by httptools (llhttp, in C), and its failures translated
to Podium errors here, in one place.

A call is one socket write (request line, headers and body together) and a read parsed in C, with one timer for
its read and total limits. Measured by benchmarks/gateway.py: less CPU per call than aiohttp (~0.3 ms), which in
turn cost less than httpx (~1.4 ms). An injected ``httpx.AsyncClient`` (tests, proxies, custom transports) is always
used as given instead.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import httptools
import orjson

from podium.core.errors import MalformedResponseError, ProviderError, UpstreamConnectionError, UpstreamTimeoutError

_MAX_CONNECTIONS = 100  # open connections per poster, as httpx's default pool
_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


@dataclass(frozen=True, slots=True)
class Reply:
    """An upstream answer read whole: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Limits:
    """What the provider's settings allow each phase of a call (seconds)."""

    connect: float
    read: float
    total: float


class ConnectFailed(OSError):
    """The connection could not be opened (refused, unresolvable, or not within the connect limit)."""


class ReadTimedOut(TimeoutError):
    """No byte of the answer arrived within the read limit."""


class Disconnected(ConnectionError):
    """The server closed the connection, or sent what is not HTTP, before the answer was complete."""

    def __init__(self, message: str, *, received: bool) -> None:
        super().__init__(message)
        self.received = received  # any byte of the answer arrived (a stale keep-alive connection has none)


@dataclass(frozen=True, slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    path: str
    host_header: str


@lru_cache(maxsize=512)
def _origin(url: str) -> _Origin:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    default = (tls and port == 443) or (not tls and port == 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Origin(host, port, tls, path, parts.netloc if not default else host)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: sends a request, parses its answer with httptools, and says if it can be reused."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin) -> None:
        self.loop, self.origin = loop, origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._reply: asyncio.Future[Reply] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._received = False
        self._headers_done = False
        self._last_data = 0.0

    # -- asyncio.Protocol ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._received = True
        self._last_data = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Disconnected(f"not an HTTP answer ({exc})", received=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._reply is None or self._reply.done():
            return
        delimited = "content-length" in self._headers or "chunked" in self._headers.get("transfer-encoding", "")
        if self._parser.get_status_code() and not delimited and self._headers_done:
            self.on_message_complete()  # an answer without a length ends when the connection does
            return
        self._fail(Disconnected("the server closed the connection before the answer was complete",
                                received=self._received))

    # -- httptools callbacks ------------------------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._reply is None or self._reply.done():
            return
        content = b"".join(self._body)
        if (bits := _DECODERS.get(self._headers.get("content-encoding", ""))) is not None:
            try:
                content = zlib.decompress(content, bits)
            except zlib.error as exc:
                self._fail(Disconnected(f"its {self._headers['content-encoding']} body does not decode ({exc})",
                                        received=True))
                return
        keep = not self.closed and self._parser.should_keep_alive()
        self._reply.set_result(Reply(self._parser.get_status_code(), self._headers, content))
        if not keep:
            self.close()

    # -- one exchange -------------------------------------------------------------------------------------------

    def send(self, request: bytes) -> asyncio.Future[Reply]:
        self._reply = self.loop.create_future()
        self._headers, self._body, self._received, self._headers_done = {}, [], False, False
        self._last_data = self.loop.time()
        assert self.transport is not None
        self.transport.write(request)
        return self._reply

    def idle_for(self, now: float) -> float:
        return now - self._last_data

    def _fail(self, exc: BaseException) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(exc)
        self.close()

    def time_out(self, exc: BaseException) -> None:
        self._fail(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class KeepAlivePoster:
    """POSTs JSON bodies over a pool of keep-alive connections, made in the running loop on first use (a
    connection is bound to its loop: a later loop gets fresh ones)."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None
        self._tls: ssl.SSLContext | None = None

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, provider: str, model: str | None
    ) -> Reply:
        """Send and read the whole answer; transport failures raise the Podium error that names the limit hit."""
        origin = _origin(url)
        request = _request_bytes(origin, body, headers)
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._idle, self._loop, self._slots = {}, loop, asyncio.Semaphore(_MAX_CONNECTIONS)
        assert self._slots is not None
        deadline = loop.time() + self._limits.total
        try:
            if self._slots.locked():  # all connections busy: waiting for one counts against the total limit
                async with asyncio.timeout_at(deadline):
                    await self._slots.acquire()
            else:
                await self._slots.acquire()
            try:
                conn = self._pooled(origin)
                if conn is not None:
                    try:
                        return await self._exchange(conn, request, deadline)
                    except Disconnected as exc:
                        if exc.received:  # a stale keep-alive connection answers nothing: only then try anew
                            raise
                return await self._exchange(await self._connect(origin, deadline), request, deadline)
            finally:
                self._slots.release()
        except (OSError, TimeoutError) as exc:
            raise transport_error(exc, self._limits, provider=provider, model=model) from exc

    def _pooled(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _connect(self, origin: _Origin, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.tls else None
        try:
            async with asyncio.timeout(min(self._limits.connect, deadline - loop.time())):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, origin), origin.host, origin.port, ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailed(type(exc).__name__) from exc
        return conn

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    async def _exchange(self, conn: _Connection, request: bytes, deadline: float) -> Reply:
        """One request on ``conn``; one timer watches the read limit (time since the last byte) and the total."""
        loop = conn.loop
        read = self._limits.read
        reply = conn.send(request)

        def check() -> None:
            nonlocal timer
            now = loop.time()
            if now >= deadline:
                conn.time_out(TimeoutError("total"))
            elif conn.idle_for(now) >= read:
                conn.time_out(ReadTimedOut("read"))
            else:
                timer = loop.call_at(min(deadline, now - conn.idle_for(now) + read), check)

        timer = loop.call_at(min(deadline, loop.time() + read), check)
        try:
            answer = await reply
        finally:
            timer.cancel()
            if not reply.done() or reply.cancelled():
                conn.close()  # the caller left mid-answer: the rest of it must not be read as the next one's
        if not conn.closed:
            self._idle.setdefault(conn.origin, []).append(conn)
        return answer

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


AiohttpPoster = KeepAlivePoster  # the name http_base.py imports


def _request_bytes(origin: _Origin, body: bytes, headers: Mapping[str, str]) -> bytes:
    lines = [f"POST {origin.path} HTTP/1.1", f"host: {origin.host_header}", f"content-length: {len(body)}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"header {name!r} has a line break in its name or value")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body


def encode_json(body: object) -> bytes:
    """Compact UTF-8 JSON, as httpx's ``json=`` sends it; orjson when it can encode the value."""
    try:
        return orjson.dumps(body)
    except TypeError:  # a value orjson does not take (e.g. an int over 64 bits): the standard encoder does
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def transport_error(
    exc: BaseException, limits: Limits, *, provider: str, model: str | None
) -> ProviderError:
    """The Podium error for a failed exchange (or the total limit); same classes and wording as httpx's mapping."""
    where = f"{provider}" + (f" ({model})" if model else "")
    if isinstance(exc, ConnectFailed):  # checked before timeouts: the request was never sent
        return UpstreamConnectionError(
            f"could not connect to {where}: {exc}; check base_url and that the server is running",
            provider=provider, model=model,
        )  # fmt: skip
    if isinstance(exc, TimeoutError):
        limit = limits.read if isinstance(exc, ReadTimedOut) else limits.total
        return UpstreamTimeoutError(
            f"{where} did not answer in time after {limit:g}s; retry, or raise the provider's timeout settings",
            provider=provider, model=model,
        )  # fmt: skip
    if isinstance(exc, (Disconnected, zlib.error)):
        return MalformedResponseError(
            f"{where} sent a response that could not be read: {exc}", provider=provider, model=model
        )
    return UpstreamConnectionError(
        f"the connection to {where} failed: {type(exc).__name__}; retry, or check the network and base_url",
        provider=provider, model=model,
    )  # fmt: skip
