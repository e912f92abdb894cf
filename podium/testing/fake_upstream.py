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

import asyncio
import json
import random
import re
import threading
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podium.core.tokens import estimate_text_tokens as estimate_tokens  # the fake's counts: 4 chars a token
from podium.core.types import Usage
from podium.providers.http_errors import redact_headers
from podium.providers.tool_calls import tool_call
from podium.testing import fake_upstream_wire as wire
from podium.testing.fake_upstream_wire import Reply

FaultKind = int | str  # an HTTP status, or "timeout" | "malformed" | "cut"
DEFAULT_KINDS: tuple[FaultKind, ...] = (429, 500, 503, "timeout", "malformed", "cut")
_GEMINI_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")
_MESSAGES = {400: "invalid request", 401: "Incorrect API key provided", 403: "permission denied",
             429: "Rate limit reached for requests", 500: "The server had an error while processing your request",
             503: "The service is temporarily unavailable", 529: "Overloaded"}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received. Credential headers are redacted."""

    provider: str
    path: str
    query: str
    headers: dict[str, str]
    json: Any
    model: str
    stream: bool


@dataclass(slots=True)
class _Fault:
    kind: FaultKind
    remaining: int | None
    retry_after: float | None = None
    message: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after_chunks: int = 1


@dataclass(slots=True)
class _Scripted:
    text: str
    usage: Usage | None
    finish_reason: str
    tool_calls: tuple[dict[str, Any], ...]
    remaining: int | None
    logprobs: tuple[float, ...] | None = None


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
            self._faults: list[tuple[str, _Fault]] = []
            self._scripts: list[tuple[str, _Scripted]] = []
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
        rule = _Scripted(text, u, finish, calls, times, None if logprobs is None else tuple(float(v) for v in logprobs))
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
        self._add_fault(model, _Fault(status, times, retry_after, message, dict(headers or {})))

    def malformed(self, model: str, *, times: int | None = 1) -> None:
        """Answer 200 with a body (or stream event) that is not valid JSON."""
        self._add_fault(model, _Fault("malformed", times))

    def cut_stream(self, model: str, after_chunks: int = 1, *, times: int | None = 1) -> None:
        """End a stream cleanly after ``after_chunks`` SSE events, before its terminal event (a non-stream call
        gets a truncated JSON body)."""
        self._add_fault(model, _Fault("cut", times, after_chunks=after_chunks))

    def stall(self, model: str, *, times: int | None = 1) -> None:
        """Hold the response for ``timeout_seconds`` (or until the client gives up), so the client times out."""
        self._add_fault(model, _Fault("timeout", times))

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

    def _add_fault(self, model: str, fault: _Fault) -> None:
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
        provider, model, stream = _route(request)
        if provider is None:
            return JSONResponse({"error": {"message": f"no fake endpoint at {request.url.path}"}}, status_code=404)
        if (denied := self._check_auth(provider, request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(provider, 400, "the request body is not valid JSON")
        model = model or str(body.get("model", ""))
        stream = stream or bool(body.get("stream"))
        fault, delays, replies = self._plan(request, provider, model, stream, body)
        reply = replies[0]
        before = sum(d.seconds for d in delays if not d.between_chunks)
        gap = sum(d.seconds for d in delays if d.between_chunks)
        if fault is not None and fault.kind == "timeout":
            before += self.timeout_seconds
        if before and await _sleep_unless_gone(request, before):
            return Response(status_code=499)
        if fault is not None and fault.kind != "timeout":
            return _fault_response(provider, fault, model, stream)
        if stream:
            frames = _frames(provider, reply, model, body, len(self._requests))
            return StreamingResponse(_paced(frames, gap), media_type="text/event-stream")
        return JSONResponse(_body(provider, replies, model, len(self._requests), body))

    async def _embeddings(self, request: Request) -> Response:
        """OpenAI's ``POST .../embeddings``: deterministic vectors, usage counted from the input; faults apply."""
        if (denied := self._check_auth("openai", request)) is not None:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error("openai", 400, "the request body is not valid JSON")
        model = str(body.get("model", ""))
        with self._lock:
            self._requests.append(RecordedRequest("openai", request.url.path, request.url.query,
                                                  redact_headers(dict(request.headers)), body, model, False))
            self._counts[model] = self._counts.get(model, 0) + 1
            fault = self._random_fault(model) or _take(self._faults, model)
        if fault is not None and fault.kind != "timeout":
            return _fault_response("openai", fault, model, False)
        answer = wire.embedding_body(body, model)
        if answer is None:
            return _error("openai", 400, "input: use a string, a list of strings or token arrays")
        return JSONResponse(answer)

    def _check_auth(self, provider: str, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        h = request.headers
        if provider == "anthropic" and "anthropic-version" not in h:
            return _error(provider, 400, "anthropic-version: header is required")
        given = {
            "openai": h.get("authorization", "").removeprefix("Bearer "),
            "anthropic": h.get("x-api-key", ""),
            "gemini": h.get("x-goog-api-key") or request.query_params.get("key", ""),
        }[provider]
        if given != self.api_key:
            return _error(provider, 401, "Incorrect API key provided" if given else "no API key provided")
        return None

    def _plan(
        self, request: Request, provider: str, model: str, stream: bool, body: dict[str, Any]
    ) -> tuple[_Fault | None, list[_Delay], list[Reply]]:
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
        return fault, delays, [_reply(provider, body, s) for s in scripted]

    def _random_fault(self, model: str) -> _Fault | None:
        rate = self._rates.get(model) or self._rates.get("*")
        if rate is None or rate.rng.random() >= rate.rate:
            return None
        kind = rate.rng.choice(rate.kinds)
        return _Fault(kind, None, retry_after=rate.retry_after if kind == 429 else None)


def _normal_call(call: dict[str, Any], index: int) -> dict[str, Any]:
    if "function" in call:
        return {"type": "function", **call, "id": call.get("id") or f"call_{index}"}
    return tool_call(call.get("id") or f"call_{index}", call["name"], call.get("arguments") or {})


def _route(request: Request) -> tuple[str | None, str, bool]:
    path = request.url.path
    if path.endswith("/chat/completions"):
        return "openai", "", False
    if path.endswith("/messages"):
        return "anthropic", "", False
    if m := _GEMINI_PATH.search(path):
        return "gemini", m.group("model"), m.group("method") == "streamGenerateContent"
    return None, "", False


def _reply(provider: str, body: dict[str, Any], scripted: _Scripted | None) -> Reply:
    prompt, last_user = wire.prompt_texts(provider, body)
    if scripted is not None:
        out_text = scripted.text + "".join(c["function"]["arguments"] for c in scripted.tool_calls)
        usage = scripted.usage or Usage(estimate_tokens(prompt), estimate_tokens(out_text))
        return Reply(scripted.text, usage, scripted.finish_reason, scripted.tool_calls, scripted.logprobs)
    text, finish = f"echo: {last_user}", "stop"
    limit = wire.max_tokens(provider, body)
    if limit is not None and estimate_tokens(text) > limit:
        text, finish = text[: limit * 4], "length"
    return Reply(text, Usage(estimate_tokens(prompt), estimate_tokens(text)), finish)


def _body(provider: str, replies: list[Reply], model: str, n: int, body: dict[str, Any] | None = None) -> dict[str, Any]:
    logprobs, top = wire.logprobs_asked(provider, body or {})
    if provider == "openai":
        return wire.openai_body(replies[0], model, f"chatcmpl-fake-{n}", samples=replies[1:], logprobs=logprobs,
                                top_logprobs=top)
    if provider == "anthropic":
        return wire.anthropic_body(replies[0], model, f"msg_fake_{n}")
    return wire.gemini_body(replies[0], model, f"fake-{n}", logprobs=logprobs, top_logprobs=top)


def _frames(provider: str, reply: Reply, model: str, body: dict[str, Any], n: int) -> list[str]:
    if provider == "openai":
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return wire.openai_frames(reply, model, f"chatcmpl-fake-{n}", include_usage=include_usage)
    if provider == "anthropic":
        return wire.anthropic_frames(reply, model, f"msg_fake_{n}")
    return wire.gemini_frames(reply, model, f"fake-{n}")


def _error(provider: str, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(wire.ERROR_BODIES[provider](status, message), status_code=status, headers=headers)


def _fault_response(provider: str, fault: _Fault, model: str, stream: bool) -> Response:
    if isinstance(fault.kind, int):
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        return _error(provider, fault.kind, fault.message or _MESSAGES.get(fault.kind, "error"), headers)
    reply = Reply("this answer was cut short by the fake upstream", Usage(1, 9))
    if fault.kind == "malformed":
        if stream:
            return StreamingResponse(_paced(['data: {"not json\n\n'], 0), media_type="text/event-stream")
        return Response('{"choices": [{"message": ', media_type="application/json")
    if stream:  # "cut"
        frames = _frames(provider, reply, model, {"stream_options": {"include_usage": True}}, 0)
        return StreamingResponse(_paced(frames[: fault.after_chunks], 0), media_type="text/event-stream")
    text = json.dumps(_body(provider, [reply], model, 0))
    return Response(text[: len(text) // 2], media_type="application/json")


async def _paced(frames: list[str], gap: float) -> AsyncIterator[str]:
    for i, frame in enumerate(frames):
        if gap and i:
            await asyncio.sleep(gap)
        yield frame


async def _sleep_unless_gone(request: Request, seconds: float) -> bool:
    """Sleep ``seconds``; stop early and return True when the client disconnects (it timed out)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, 0.02))
        if await request.is_disconnected():
            return True
    return False
