"""What the three HTTP adapters share: key lookup, timeouts, error mapping, SSE streaming, latency.

A subclass names its wire module and stream parser, and says how to build the URL and the auth headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import httpx

from podium.config.providers import ProviderSettings
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, Completion, StreamChunk
from podium.providers.http_errors import error_from_status, error_from_transport, json_object
from podium.providers.keys import Secret, resolve_api_key
from podium.providers.sse import SSEEvent, aiter_sse

if TYPE_CHECKING:
    from podium.providers.fast_http import AiohttpPoster, Reply


class WireStreamParser(Protocol):
    done: bool

    def feed(self, event: SSEEvent) -> list[StreamChunk]: ...

    def finish(self) -> StreamChunk: ...


class HTTPProvider:
    """Base of the HTTP adapters. Implements podium.core.provider.Provider."""

    kind: ClassVar[str]
    default_base_url: ClassVar[str]
    wire: ClassVar[ModuleType]
    stream_parser: ClassVar[type[WireStreamParser]]

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        dotenv_path: str | Path | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.base_url = (settings.base_url or self.default_base_url).rstrip("/")
        self._client = http_client
        self._owns_client = http_client is None
        self._env = env
        self._dotenv_path = dotenv_path
        self._clock = clock
        self._key: Secret | None = None
        self._timeout = httpx.Timeout(
            settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
        )
        self._poster: AiohttpPoster | None = None  # whole answers, when this provider owns its client

    @classmethod
    def from_settings(
        cls,
        settings: ProviderSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> HTTPProvider:
        """The registry's factory signature."""
        return cls(settings, http_client=http_client, env=env, clock=clock)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"

    # -- what subclasses define ---------------------------------------------------------------------------------
    def url(self, model: ModelSpec, *, stream: bool) -> str:
        raise NotImplementedError

    def auth_headers(self, key: Secret | None) -> dict[str, str]:
        raise NotImplementedError

    # -- shared machinery ---------------------------------------------------------------------------------------
    def _api_key(self) -> Secret | None:
        env_var = self.settings.api_key_env
        if env_var is None:
            return None
        if self._key is None:
            self._key = resolve_api_key(self.name, env_var, env=self._env, dotenv_path=self._dotenv_path)
        return self._key

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    def _headers(self, key: Secret | None, *, stream: bool) -> dict[str, str]:
        headers = {"accept": "text/event-stream" if stream else "application/json", "user-agent": "podium"}
        headers.update(self.settings.headers)
        headers.update(self.auth_headers(key))
        return headers

    def _transport_error(
        self, exc: httpx.HTTPError | TimeoutError, model: ModelSpec, *, stream: bool, total_hit: bool
    ) -> Exception:
        # Name the limit that fired, so the message points at the setting to raise.
        if isinstance(exc, httpx.ConnectTimeout):
            limit = self.settings.connect_timeout
        elif isinstance(exc, httpx.TimeoutException):
            limit = self.settings.read_timeout
        else:
            limit = self.settings.total_timeout if total_hit else self.settings.stream_idle_timeout
        return error_from_transport(exc, provider=self.name, model=model.id, streaming=stream, timeout=limit)

    async def _raise_for_status(self, response: httpx.Response, model: ModelSpec, key: Secret | None) -> None:
        if response.is_success:
            return
        await response.aread()
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raise self._status_error(response.status_code, response.text, response.headers, model, key) from exc

    def _status_error(
        self, status: int, body: str, headers: Mapping[str, str], model: ModelSpec, key: Secret | None
    ) -> Exception:
        return error_from_status(
            status,
            provider=self.name,
            model=model.id,
            body=body,
            headers=dict(headers),
            key_env=self.settings.api_key_env,
            secrets=[key.reveal()] if key else [],
            now=self._clock.now(),
        )

    def _finish(self, completion: Completion, started: float, response: httpx.Response | Reply) -> Completion:
        request_id = completion.request_id or response.headers.get("x-request-id") or response.headers.get("request-id")
        latency_ms = (self._clock.monotonic() - started) * 1000
        return replace(completion, provider=self.name, latency_ms=latency_ms, request_id=request_id)

    async def complete(self, request: ChatRequest, model: ModelSpec) -> Completion:
        """One non-streaming call; returns an unpriced Completion with latency measured."""
        started = self._clock.monotonic()
        body = self.wire.build_request(request, model, stream=False)
        data, response = await self._post_json(self.url(model, stream=False), body, model)
        return self._finish(self.wire.parse_response(data, model), started, response)

    async def _post_json(
        self, url: str, body: dict[str, Any], model: ModelSpec
    ) -> tuple[dict[str, Any], httpx.Response | Reply]:
        """POST ``body`` and return the answer's JSON object; failures mapped to ProviderError subclasses."""
        key = self._api_key()
        if self._owns_client:
            return await self._post_owned(url, body, model, key)
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                response = await self._http().post(
                    url, json=body, headers=self._headers(key, stream=False), timeout=self._timeout
                )
                await self._raise_for_status(response, model, key)
        except (httpx.HTTPError, TimeoutError) as exc:
            raise self._transport_error(exc, model, stream=False, total_hit=True) from exc
        return json_object(response.content, provider=self.name, model=model.id), response

    async def _post_owned(
        self, url: str, body: dict[str, Any], model: ModelSpec, key: Secret | None
    ) -> tuple[dict[str, Any], Reply]:
        from podium.providers.fast_http import AiohttpPoster, Limits, encode_json  # aiohttp loads on first call

        if self._poster is None:
            limits = Limits(self.settings.connect_timeout, self.settings.read_timeout, self.settings.total_timeout)
            self._poster = AiohttpPoster(limits)
        headers = self._headers(key, stream=False)
        headers["content-type"] = "application/json"
        reply = await self._poster.post(url, encode_json(body), headers, provider=self.name, model=model.id)
        if not reply.is_success:
            raise self._status_error(reply.status, reply.text, reply.headers, model, key)
        return json_object(reply.content, provider=self.name, model=model.id), reply

    async def stream(self, request: ChatRequest, model: ModelSpec) -> AsyncIterator[StreamChunk]:
        """Stream the answer; the last chunk carries finish_reason and usage.

        Waiting longer than ``stream_idle_timeout`` for the next line, or ``total_timeout`` overall, raises
        UpstreamTimeoutError; a stream that ends before its terminal event raises MalformedResponseError.
        """
        key = self._api_key()
        body = self.wire.build_request(request, model, stream=True)
        parser = self.stream_parser(model)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.total_timeout
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout_at(deadline):
                    response = await stack.enter_async_context(
                        self._http().stream(
                            "POST", self.url(model, stream=True), json=body,
                            headers=self._headers(key, stream=True), timeout=self._timeout,
                        )
                    )
                    await self._raise_for_status(response, model, key)
                events = aiter_sse(response.aiter_lines(), provider=self.name, model=model.id)
                stack.push_async_callback(events.aclose)  # also when the consumer stops early
                while True:
                    async with asyncio.timeout_at(min(loop.time() + self.settings.stream_idle_timeout, deadline)):
                        try:
                            event = await anext(events)
                        except StopAsyncIteration:
                            break
                    for chunk in parser.feed(event):
                        yield chunk
            except (httpx.HTTPError, TimeoutError) as exc:
                raise self._transport_error(exc, model, stream=True, total_hit=loop.time() >= deadline) from exc
        yield parser.finish()

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it; an injected client is the caller's to close."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._poster is not None:
            await self._poster.aclose()
            self._poster = None

    async def __aenter__(self) -> HTTPProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
