"""The fake upstream itself, as users will drive it: raw HTTP in, wire formats out."""

from __future__ import annotations

import random
import socket
from typing import Any

import httpx
import pytest

from podium.core.types import Usage
from podium.providers import parse_sse_text
from podium.testing import FakeUpstream, serve

KEY = "fake-key"
OPENAI_HEADERS = {"authorization": f"Bearer {KEY}"}


def test_sync_serve_records_requests_with_secrets_redacted() -> None:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as url, httpx.Client(base_url=url) as http:
        r = http.post("/openai/v1/chat/completions", headers=OPENAI_HEADERS,
                      json={"model": "gpt-x", "messages": [{"role": "user", "content": "hello world"}]})
        missing = http.post("/v1/messages", headers={"x-api-key": KEY}, json={"model": "c", "messages": []})
        nowhere = http.post("/v2/nothing", json={})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "echo: hello world"
    assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"
    assert nowhere.status_code == 404
    rec = upstream.requests[0]
    assert rec.path == "/openai/v1/chat/completions" and rec.headers["authorization"] == "[redacted]"
    assert rec.json["model"] == "gpt-x" and upstream.counts == {"gpt-x": 1}


async def test_wire_specific_error_shapes_and_gemini_query_key() -> None:
    upstream = FakeUpstream(api_key=KEY)
    upstream.fail("*", status=529, times=None)
    async with serve(upstream.app) as url, httpx.AsyncClient(base_url=url) as http:
        a = await http.post("/v1/messages", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
                            json={"model": "c", "max_tokens": 5, "messages": []})
        g = await http.post(f"/v1beta/models/g:generateContent?key={KEY}", json={"contents": []})
        bad = await http.post("/v1beta/models/g:generateContent", headers={"x-goog-api-key": "nope"}, json={})
    assert a.status_code == 529 and a.json() == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert g.status_code == 529 and g.json()["error"]["code"] == 529
    assert bad.status_code == 401 and bad.json()["error"]["status"] == "UNAUTHENTICATED"
    assert upstream.count("g") == 1  # the request refused for its key was not counted


async def test_openai_stream_framing_with_and_without_usage() -> None:
    upstream = FakeUpstream(api_key=None)
    upstream.script("m", text="a b", usage=Usage(5, 2))
    async with serve(upstream.app) as url, httpx.AsyncClient(base_url=url) as http:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
        plain = (await http.post("/v1/chat/completions", json=body)).text
        with_usage = (await http.post("/v1/chat/completions", json={**body, "stream_options": {"include_usage": True}})).text
    assert plain.endswith("data: [DONE]\n\n") and '"usage"' not in plain
    events = parse_sse_text(with_usage)
    assert events[-1].data == "[DONE]" and '"prompt_tokens":5' in events[-2].data


async def test_default_reply_respects_max_tokens() -> None:
    upstream = FakeUpstream(api_key=None)
    async with serve(upstream.app) as url, httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/v1beta/models/g:generateContent",
                            json={"contents": [{"role": "user", "parts": [{"text": "x" * 100}]}],
                                  "generationConfig": {"maxOutputTokens": 2}})
    cand = r.json()["candidates"][0]
    assert cand["finishReason"] == "MAX_TOKENS" and cand["content"]["parts"][0]["text"] == "echo: xx"


def test_error_rate_is_repeatable_with_a_seeded_rng() -> None:
    def run() -> list[int]:
        upstream = FakeUpstream(api_key=None)
        upstream.error_rate("m", 0.5, kinds=[429, 500], rng=random.Random(42))
        with serve(upstream.app) as url, httpx.Client(base_url=url) as http:
            return [http.post("/v1/chat/completions", json={"model": "m", "messages": []}).status_code for _ in range(12)]

    first = run()
    assert first == run() and set(first) == {200, 429, 500}


async def _failing_startup(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "startup refused"})


def _port_is_free(base_url: str) -> bool:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no SO_REUSEADDR: any live bind on the port clashes
    try:
        probe.bind(("127.0.0.1", int(base_url.rsplit(":", 1)[1])))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def test_sync_serve_that_fails_to_start_releases_its_port() -> None:
    served = serve(_failing_startup, lifespan="on")
    with pytest.raises(RuntimeError, match="did not start"):
        served.__enter__()
    assert _port_is_free(served.base_url)


async def test_async_serve_that_fails_to_start_releases_its_port() -> None:
    served = serve(_failing_startup, lifespan="on")
    with pytest.raises(RuntimeError, match="did not start"):
        await served.__aenter__()
    assert _port_is_free(served.base_url)
