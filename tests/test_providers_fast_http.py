"""The upstream client for whole answers (providers/fast_http.py, aiohttp) against a raw HTTP/1.1 server on
loopback, for what the fake upstream (uvicorn) never sends: TLS, chunked and gzip bodies, bodies ended by the
connection closing, and a keep-alive connection the server drops between calls."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import MalformedResponseError, UpstreamConnectionError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest
from podium.providers import OpenAIProvider

KEY = "sk-test-0123456789"
MODEL = ModelSpec(id="openai:m1", provider="openai", api_model="m1")
ANSWER = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi there"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
}).encode()  # fmt: skip
Reply = Callable[[int, int], bytes]  # (connection number, request number on it) -> raw response, or b"" to hang up


class RawServer:
    """Answers each request with ``reply(connection, request)``; counts connections and requests."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn, n = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))  # fmt: skip
                await reader.readexactly(length)
                self.requests += 1
                n += 1
                raw = self.reply(conn, n)
                if not raw:
                    break
                writer.write(raw)
                await writer.drain()
                sized = b"content-length" in raw.lower() or b"chunked" in raw
                if b"connection: close" in raw.lower() or not sized:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def _served(reply: Reply, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[RawServer, str]]:
    raw = RawServer(reply)
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield raw, f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
    finally:
        server.close()
        await server.wait_closed()


def _provider(base_url: str) -> OpenAIProvider:
    settings = ProviderSettings(name="openai", kind="openai", base_url=base_url + "/v1", api_key_env="OPENAI_API_KEY")
    return OpenAIProvider(settings, env={"OPENAI_API_KEY": KEY})


def _response(body: bytes, *headers: str) -> bytes:
    lines = ["HTTP/1.1 200 OK", "content-type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _sized(body: bytes = ANSWER, *headers: str) -> bytes:
    return _response(body, f"content-length: {len(body)}", *headers)


REQ = ChatRequest.from_prompt("Say hi")


async def _ask_twice(reply: Reply) -> RawServer:
    async with _served(reply) as (server, url), _provider(url) as provider:
        for _ in range(2):
            assert (await provider.complete(REQ, MODEL)).text == "hi there"
    return server


async def test_keep_alive_reuses_one_connection() -> None:
    server = await _ask_twice(lambda conn, n: _sized())
    assert (server.connections, server.requests) == (1, 2)


async def test_chunked_body_is_read_whole() -> None:
    half = len(ANSWER) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (ANSWER[:half], ANSWER[half:])) + b"0\r\n\r\n"
    server = await _ask_twice(lambda conn, n: _response(chunks, "transfer-encoding: chunked"))
    assert (server.connections, server.requests) == (1, 2)


async def test_gzip_body_is_decoded() -> None:
    await _ask_twice(lambda conn, n: _sized(gzip.compress(ANSWER), "content-encoding: gzip"))


async def test_body_ended_by_the_connection_closing() -> None:
    server = await _ask_twice(lambda conn, n: _response(ANSWER))  # no length: the body ends where the connection does
    assert (server.connections, server.requests) == (2, 2)


async def test_a_dropped_keep_alive_connection_is_replaced_once_without_an_error() -> None:
    # The server hangs up on the second request of each connection without answering, as a server does when its
    # idle timeout and the request cross: the request is sent again on a new connection.
    server = await _ask_twice(lambda conn, n: _sized() if n == 1 else b"")
    assert (server.connections, server.requests) == (2, 3)


async def test_an_interim_100_continue_is_skipped() -> None:
    server = await _ask_twice(lambda conn, n: b"HTTP/1.1 100 Continue\r\n\r\n" + _sized())
    assert (server.connections, server.requests) == (1, 2)


async def test_a_connection_that_closes_mid_body_is_malformed() -> None:
    cut = _response(ANSWER[:20], f"content-length: {len(ANSWER)}", "connection: close")
    async with _served(lambda conn, n: cut) as (server, url), _provider(url) as provider:
        with pytest.raises(MalformedResponseError, match="closed the connection"):
            await provider.complete(REQ, MODEL)
    assert server.requests == 1  # an answer that had begun is never sent again


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for a self-signed ``localhost`` certificate that the client's default context trusts."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # ssl.create_default_context() reads it
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_https_verifies_the_certificate_and_reuses_the_connection(tls: ssl.SSLContext) -> None:
    async with _served(lambda conn, n: _sized(), tls) as (server, url), _provider(url) as provider:
        for _ in range(2):
            assert (await provider.complete(REQ, MODEL)).text == "hi there"
    assert (server.connections, server.requests) == (1, 2)


async def test_https_refuses_a_certificate_it_does_not_trust(
    tls: ssl.SSLContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")
    async with _served(lambda conn, n: _sized(), tls) as (server, url), _provider(url) as provider:
        with pytest.raises(UpstreamConnectionError, match="could not connect"):
            await provider.complete(REQ, MODEL)
    assert server.requests == 0

