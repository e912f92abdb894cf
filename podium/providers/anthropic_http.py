"""The Anthropic Messages HTTP adapter."""

from __future__ import annotations

from podium.core.model_spec import ModelSpec
from podium.providers import anthropic_wire
from podium.providers.http_base import HTTPProvider
from podium.providers.keys import Secret


class AnthropicProvider(HTTPProvider):
    """``POST {base_url}/v1/messages`` with ``x-api-key`` and ``anthropic-version``."""

    kind = "anthropic"
    default_base_url = "https://api.anthropic.com"
    wire = anthropic_wire
    stream_parser = anthropic_wire.AnthropicStreamParser

    def url(self, model: ModelSpec, *, stream: bool) -> str:
        # Accept a base URL given with or without the /v1 suffix.
        base = self.base_url.removesuffix("/v1")
        return base + anthropic_wire.PATH

    def auth_headers(self, key: Secret | None) -> dict[str, str]:
        headers = {"anthropic-version": anthropic_wire.API_VERSION}
        if key:
            headers["x-api-key"] = key.reveal()
        return headers
