"""Token estimates without downloading a tokenizer (no tiktoken encodings are fetched at run time).

Used for worst-case budget reservations, context-window checks and replayed usage; providers' reported usage
is always what gets billed.
"""

from __future__ import annotations

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
