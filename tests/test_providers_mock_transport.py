"""Adapters over httpx.MockTransport: exact URLs and headers sent, injected clients, real-provider error shapes."""

from __future__ import annotations

import json

import httpx
import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import AuthenticationError, MalformedResponseError, RateLimitError, UpstreamConnectionError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest
from podium.providers import AnthropicProvider, GeminiProvider, OpenAIProvider, default_registry

REQ = ChatRequest.from_prompt("hi")


def client(handler, seen: list[httpx.Request]) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(record))


async def test_openai_url_headers_and_injected_client_stays_open() -> None:
    seen: list[httpx.Request] = []
    body = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    http = client(lambda r: httpx.Response(200, json=body, headers={"x-request-id": "req-7"}), seen)
    settings = ProviderSettings(name="groq", kind="openai", base_url="https://api.groq.com/openai/v1/",
                                api_key_env="GROQ_API_KEY", headers={"x-team": "blue"})
    provider = default_registry().build(settings, http_client=http, env={"GROQ_API_KEY": "gsk-1"})
    c = await provider.complete(REQ, ModelSpec(id="groq:llama", provider="groq", api_model="llama-3.3"))
    await provider.aclose()
    assert c.text == "ok" and c.request_id == "req-7" and c.provider == "groq"
    (sent,) = seen
    assert str(sent.url) == "https://api.groq.com/openai/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer gsk-1" and sent.headers["x-team"] == "blue"
    assert json.loads(sent.content)["model"] == "llama-3.3"
    assert not http.is_closed  # the caller owns an injected client
    await http.aclose()


async def test_local_server_needs_no_key() -> None:
    seen: list[httpx.Request] = []
    body = {"choices": [{"message": {"content": "local"}, "finish_reason": "stop"}]}
    http = client(lambda r: httpx.Response(200, json=body), seen)
    provider = OpenAIProvider(ProviderSettings(name="ollama", base_url="http://localhost:11434/v1", local=True), http_client=http, env={})
    c = await provider.complete(REQ, ModelSpec(id="ollama:llama3", provider="ollama", api_model="llama3"))
    assert c.text == "local" and "authorization" not in seen[0].headers
    await http.aclose()


async def test_anthropic_and_gemini_urls_and_auth_headers() -> None:
    seen: list[httpx.Request] = []
    http = client(lambda r: httpx.Response(200, json={"content": [], "candidates": [{"content": {"parts": []}}]}), seen)
    anthropic = AnthropicProvider(ProviderSettings(name="anthropic", kind="anthropic", base_url="https://api.anthropic.com/v1",
                                                   api_key_env="ANTHROPIC_API_KEY"), http_client=http, env={"ANTHROPIC_API_KEY": "ak"})
    gemini = GeminiProvider(ProviderSettings(name="gemini", kind="gemini", api_key_env="GOOGLE_API_KEY"),
                            http_client=http, env={"GOOGLE_API_KEY": "gk"})
    await anthropic.complete(REQ, ModelSpec(id="anthropic:h", provider="anthropic", api_model="claude-haiku-4-5"))
    await gemini.complete(REQ, ModelSpec(id="gemini:f", provider="gemini", api_model="gemini-2.5-flash"))
    a, g = seen
    assert str(a.url) == "https://api.anthropic.com/v1/messages"
    assert a.headers["x-api-key"] == "ak" and a.headers["anthropic-version"] == "2023-06-01"
    assert str(g.url) == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    assert g.headers["x-goog-api-key"] == "gk" and "key=" not in str(g.url)
    await http.aclose()


async def test_real_gemini_bad_key_shape_is_authentication_error() -> None:
    bad = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
                     "details": [{"reason": "API_KEY_INVALID"}]}}
    http = client(lambda r: httpx.Response(400, json=bad), [])
    gemini = GeminiProvider(ProviderSettings(name="gemini", kind="gemini", api_key_env="GOOGLE_API_KEY"), http_client=http,
                            env={"GOOGLE_API_KEY": "AIza-bad"})
    with pytest.raises(AuthenticationError, match="GOOGLE_API_KEY"):
        await gemini.complete(REQ, ModelSpec(id="gemini:f", provider="gemini", api_model="f"))
    await http.aclose()


async def test_openai_rate_limit_headers_and_transport_errors() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down.example":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(429, json={"error": {"message": "Rate limit reached"}},
                              headers={"x-ratelimit-reset-requests": "1.5s", "x-ratelimit-remaining-requests": "0"})

    http = client(handler, [])
    spec = ModelSpec(id="openai:m", provider="openai", api_model="m")
    ok = OpenAIProvider(ProviderSettings(name="openai", api_key_env="OPENAI_API_KEY"), http_client=http, env={"OPENAI_API_KEY": "k"})
    with pytest.raises(RateLimitError) as info:
        await ok.complete(REQ, spec)
    assert info.value.retry_after == 1.5 and isinstance(info.value.__cause__, httpx.HTTPStatusError)
    down = OpenAIProvider(ProviderSettings(name="openai", base_url="https://down.example/v1"), http_client=http, env={})
    with pytest.raises(UpstreamConnectionError) as conn:
        await down.complete(REQ, spec)
    assert isinstance(conn.value.__cause__, httpx.ConnectError)
    await http.aclose()


async def test_a_json_array_body_is_malformed() -> None:
    http = client(lambda r: httpx.Response(200, json=[1, 2]), [])
    provider = OpenAIProvider(ProviderSettings(name="openai"), http_client=http, env={})
    with pytest.raises(MalformedResponseError, match="not a JSON object"):
        await provider.complete(REQ, ModelSpec(id="openai:m", provider="openai", api_model="m"))
    await http.aclose()
