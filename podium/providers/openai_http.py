"""The OpenAI-compatible HTTP adapter (OpenAI, Groq, OpenRouter, DeepSeek, Together, Mistral, Ollama, vLLM...)."""

from __future__ import annotations

from dataclasses import replace

from podium.core.embeddings import EmbeddingInput, EmbeddingResult
from podium.core.model_spec import ModelSpec
from podium.providers import openai_wire
from podium.providers.http_base import HTTPProvider
from podium.providers.keys import Secret


class OpenAIProvider(HTTPProvider):
    """``POST {base_url}/chat/completions`` with ``Authorization: Bearer``; local servers may need no key."""

    kind = "openai"
    default_base_url = "https://api.openai.com/v1"
    wire = openai_wire
    stream_parser = openai_wire.OpenAIStreamParser

    def url(self, model: ModelSpec, *, stream: bool) -> str:
        return self.base_url + openai_wire.PATH

    def auth_headers(self, key: Secret | None) -> dict[str, str]:
        return {"authorization": f"Bearer {key.reveal()}"} if key else {}

    async def embed(
        self, inputs: tuple[EmbeddingInput, ...], model: ModelSpec, *, dimensions: int | None = None,
        user: str | None = None,
    ) -> EmbeddingResult:
        """``POST {base_url}/embeddings``: an unpriced EmbeddingResult with latency measured."""
        started = self._clock.monotonic()
        body = openai_wire.build_embedding_request(inputs, model, dimensions=dimensions, user=user)
        data, _ = await self._post_json(self.base_url + openai_wire.EMBEDDINGS_PATH, body, model)
        result = openai_wire.parse_embedding_response(data, model, count=len(inputs))
        return replace(result, provider=self.name, latency_ms=(self._clock.monotonic() - started) * 1000)
