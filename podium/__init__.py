"""Podium: send every LLM call to the cheapest model that will do it well."""

from podium.core.errors import (
    AllAttemptsFailedError,
    AuthenticationError,
    BudgetExceededError,
    ConfigError,
    ContentPolicyError,
    ContextWindowExceededError,
    MalformedResponseError,
    MissingAPIKeyError,
    PodiumError,
    ProviderError,
    RateLimitError,
    ReplayMissError,
    ServerError,
    UnknownModelError,
    ValidationError,
)
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion, Message, StreamChunk, Usage
from podium.engine import CompletionStream, Podium, SyncPodium

__version__ = "0.1.0"

__all__ = [
    "AllAttemptsFailedError",
    "AuthenticationError",
    "BudgetExceededError",
    "CallMeta",
    "ChatRequest",
    "Completion",
    "CompletionStream",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "MalformedResponseError",
    "Message",
    "MissingAPIKeyError",
    "ModelSpec",
    "Podium",
    "PodiumError",
    "ProviderError",
    "RateLimitError",
    "ReplayMissError",
    "ServerError",
    "StreamChunk",
    "SyncPodium",
    "UnknownModelError",
    "Usage",
    "ValidationError",
    "__version__",
]
