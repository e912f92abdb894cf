"""Podium: send every LLM call to the cheapest model that will do it well."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.core.embeddings import EmbeddingResult
    from podium.core.errors import (
        AllAttemptsFailedError,
        AuthenticationError,
        BadRequestError,
        BudgetExceededError,
        CircuitOpenError,
        ConfigError,
        ContentPolicyError,
        ContextWindowExceededError,
        MalformedResponseError,
        MissingAPIKeyError,
        NoCandidateError,
        PodiumError,
        PolicyViolationError,
        ProviderError,
        RateLimitError,
        ReplayMissError,
        ServerError,
        UnknownModelError,
        UnknownPriceError,
        UpstreamConnectionError,
        UpstreamTimeoutError,
        ValidationError,
    )
    from podium.core.model_spec import ModelSpec
    from podium.core.pipeline import CallMeta
    from podium.core.routed import RoutedResult, RoutingDecision
    from podium.core.types import ChatRequest, Completion, Message, StreamChunk, Usage
    from podium.engine import CompletionStream, Podium, SyncPodium
    from podium.ledger.feedback import Feedback
    from podium.routing.strategies.base import QualityPredictor

__version__ = "0.1.0"

# Where each public name lives. Importing ``podium`` imports none of them: the engine pulls in HTTP, SQL and the
# routing data, and the CLI's ``--help`` or a config check needs none of that (PEP 562 module ``__getattr__``).
NEW_ERRORS = ("BadRequestError", "CircuitOpenError", "NoCandidateError", "PolicyViolationError", "UnknownPriceError", "UpstreamConnectionError", "UpstreamTimeoutError")
_EXPORTS = {
    **dict.fromkeys(
        (
            "AllAttemptsFailedError",
            "AuthenticationError",
            "BudgetExceededError",
            "ConfigError",
            "ContentPolicyError",
            "ContextWindowExceededError",
            "MalformedResponseError",
            "MissingAPIKeyError",
            "PodiumError",
            "ProviderError",
            "RateLimitError",
            "ReplayMissError",
            "ServerError",
            "UnknownModelError",
            "ValidationError",
            *NEW_ERRORS,
        ),
        "podium.core.errors",
    ),
    "Catalog": "podium.catalog",
    **dict.fromkeys(("RoutedResult", "RoutingDecision"), "podium.core.routed"),
    "ModelSpec": "podium.core.model_spec",
    "EmbeddingResult": "podium.core.embeddings",
    "Feedback": "podium.ledger.feedback",
    "QualityPredictor": "podium.routing.strategies.base",
    "CallMeta": "podium.core.pipeline",
    **dict.fromkeys(("ChatRequest", "Completion", "Message", "StreamChunk", "Usage"), "podium.core.types"),
    **dict.fromkeys(("CompletionStream", "Podium", "SyncPodium"), "podium.engine"),
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), _EXPORTS)


__all__ = [
    "AllAttemptsFailedError",
    "AuthenticationError",
    "BadRequestError",
    "BudgetExceededError",
    "CallMeta",
    "Catalog",
    "ChatRequest",
    "CircuitOpenError",
    "Completion",
    "CompletionStream",
    "ConfigError",
    "ContentPolicyError",
    "ContextWindowExceededError",
    "EmbeddingResult",
    "Feedback",
    "MalformedResponseError",
    "Message",
    "MissingAPIKeyError",
    "ModelSpec",
    "NoCandidateError",
    "Podium",
    "PodiumError",
    "PolicyViolationError",
    "ProviderError",
    "QualityPredictor",
    "RateLimitError",
    "ReplayMissError",
    "RoutedResult",
    "RoutingDecision",
    "ServerError",
    "StreamChunk",
    "SyncPodium",
    "UnknownModelError",
    "UnknownPriceError",
    "UpstreamConnectionError",
    "UpstreamTimeoutError",
    "Usage",
    "ValidationError",
    "__version__",
]
