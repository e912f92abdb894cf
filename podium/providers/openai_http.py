"""The OpenAI-compatible HTTP adapter (OpenAI, Groq, OpenRouter, DeepSeek, Together, Mistral, Ollama, vLLM...)."""

from __future__ import annotations

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
