"""The Gemini API (Google AI Studio) HTTP adapter."""

from __future__ import annotations

from podium.core.model_spec import ModelSpec
from podium.providers import gemini_wire
from podium.providers.http_base import HTTPProvider
from podium.providers.keys import Secret


class GeminiProvider(HTTPProvider):
    """``POST {base_url}/v1beta/models/{model}:generateContent`` with ``x-goog-api-key`` (never a ``?key=`` URL)."""

    kind = "gemini"
    default_base_url = "https://generativelanguage.googleapis.com"
    wire = gemini_wire
    stream_parser = gemini_wire.GeminiStreamParser

    def url(self, model: ModelSpec, *, stream: bool) -> str:
        # Accept a base URL given with or without the API version.
        base = self.base_url if self.base_url.endswith(("/v1beta", "/v1")) else self.base_url + "/v1beta"
        return f"{base}/{gemini_wire.request_path(model, stream=stream)}"

    def auth_headers(self, key: Secret | None) -> dict[str, str]:
        return {"x-goog-api-key": key.reveal()} if key else {}
