"""SSE decoding, HTTP error mapping, key lookup and the provider registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from podium.config.providers import ProviderSettings
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ContentPolicyError,
    ContextWindowExceededError,
    MalformedResponseError,
    MissingAPIKeyError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
    ValidationError,
)
from podium.core.provider import Provider
from podium.providers import (
    AnthropicProvider,
    GeminiProvider,
    OpenAIProvider,
    ProviderRegistry,
    Secret,
    SSEDecoder,
    SSEEvent,
    aiter_sse,
    default_registry,
    error_from_status,
    error_from_transport,
    parse_retry_after,
    parse_sse_text,
    resolve_api_key,
)

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)


# -- SSE ------------------------------------------------------------------------------------------------------------
def test_sse_fields_multiline_data_comments_and_line_endings() -> None:
    text = ": hello\r\nevent: add\r\ndata: a\r\ndata:b\r\nid: 7\r\nretry: 30\r\n\r\ndata: x\rdata: y\r\rdata\n\nevent: lone\n\n"
    assert parse_sse_text(text) == [
        SSEEvent(data="a\nb", event="add", id="7", retry=30),
        SSEEvent(data="x\ny", event="message", id="7"),
        SSEEvent(data="", event="message", id="7"),
    ]


def test_decoder_reports_a_pending_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed_line("data: half") is None and decoder.pending
    assert decoder.feed_line("") == SSEEvent("half") and not decoder.pending


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_aiter_sse_cut_mid_event() -> None:
    got: list[SSEEvent] = []
    with pytest.raises(MalformedResponseError, match="cut in the middle"):
        async for e in aiter_sse(_lines("data: 1", "", "data: 2"), provider="p", model="p:m"):
            got.append(e)
    assert got == [SSEEvent("1")]


# -- HTTP errors ----------------------------------------------------------------------------------------------------
def test_401_says_which_variable_to_check_and_scrubs_the_key() -> None:
    body = '{"error":{"message":"Incorrect API key provided: sk-secret-123"}}'
    err = error_from_status(401, provider="openai", model="openai:x", body=body,
                            headers={"authorization": "Bearer sk-secret-123"}, key_env="OPENAI_API_KEY",
                            secrets=["sk-secret-123"])
    assert isinstance(err, AuthenticationError) and "check OPENAI_API_KEY" in str(err)
    assert "sk-secret-123" not in str(err) + repr(err.fields) + str(err.body) + str(err.headers)
    assert err.status == 401 and err.headers["authorization"] == "[redacted]"


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 01 Jan 2025 12:00:30 GMT"}, 30.0),
        ({"x-ratelimit-reset-requests": "1m6s", "x-ratelimit-reset-tokens": "120ms"}, 66.0),
        ({"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "2s", "x-ratelimit-remaining-tokens": "0",
          "x-ratelimit-remaining-requests": "10"}, 2.0),
        ({"anthropic-ratelimit-requests-reset": "2025-01-01T12:00:05Z"}, 5.0),
        ({}, None),
    ],
)
def test_retry_after_sources(headers: dict[str, str], seconds: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == seconds


def test_429_is_an_upstream_rate_limit_with_retry_after() -> None:
    err = error_from_status(429, provider="anthropic", body='{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}',
                            headers={"retry-after": "3"}, now=NOW)
    assert isinstance(err, RateLimitError) and err.source == "upstream" and err.retry_after == 3.0
    assert "slow down" in str(err) and "retry after 3s" in str(err)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, '{"error":{"message":"This model\'s maximum context length is 8192 tokens","code":"context_length_exceeded"}}', ContextWindowExceededError),
        (400, '{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}', ContextWindowExceededError),
        (400, '{"error":{"message":"flagged by our content_filter","code":"content_filter"}}', ContentPolicyError),
        (400, '{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}', AuthenticationError),
        (422, "unprocessable", BadRequestError),
        (429, '{"error":{"message":"You exceeded your current quota","code":"insufficient_quota"}}', BadRequestError),
        (408, "", UpstreamTimeoutError),
        (500, "", ServerError),
        (503, "", ServerError),
        (529, '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', ServerError),
    ],
)
def test_status_mapping(status: int, body: str, cls: type) -> None:
    err = error_from_status(status, provider="p", model="p:m", body=body)
    assert type(err) is cls and err.status == status and err.provider == "p"


def test_body_is_truncated_to_two_kilobytes() -> None:
    err = error_from_status(500, provider="p", body="x" * 10_000)
    assert len(err.body or "") == 2048


@pytest.mark.parametrize(
    ("exc", "streaming", "cls"),
    [
        (httpx.ReadTimeout("slow"), False, UpstreamTimeoutError),
        (TimeoutError(), True, UpstreamTimeoutError),
        (httpx.ConnectError("refused"), False, UpstreamConnectionError),
        # never sent: a connect or pool timeout is a connection failure, not an upstream that answered slowly
        (httpx.ConnectTimeout("syn lost"), False, UpstreamConnectionError),
        (httpx.PoolTimeout("pool full"), False, UpstreamConnectionError),
        (httpx.RemoteProtocolError("peer closed"), True, MalformedResponseError),
        (httpx.ReadError("reset"), False, UpstreamConnectionError),
    ],
)
def test_transport_mapping(exc: Exception, streaming: bool, cls: type) -> None:
    err = error_from_transport(exc, provider="p", model="p:m", streaming=streaming, timeout=1.5)  # type: ignore[arg-type]
    assert type(err) is cls and err.retryable


# -- keys -----------------------------------------------------------------------------------------------------------
def test_secret_never_shows_its_value() -> None:
    s = Secret("sk-live-abc")
    assert "sk-live-abc" not in repr(s) + str(s) + f"{s}" + repr([s]) and s.reveal() == "sk-live-abc"
    with pytest.raises(TypeError):
        __import__("pickle").dumps(s)


def test_key_from_env_then_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("GROQ_API_KEY=gsk-from-file\nexport OTHER_API_KEY='quoted'\n")
    assert resolve_api_key("groq", "GROQ_API_KEY", env={"GROQ_API_KEY": "gsk-env"}, dotenv_path=dotenv).reveal() == "gsk-env"
    assert resolve_api_key("groq", "GROQ_API_KEY", env={}, dotenv_path=dotenv).reveal() == "gsk-from-file"
    assert resolve_api_key("x", "OTHER_API_KEY", env={}, dotenv_path=dotenv).reveal() == "quoted"


def test_missing_key_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(MissingAPIKeyError, match="GOOGLE_API_KEY") as info:
        resolve_api_key("gemini", "GOOGLE_API_KEY", env={"GOOGLE_API_KEY": "  "}, dotenv_path=tmp_path / "none.env")
    assert info.value.env_var == "GOOGLE_API_KEY" and info.value.provider == "gemini"


def test_default_env_reads_dot_env_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DEEPSEEK_API_KEY=ds-1\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_api_key("deepseek", "DEEPSEEK_API_KEY").reveal() == "ds-1"


# -- registry -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "cls"), [("openai", OpenAIProvider), ("anthropic", AnthropicProvider), ("gemini", GeminiProvider)])
def test_default_registry_builds_the_http_kinds(kind: str, cls: type) -> None:
    provider = default_registry().build(ProviderSettings(name=f"my-{kind}", kind=kind), env={})  # type: ignore[arg-type]
    assert type(provider) is cls and provider.name == f"my-{kind}" and isinstance(provider, Provider)


def test_unknown_kind_lists_valid_kinds_and_plugins_register() -> None:
    registry = ProviderRegistry()
    with pytest.raises(ValidationError, match="use one of") as info:
        registry.build(ProviderSettings(name="x", kind="openai"))
    assert info.value.valid == []

    built: list[str] = []

    def factory(settings: ProviderSettings, **kw: object) -> OpenAIProvider:
        built.append(settings.name)
        return OpenAIProvider(settings, **kw)  # type: ignore[arg-type]

    registry.register("openai", factory)
    registry.build(ProviderSettings(name="local", kind="openai", base_url="http://127.0.0.1:1/v1"), clock=SYSTEM_CLOCK)
    assert built == ["local"] and registry.kinds == ("openai",)
    with pytest.raises(ValidationError, match="already registered"):
        registry.register("openai", factory)


def test_a_lazy_factory_that_cannot_load_is_a_clear_config_error() -> None:
    registry = ProviderRegistry()
    registry.register("replay", "podium.providers.not_a_module:Nope.from_settings")
    with pytest.raises(ConfigError, match="not available"):
        registry.build(ProviderSettings(name="replay", kind="replay"))


def test_every_default_provider_builds() -> None:
    from podium.config.providers import DEFAULT_PROVIDERS

    registry = default_registry()
    for name, settings in DEFAULT_PROVIDERS.items():
        provider = registry.build(settings, env={})
        assert provider.name == name and isinstance(provider, Provider)
