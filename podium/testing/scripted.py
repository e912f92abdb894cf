"""A scripted in-process provider for users' tests: replies and errors in order, per model, no HTTP."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from podium.config.providers import ProviderSettings
from podium.core.model_spec import ModelSpec
from podium.core.provider import Provider
from podium.core.tokens import estimate_request_tokens, estimate_text_tokens
from podium.core.types import ChatRequest, Completion, StreamChunk, Usage


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    text: str
    usage: Usage | None = None
    finish_reason: str = "stop"


class ScriptedProvider:
    """Answers each model's calls from a queue of replies or exceptions; when a queue is empty, echoes.

    Register it with ``registry.register("scripted", ScriptedProvider.factory(provider))`` and give the
    provider settings ``kind="scripted"``; or pass it straight to the engine's ProviderPool registry.
    """

    def __init__(self, name: str = "scripted") -> None:
        self.name = name
        self._queues: dict[str, deque[ScriptedReply | BaseException]] = defaultdict(deque)
        self.calls: list[tuple[str, ChatRequest]] = []

    def reply(self, model_id: str, text: str, *, usage: Usage | None = None, finish_reason: str = "stop") -> None:
        self._queues[model_id].append(ScriptedReply(text, usage, finish_reason))

    def fail(self, model_id: str, error: BaseException, times: int = 1) -> None:
        for _ in range(times):
            self._queues[model_id].append(error)

    def _next(self, request: ChatRequest, model: ModelSpec) -> ScriptedReply:
        self.calls.append((model.id, request))
        queue = self._queues.get(model.id)
        item: ScriptedReply | BaseException
        item = queue.popleft() if queue else ScriptedReply(f"echo: {request.last_user_text}")
        if isinstance(item, BaseException):
            raise item
        return item

    def _usage(self, request: ChatRequest, reply: ScriptedReply) -> Usage:
        if reply.usage is not None:
            return reply.usage
        return Usage(input_tokens=estimate_request_tokens(request), output_tokens=estimate_text_tokens(reply.text))

    async def complete(self, request: ChatRequest, model: ModelSpec) -> Completion:
        reply = self._next(request, model)
        return Completion(
            text=reply.text,
            model=model.id,
            provider=model.provider,
            usage=self._usage(request, reply),
            finish_reason=reply.finish_reason,
        )

    async def stream(self, request: ChatRequest, model: ModelSpec) -> AsyncIterator[StreamChunk]:
        reply = self._next(request, model)
        words = reply.text.split(" ")
        for i, word in enumerate(words):
            yield StreamChunk(delta=word if i == 0 else " " + word)
        yield StreamChunk(finish_reason=reply.finish_reason, usage=self._usage(request, reply))

    async def aclose(self) -> None:
        return None

    def factory(self) -> Any:
        """A registry factory that always hands out this instance."""

        def build(settings: ProviderSettings, **_: Any) -> ScriptedProvider:
            return self

        return build


class SingleProviderRegistry:
    """A registry that serves every provider name with one provider object (for tests and demos)."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider

    def build(self, settings: ProviderSettings, **_: Mapping[str, Any]) -> Provider:
        return self._provider
