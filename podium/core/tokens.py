"""Token estimates without downloading a tokenizer (no tiktoken encodings are fetched at run time).

Estimates serve context-window checks, routing and replayed usage. Budget reservations use
``request_token_bound`` instead: an upper bound the provider cannot bill past, so a hard budget is never overshot.
Providers' reported usage is always what gets billed.
"""

from __future__ import annotations

import json
import math

from podium.core.types import ChatRequest, ImagePart, Message

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
IMAGE_TOKENS = 1000  # a generous flat allowance per image for reservations


def estimate_text_tokens(text: str) -> int:
    """Roughly 4 characters per token for English text and code, rounded up; at least 1 for non-empty text."""
    if not text:
        return 0
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


def estimate_message_tokens(message: Message) -> int:
    images = 0 if isinstance(message.content, str) else sum(isinstance(p, ImagePart) for p in message.content)
    return MESSAGE_OVERHEAD_TOKENS + estimate_text_tokens(message.text) + images * IMAGE_TOKENS


def estimate_request_tokens(request: ChatRequest) -> int:
    """Estimated prompt tokens of a request (messages plus a small per-message overhead)."""
    return sum(estimate_message_tokens(m) for m in request.messages) + 2


# Upper bounds for reservations. Every tokenizer in use (byte-level BPE, SentencePiece with byte fallback) emits
# tokens of at least one UTF-8 byte, so a text's byte length bounds its tokens. Chat templates add a few tokens per
# message (OpenAI documents 3-4, plus 3 to prime the reply); the allowances below are several times that.
MESSAGE_OVERHEAD_BOUND = 16
REQUEST_OVERHEAD_BOUND = 16
IMAGE_TOKENS_BOUND = 5000  # above OpenAI high detail (~1.1-2.5k), Claude (~1.6k) and Gemini tiling of large images


def _json_bytes(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def message_token_bound(message: Message) -> int:
    """At most how many tokens ``message`` can be billed as: its UTF-8 bytes plus overheads and image allowances."""
    if isinstance(message.content, str):
        size = len(message.content.encode("utf-8"))
    else:
        size = 0
        for part in message.content:
            if isinstance(part, ImagePart):
                size += IMAGE_TOKENS_BOUND
            else:
                size += len(part.text.encode("utf-8"))
    for extra in (message.name, message.tool_call_id):
        if extra:
            size += len(extra.encode("utf-8"))
    if message.tool_calls:
        size += _json_bytes(message.tool_calls)
    return MESSAGE_OVERHEAD_BOUND + size


def request_token_bound(request: ChatRequest) -> int:
    """Prompt tokens a provider can bill for ``request`` at most: what a hard budget reserves."""
    total = REQUEST_OVERHEAD_BOUND + sum(message_token_bound(m) for m in request.messages)
    for extra in (request.tools, request.response_format, request.tool_choice):
        if extra:
            total += _json_bytes(extra)
    return total
