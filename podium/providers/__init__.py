"""Provider adapters: pure wire translation per protocol, HTTP adapters, the registry that builds them."""

from podium.providers.anthropic_http import AnthropicProvider
from podium.providers.assemble import StreamAssembler, collect_stream
from podium.providers.gemini_http import GeminiProvider
from podium.providers.http_base import HTTPProvider
from podium.providers.http_errors import error_from_status, error_from_transport, parse_retry_after, redact_headers
from podium.providers.keys import Secret, resolve_api_key
from podium.providers.openai_http import OpenAIProvider
from podium.providers.registry import ProviderFactory, ProviderRegistry, default_registry
from podium.providers.sse import SSEDecoder, SSEEvent, aiter_sse, parse_sse_text

__all__ = [
    "AnthropicProvider",
    "GeminiProvider",
    "HTTPProvider",
    "OpenAIProvider",
    "ProviderFactory",
    "ProviderRegistry",
    "SSEDecoder",
    "SSEEvent",
    "Secret",
    "StreamAssembler",
    "aiter_sse",
    "collect_stream",
    "default_registry",
    "error_from_status",
    "error_from_transport",
    "parse_retry_after",
    "parse_sse_text",
    "redact_headers",
    "resolve_api_key",
]
