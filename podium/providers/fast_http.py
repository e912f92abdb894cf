"""The upstream client a provider uses for whole (non-streaming) answers when it owns its HTTP client: aiohttp on
one keep-alive pool, and its exceptions translated to Podium errors here, in one place.

Measured by benchmarks/gateway.py's client loop on this kind of box: ~0.3 ms CPU per call, against ~1.4 ms for
httpx. An injected ``httpx.AsyncClient`` (tests, proxies, custom transports) is always used as given instead.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import orjson

from podium.core.errors import MalformedResponseError, ProviderError, UpstreamConnectionError, UpstreamTimeoutError


@dataclass(frozen=True, slots=True)
class Reply:
    """An upstream answer read whole: status, headers (case-insensitive ``get``) and body."""

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


class AiohttpPoster:
    """POSTs JSON bodies over one aiohttp session, created on first use in the running loop (a session is bound to
    its loop: a later loop gets a fresh one)."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._timeout = aiohttp.ClientTimeout(total=None, connect=limits.connect, sock_read=limits.read)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            # No cookie jar (upstream APIs set none worth keeping); 100 connections, as httpx's default pool.
            # The default verify context built now, so SSL_CERT_FILE / SSL_CERT_DIR count as they do for httpx.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=100, ttl_dns_cache=300, ssl=ssl.create_default_context()),
            )
            self._loop = loop
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, provider: str, model: str | None
    ) -> Reply:
        """Send and read the whole answer; transport failures raise the Podium error that names the limit hit.

        A pooled keep-alive connection the server closed while idle fails before any answer byte arrives
        (``ServerDisconnectedError`` before the status line): the request is sent once more on a new connection.
        An answer that had begun is never sent again."""
        try:
            async with asyncio.timeout(self._limits.total):
                try:
                    response = await self._current().post(url, data=body, headers=headers)
                except aiohttp.ServerDisconnectedError:  # no status line yet: nothing of an answer had begun
                    response = await self._current().post(url, data=body, headers=headers)
                async with response:
                    return Reply(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise transport_error(exc, self._limits, provider=provider, model=model) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()


def encode_json(body: object) -> bytes:
    """Compact UTF-8 JSON, as httpx's ``json=`` sends it; orjson when it can encode the value."""
    try:
        return orjson.dumps(body)
    except TypeError:  # a value orjson does not take (e.g. an int over 64 bits): the standard encoder does
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def transport_error(
    exc: BaseException, limits: Limits, *, provider: str, model: str | None
) -> ProviderError:
    """The Podium error for an aiohttp (or total-timeout) failure; same classes and wording as httpx's mapping."""
    where = f"{provider}" + (f" ({model})" if model else "")
    # Checked before timeouts: a connect timeout is a timeout too, but the request was never sent.
    if isinstance(exc, (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError)):
        return UpstreamConnectionError(
            f"could not connect to {where}: {type(exc).__name__}; check base_url and that the server is running", provider=provider, model=model
        )
    if isinstance(exc, TimeoutError):
        limit = limits.read if isinstance(exc, aiohttp.SocketTimeoutError) else limits.total
        return UpstreamTimeoutError(
            f"{where} did not answer in time after {limit:g}s; retry, or raise the provider's timeout settings", provider=provider, model=model
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return MalformedResponseError(
            f"{where} closed the connection before the whole answer arrived ({type(exc).__name__})",
            provider=provider, model=model,
        )
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientResponseError)):
        return MalformedResponseError(f"{where} sent a response that could not be read: {type(exc).__name__}", provider=provider, model=model)
    return UpstreamConnectionError(
        f"the connection to {where} failed: {type(exc).__name__}; retry, or check the network and base_url", provider=provider, model=model
    )
