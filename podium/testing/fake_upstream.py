"""A fake LLM upstream speaking the OpenAI, Anthropic and Gemini wire formats on their real paths.

Use it in your own tests with ``serve`` to get a real HTTP server on loopback::

    upstream = FakeUpstream(api_key="test-key")
    upstream.script("gpt-4o-mini", text="hello", usage=Usage(input_tokens=10, output_tokens=2))
    upstream.fail("gpt-4o-mini", status=429, retry_after=2, times=1)
    with serve(upstream.app) as base_url:
        ...  # point a provider at base_url + "/v1" (OpenAI), base_url (Anthropic, Gemini)
    assert upstream.count("gpt-4o-mini") == 2

Paths: ``POST .../chat/completions`` and ``POST .../embeddings`` (any prefix), ``POST .../v1/messages``,
``POST .../models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``. ``model`` in every method
is the name on the wire (``gpt-4o-mini``, not ``openai:gpt-4o-mini``); ``"*"`` matches any model.
Faults are used before scripted replies; with nothing scripted the fake echoes the last user message.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.core.json_types import JSONValue
from podium.core.types import Usage
from podium.providers.http_errors import redact_headers
from podium.providers.tool_calls import tool_call
from podium.testing import fake_upstream_http as http
from podium.testing import fake_upstream_wire as wire
from podium.testing.fake_upstream_http import DEFAULT_KINDS, FaultKind
from podium.testing.fake_upstream_wire import Reply


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received. Credential headers are redacted."""

    provider: str
    path: str
    query: str
    headers: dict[str, str]
    json: JSONValue
    model: str
    stream: bool


@dataclass(slots=True)
class _Delay:
    seconds: float
    between_chunks: bool
    remaining: int | None


@dataclass(slots=True)
class _ErrorRate:
    rate: float
    kinds: tuple[FaultKind, ...]
    rng: random.Random
    retry_after: float | None


def _take(rules: list[Any], model: str) -> Any:
    """The first rule with uses left for ``model`` (then for ``"*"``), using one up."""
    for key in (model, "*"):
        for rule in rules:
            if rule[0] == key and (rule[1].remaining is None or rule[1].remaining > 0):
                if rule[1].remaining is not None:
                    rule[1].remaining -= 1
                return rule[1]
    return None


