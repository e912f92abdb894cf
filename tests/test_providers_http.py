"""The three HTTP adapters against the fake upstream over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

import pytest

from podium.config.providers import ProviderSettings
from podium.core.errors import (
    AuthenticationError,
    ContextWindowExceededError,
    MalformedResponseError,
    MissingAPIKeyError,
    ProviderError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
)
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Usage
from podium.providers import AnthropicProvider, GeminiProvider, HTTPProvider, OpenAIProvider, collect_stream
from podium.testing import FakeUpstream, serve

KEY = "sk-test-9f8e7d6c5b4a"


@dataclass(frozen=True)
class Wire:
    kind: str
    cls: type[HTTPProvider]
    suffix: str
    env_var: str


WIRES = [
    Wire("openai", OpenAIProvider, "/v1", "OPENAI_API_KEY"),
    Wire("anthropic", AnthropicProvider, "", "ANTHROPIC_API_KEY"),
    Wire("gemini", GeminiProvider, "", "GOOGLE_API_KEY"),
]


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def now(self):  # type: ignore[no-untyped-def]
        from datetime import datetime

        return datetime(2025, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        self.t += 0.25  # every reading advances a quarter second, so latency is exact
        return self.t

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - adapters never sleep
        raise AssertionError("adapters must not sleep")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as base_url:
        yield upstream, base_url


@pytest.fixture
def upstream(server: tuple[FakeUpstream, str]) -> FakeUpstream:
    server[0].reset()
    return server[0]


@pytest.fixture(params=WIRES, ids=[w.kind for w in WIRES])
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param


def make(wire: Wire, base_url: str, *, key: str | None = KEY, **timeouts: float) -> HTTPProvider:
    settings = ProviderSettings(
        name=f"my-{wire.kind}", kind=wire.kind, base_url=base_url + wire.suffix, api_key_env=wire.env_var, **timeouts  # type: ignore[arg-type]
    )
    return wire.cls(settings, env={wire.env_var: key} if key else {}, clock=FakeClock())


def spec(wire: Wire, name: str = "m1") -> ModelSpec:
    return ModelSpec(id=f"{wire.kind}:{name}", provider=wire.kind, api_model=name)


REQ = ChatRequest.from_prompt("Say hello", system="You are terse")


async def test_complete_reads_text_usage_and_sets_podium_ids(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.script("m1", text="Hello!", usage=Usage(input_tokens=20, output_tokens=6, cached_input_tokens=8))
    async with make(wire, server[1]) as provider:
        c = await provider.complete(REQ, spec(wire))
    assert (c.text, c.model, c.provider, c.finish_reason) == ("Hello!", f"{wire.kind}:m1", f"my-{wire.kind}", "stop")
    assert c.usage == Usage(input_tokens=20, output_tokens=6, cached_input_tokens=8)
    assert c.latency_ms == 250.0 and c.cost_usd is None and c.request_id
    sent = upstream.last
    assert sent.provider == wire.kind and sent.model == "m1" and not sent.stream
    assert KEY not in str(sent.headers)


async def test_stream_assembles_text_and_reads_usage(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.script("m1", text="one two three four", usage=Usage(input_tokens=9, output_tokens=4, reasoning_tokens=0))
    async with make(wire, server[1]) as provider:
        chunks = [c async for c in provider.stream(REQ, spec(wire))]
    assert [c.delta for c in chunks[:-1]] == ["one ", "two ", "three ", "four"]
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage == Usage(9, 4)
    assert upstream.last.stream


async def test_stream_tool_calls_are_assembled(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.script("m1", tool_calls=[{"id": "c9", "name": "weather", "arguments": {"city": "Oslo"}}])
    async with make(wire, server[1]) as provider:
        streamed = await collect_stream(provider.stream(REQ, spec(wire)), model="x", provider="y")
        plain = await provider.complete(REQ, spec(wire))
    for c in (streamed, plain):
        assert c.finish_reason == "tool_calls"
        (call,) = c.tool_calls or ()
        assert call["function"]["name"] == "weather" and call["function"]["arguments"].replace(" ", "") == '{"city":"Oslo"}'


async def test_consumer_may_stop_a_stream_early(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.script("m1", text="one two three")
    async with make(wire, server[1]) as provider:
        stream = provider.stream(REQ, spec(wire))
        first = await anext(stream)  # type: ignore[call-overload]
        await stream.aclose()  # type: ignore[attr-defined]
        again = await provider.complete(REQ, spec(wire))
    assert first.delta == "one " and again.text == "one two three"


async def test_default_reply_echoes_and_counts_tokens(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    async with make(wire, server[1]) as provider:
        c = await provider.complete(ChatRequest.from_prompt("ping pong"), spec(wire))
    assert c.text == "echo: ping pong" and c.usage == Usage(input_tokens=3, output_tokens=4)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_wrong_key_is_authentication_error_without_the_key(wire: Wire, upstream: FakeUpstream, server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    wrong = "sk-wrong-1234567890"
    async with make(wire, server[1], key=wrong) as provider:
        with pytest.raises(AuthenticationError) as info:
            await _call(provider, wire, stream)
    err = info.value
    assert err.status == 401 and f"check {wire.env_var}" in str(err)
    assert wrong not in str(err) + repr(err) + repr(err.fields) + str(err.headers) + str(err.__cause__)
    assert wrong not in repr(provider)


async def test_missing_key_names_the_variable(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    async with make(wire, server[1], key=None) as provider:
        with pytest.raises(MissingAPIKeyError, match=wire.env_var):
            await provider.complete(REQ, spec(wire))
    assert upstream.count() == 0


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_429_with_retry_after(wire: Wire, upstream: FakeUpstream, server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    upstream.fail("m1", status=429, retry_after=2, times=1)
    async with make(wire, server[1]) as provider:
        with pytest.raises(RateLimitError) as info:
            await _call(provider, wire, stream)
        assert info.value.retry_after == 2.0 and info.value.source == "upstream" and info.value.status == 429
        assert (await _call(provider, wire, stream)) == "echo: Say hello"  # the fault was used up
    assert upstream.count("m1") == 2


@pytest.mark.parametrize("status", [500, 503, 529])
async def test_server_errors(wire: Wire, upstream: FakeUpstream, server, status: int) -> None:  # type: ignore[no-untyped-def]
    upstream.fail("m1", status=status)
    async with make(wire, server[1]) as provider:
        with pytest.raises(ServerError) as info:
            await provider.complete(REQ, spec(wire))
    assert info.value.status == status and info.value.retryable and info.value.body


async def test_context_window_error(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.fail("m1", status=400, message="prompt is too long: 300000 tokens > 200000 maximum")
    async with make(wire, server[1]) as provider:
        with pytest.raises(ContextWindowExceededError, match="larger context window"):
            await provider.complete(REQ, spec(wire))


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_malformed_json(wire: Wire, upstream: FakeUpstream, server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    upstream.malformed("m1")
    async with make(wire, server[1]) as provider:
        with pytest.raises(MalformedResponseError, match="not valid JSON"):
            await _call(provider, wire, stream)


async def test_stream_cut_midway(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.cut_stream("m1", after_chunks=4)
    got: list[str] = []
    async with make(wire, server[1]) as provider:
        with pytest.raises(MalformedResponseError, match="stream ended before"):
            async for chunk in provider.stream(REQ, spec(wire)):
                got.append(chunk.delta)
    assert got and all(got)  # some text arrived before the cut, and no final chunk was made up


async def test_truncated_plain_response_is_malformed(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.cut_stream("m1")
    async with make(wire, server[1]) as provider:
        with pytest.raises(MalformedResponseError) as info:
            await provider.complete(REQ, spec(wire))
    assert info.value.retryable and info.value.body


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_slow_response_times_out(wire: Wire, upstream: FakeUpstream, server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    upstream.delay("m1", 0.5, times=1)
    async with make(wire, server[1], read_timeout=0.1) as provider:
        with pytest.raises(UpstreamTimeoutError, match="0.1s"):
            await _call(provider, wire, stream)


async def test_stream_idle_timeout_between_chunks(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.script("m1", text="a b c d")
    upstream.delay("m1", 0.3, between_chunks=True, times=1)
    async with make(wire, server[1], stream_idle_timeout=0.1) as provider:
        with pytest.raises(UpstreamTimeoutError, match="0.1s"):
            await collect_stream(provider.stream(REQ, spec(wire)), model="x", provider="y")


async def test_total_timeout(wire: Wire, upstream: FakeUpstream, server) -> None:  # type: ignore[no-untyped-def]
    upstream.stall("m1")
    async with make(wire, server[1], total_timeout=0.15) as provider:
        with pytest.raises(UpstreamTimeoutError, match="0.15s"):
            await provider.complete(REQ, spec(wire))


async def test_connection_refused(wire: Wire) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with make(wire, f"http://127.0.0.1:{port}") as provider:
        with pytest.raises(UpstreamConnectionError, match="base_url"):
            await provider.complete(REQ, spec(wire))


async def _call(provider: HTTPProvider, wire: Wire, stream: bool) -> str:
    if stream:
        return (await collect_stream(provider.stream(REQ, spec(wire)), model="x", provider="y")).text
    return (await provider.complete(REQ, spec(wire))).text


def test_every_error_here_is_a_provider_error() -> None:
    for cls in (AuthenticationError, RateLimitError, ServerError, MalformedResponseError, UpstreamTimeoutError):
        assert issubclass(cls, ProviderError)
