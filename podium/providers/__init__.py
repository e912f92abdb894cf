"""Provider adapters: pure wire translation per protocol, HTTP adapters, the registry that builds them.

Names are imported on first use: the wire modules and the replay provider need no HTTP client library, so a replayed
call (and `podium ask --replay`) does not pay for loading one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from podium.providers.anthropic_http import AnthropicProvider
    from podium.providers.assemble import StreamAssembler, collect_stream
    from podium.providers.gemini_http import GeminiProvider
    from podium.providers.http_base import HTTPProvider
    from podium.providers.http_errors import (
        error_from_status,
        error_from_transport,
        parse_retry_after,
        redact_headers,
    )
    from podium.providers.keys import Secret, resolve_api_key
    from podium.providers.openai_http import OpenAIProvider
    from podium.providers.registry import ProviderFactory, ProviderRegistry, default_registry
    from podium.providers.sse import SSEDecoder, SSEEvent, aiter_sse, parse_sse_text

_HOMES: dict[str, str] = {
    "AnthropicProvider": "anthropic_http",
    "StreamAssembler": "assemble",
    "collect_stream": "assemble",
    "GeminiProvider": "gemini_http",
    "HTTPProvider": "http_base",
    "error_from_status": "http_errors",
    "error_from_transport": "http_errors",
    "parse_retry_after": "http_errors",
    "redact_headers": "http_errors",
    "Secret": "keys",
    "resolve_api_key": "keys",
    "OpenAIProvider": "openai_http",
    "ProviderFactory": "registry",
    "ProviderRegistry": "registry",
    "default_registry": "registry",
    "SSEDecoder": "sse",
    "SSEEvent": "sse",
    "aiter_sse": "sse",
    "parse_sse_text": "sse",
}

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


__getattr__, __dir__ = lazy_exports(
    __name__, {k: f"{__name__}.{v}" for k, v in _HOMES.items()}, globals(), __all__
)