class FakeUpstream:
    """Scripted replies, faults and a request log behind an ASGI app (``.app``). Thread-safe."""

    def __init__(self, *, api_key: str | None = "test-key", timeout_seconds: float = 30.0) -> None:
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds  # how long a "timeout" fault stalls (ends early if the client leaves)
        self._lock = threading.Lock()
        self._app: Starlette | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every script, fault and recorded request."""
        with self._lock:
            self._faults: list[tuple[str, http.Fault]] = []
            self._scripts: list[tuple[str, http.Scripted]] = []
            self._delays: list[tuple[str, _Delay]] = []
            self._rates: dict[str, _ErrorRate] = {}
            self._requests: list[RecordedRequest] = []
            self._counts: dict[str, int] = {}

    # -- scripting ------------------------------------------------------------------------------------------------
    def script(
        self,
        model: str,
        text: str = "",
        *,
        usage: Usage | dict[str, int] | None = None,
        finish_reason: str = "stop",
        tool_calls: Iterable[dict[str, Any]] | None = None,
        times: int | None = None,
        logprobs: Iterable[float] | None = None,
    ) -> None:
        """Answer ``model`` with this reply (``times`` calls, or every call). Usage defaults to length-based counts.

        ``tool_calls`` items are OpenAI-shaped or ``{"name": ..., "arguments": {...}}``; ``finish_reason`` uses
        Podium's names (stop, length, tool_calls, content_filter) and is rendered in each wire's own words.
        ``logprobs`` are the answer's token logprobs, returned only when a request asks for them (OpenAI
        ``logprobs``, Gemini ``generationConfig.responseLogprobs``); unscripted, each word piece gets -0.01.
        An OpenAI request with ``n`` > 1 takes one scripted reply per choice (the prompt billed once).
        """
        calls = tuple(_normal_call(c, i) for i, c in enumerate(tool_calls or ()))
        u = Usage(**usage) if isinstance(usage, dict) else usage
        finish = "tool_calls" if calls and finish_reason == "stop" else finish_reason
        rule = http.Scripted(text, u, finish, calls, times, None if logprobs is None else tuple(float(v) for v in logprobs))
        with self._lock:
            self._scripts.append((model, rule))

    def fail(
        self,
        model: str,
        status: int = 429,
        *,
        retry_after: float | None = None,
        times: int | None = 1,
        message: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer with HTTP ``status`` in the provider's error shape (``Retry-After`` when given)."""
        self._add_fault(model, http.Fault(status, times, retry_after, message, dict(headers or {})))

    def malformed(self, model: str, *, times: int | None = 1) -> None:
        """Answer 200 with a body (or stream event) that is not valid JSON."""
        self._add_fault(model, http.Fault("malformed", times))

    def cut_stream(self, model: str, after_chunks: int = 1, *, times: int | None = 1) -> None:
        """End a stream cleanly after ``after_chunks`` SSE events, before its terminal event (a non-stream call
        gets a truncated JSON body)."""
        self._add_fault(model, http.Fault("cut", times, after_chunks=after_chunks))

    def stall(self, model: str, *, times: int | None = 1) -> None:
        """Hold the response for ``timeout_seconds`` (or until the client gives up), so the client times out."""
        self._add_fault(model, http.Fault("timeout", times))

    def delay(self, model: str, seconds: float, *, times: int | None = None, between_chunks: bool = False) -> None:
        """Wait ``seconds`` before answering (or between stream events, with ``between_chunks``)."""
        with self._lock:
            self._delays.append((model, _Delay(seconds, between_chunks, times)))

    def error_rate(
        self,
        model: str,
        rate: float,
        kinds: Iterable[FaultKind] = DEFAULT_KINDS,
        *,
        rng: random.Random | None = None,
        retry_after: float | None = 0.0,
    ) -> None:
        """Fail a ``rate`` share of calls with a fault drawn from ``kinds``; seed ``rng`` for repeatable suites."""
        with self._lock:
            self._rates[model] = _ErrorRate(rate, tuple(kinds), rng or random.Random(0), retry_after)

    def _add_fault(self, model: str, fault: http.Fault) -> None:
        with self._lock:
            self._faults.append((model, fault))

    # -- what was received ----------------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            return self._requests[-1]

    @property
    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def count(self, model: str | None = None) -> int:
        """Requests received for ``model`` (all models when None), including failed ones."""
        with self._lock:
            return len(self._requests) if model is None else self._counts.get(model, 0)

    # -- the ASGI app ---------------------------------------------------------------------------------------------
    @property
    def app(self) -> Starlette:
        if self._app is None:
            self._app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        return self._app

    async def _handle(self, request: Request) -> Response:
        if request.url.path.endswith("/embeddings"):
            return await self._embeddings(request)
        provider, model, stream = http.route_of(request)
        if provider is None:
            return JSONResponse({"error": {"message": f"no fake endpoint at {request.url.path}"}}, status_code=404)
        if (denied := self._check_auth(provider, request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return http.error_response(provider, 400, "the request body is not valid JSON")
        model = model or str(body.get("model", ""))
        stream = stream or bool(body.get("stream"))
        fault, delays, replies = self._plan(request, provider, model, stream, body)
        reply = replies[0]
        before = sum(d.seconds for d in delays if not d.between_chunks)
        gap = sum(d.seconds for d in delays if d.between_chunks)
        if fault is not None and fault.kind == "timeout":
            before += self.timeout_seconds
        if before and await http.sleep_unless_gone(request, before):
            return Response(status_code=499)
        if fault is not None and fault.kind != "timeout":
            return http.fault_response(provider, fault, model, stream)
        if stream:
            frames = http.frames_for(provider, reply, model, body, len(self._requests))
            return StreamingResponse(http.paced(frames, gap), media_type="text/event-stream")
        return JSONResponse(http.body_for(provider, replies, model, len(self._requests), body))

    async def _embeddings(self, request: Request) -> Response:
        """OpenAI's ``POST .../embeddings``: deterministic vectors, usage counted from the input; faults apply."""
        if (denied := self._check_auth("openai", request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return http.error_response("openai", 400, "the request body is not valid JSON")
        model = str(body.get("model", ""))
        with self._lock:
            self._requests.append(RecordedRequest("openai", request.url.path, request.url.query,
                                                  redact_headers(dict(request.headers)), body, model, False))
            self._counts[model] = self._counts.get(model, 0) + 1
            fault = self._random_fault(model) or _take(self._faults, model)
        if fault is not None and fault.kind != "timeout":
            return http.fault_response("openai", fault, model, False)
        answer = wire.embedding_body(body, model)
        if answer is None:
            return http.error_response("openai", 400, "input: use a string, a list of strings or token arrays")
        return JSONResponse(answer)

    def _check_auth(self, provider: str, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        h = request.headers
        if provider == "anthropic" and "anthropic-version" not in h:
            return http.error_response(provider, 400, "anthropic-version: header is required")
        given = {
            "openai": h.get("authorization", "").removeprefix("Bearer "),
            "anthropic": h.get("x-api-key", ""),
            "gemini": h.get("x-goog-api-key") or request.query_params.get("key", ""),
        }[provider]
        if given != self.api_key:
            return http.error_response(provider, 401, "Incorrect API key provided" if given else "no API key provided")
        return None

    def _plan(
        self, request: Request, provider: str, model: str, stream: bool, body: dict[str, Any]
    ) -> tuple[http.Fault | None, list[_Delay], list[Reply]]:
        with self._lock:
            self._requests.append(
                RecordedRequest(provider, request.url.path, request.url.query, redact_headers(dict(request.headers)),
                                body, model, stream)
            )
            self._counts[model] = self._counts.get(model, 0) + 1
            fault = self._random_fault(model) or _take(self._faults, model)
            delays = [d for key, d in self._delays if key in (model, "*") and (d.remaining is None or d.remaining > 0)]
            for d in delays:
                d.remaining = None if d.remaining is None else d.remaining - 1
            scripted = [_take(self._scripts, model) for _ in range(wire.samples_asked(provider, body))]
        return fault, delays, [http.reply_for(provider, body, s) for s in scripted]

    def _random_fault(self, model: str) -> http.Fault | None:
        rate = self._rates.get(model) or self._rates.get("*")
        if rate is None or rate.rng.random() >= rate.rate:
            return None
        kind = rate.rng.choice(rate.kinds)
        return http.Fault(kind, None, retry_after=rate.retry_after if kind == 429 else None)


def _normal_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    if "function" in call:
        return {"type": "function", **call, "id": call.get("id") or f"call_{index}"}
    return tool_call(call.get("id") or f"call_{index}", call["name"], call.get("arguments") or {})

