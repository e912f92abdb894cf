"""Which models to try next after a model failed: a pure policy the engine consults between models.

- 429/5xx/timeouts/connection errors/malformed answers/open breaker → the remaining acceptable models, the same
  model at another provider first ("provider down → an equivalent model elsewhere"), and other models of the
  failed provider last when the provider itself looks down.
- ContextWindowExceededError → only models with a larger context window than the one that overflowed.
- ContentPolicyError → models of another provider, other model families first; AuthenticationError → models of
  another provider, only with ``on_auth_error`` (off by default: a bad key is reported, not paid around).
- Any other 4xx → nothing: the request itself is wrong and would fail everywhere (and cost money on the way).
- Local models (ollama, vllm, llamacpp, or any provider configured ``local: true``) come after every remote
  model, so they answer only when every remote candidate has failed; ``local_models`` are the ones the config
  names in ``resilience.fallback.local_models`` (none by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from podium.config.resilience import FallbackSettings
from podium.core.errors import (
    AuthenticationError,
    BadRequestError,
    CircuitOpenError,
    ContentPolicyError,
    ContextWindowExceededError,
    ProviderError,
    RateLimitError,
    ServerError,
    UpstreamConnectionError,
    UpstreamTimeoutError,
)
from podium.core.model_spec import ModelSpec

LOCAL_PROVIDERS: frozenset[str] = frozenset({"ollama", "vllm", "llamacpp"})
_PROVIDER_DOWN = (ServerError, UpstreamTimeoutError, UpstreamConnectionError, CircuitOpenError)


def equivalence_name(model: ModelSpec) -> str:
    """A provider-independent name: 'openai/gpt-4o-mini' at OpenRouter and 'gpt-4o-mini' at OpenAI match."""
    return model.api_model.rsplit("/", 1)[-1].lower()


class FallbackPolicy:
    """``next_candidates(error, tried, candidates)`` → the models worth trying next, best first."""

    def __init__(
        self,
        settings: FallbackSettings | None = None,
        *,
        local_providers: Iterable[str] = (),
        local_models: Sequence[ModelSpec] = (),
    ) -> None:
        self.settings = settings or FallbackSettings()
        self.local_providers = LOCAL_PROVIDERS | frozenset(local_providers)
        self.local_models = tuple(local_models)  # configured local models, used even if no strategy lists them

    def is_local(self, model: ModelSpec) -> bool:
        return model.provider in self.local_providers

    def next_candidates(
        self, error: BaseException, tried: Sequence[ModelSpec | str], candidates: Sequence[ModelSpec]
    ) -> list[ModelSpec]:
        """Models to try after ``tried[-1]`` failed with ``error``; ``candidates`` is the strategy's list in order."""
        s = self.settings
        if not s.enabled or not isinstance(error, ProviderError):
            return []
        tried_ids = {t if isinstance(t, str) else t.id for t in tried}
        failed = _last_spec(tried, candidates, self.local_models)
        failed_provider = failed.provider if failed else getattr(error, "provider", None)
        pool = [c for c in _dedupe([*candidates, *self._locals()]) if c.id not in tried_ids]
        if isinstance(error, ContextWindowExceededError):
            if not s.on_context_window:
                return []
            window = failed.context_window if failed else 0
            return self._order([c for c in pool if c.context_window > window], failed, demote=False)
        if isinstance(error, ContentPolicyError | AuthenticationError):
            allowed = s.on_content_policy if isinstance(error, ContentPolicyError) else s.on_auth_error
            if not allowed:
                return []
            others = [c for c in pool if c.provider != failed_provider]
            if isinstance(error, ContentPolicyError) and failed is not None:
                # The same model behind another gateway would most likely refuse again: try other models first.
                name = equivalence_name(failed)
                others = [c for c in others if equivalence_name(c) != name] + [
                    c for c in others if equivalence_name(c) == name
                ]
                return self._order(others, None, demote=False)
            return self._order(others, failed, demote=False)
        if isinstance(error, BadRequestError):
            return []
        if not (s.on_provider_error and (error.retryable or isinstance(error, CircuitOpenError | RateLimitError))):
            return []
        return self._order(pool, failed, demote=isinstance(error, _PROVIDER_DOWN))

    def _locals(self) -> tuple[ModelSpec, ...]:
        return self.local_models if self.settings.local else ()

    def _order(self, pool: list[ModelSpec], failed: ModelSpec | None, *, demote: bool) -> list[ModelSpec]:
        """Remote before local; the failed model elsewhere first; the failed provider last when it looks down."""
        remote = [c for c in pool if not self.is_local(c)]
        local = [c for c in pool if self.is_local(c)]
        if failed is not None and self.settings.prefer_other_provider:
            name = equivalence_name(failed)
            same = [c for c in remote if equivalence_name(c) == name and c.provider != failed.provider]
            rest = [c for c in remote if c not in same]
            if demote:
                rest = [c for c in rest if c.provider != failed.provider] + [
                    c for c in rest if c.provider == failed.provider
                ]
            remote = same + rest
        return remote + local


def _last_spec(
    tried: Sequence[ModelSpec | str], candidates: Sequence[ModelSpec], extra: Sequence[ModelSpec]
) -> ModelSpec | None:
    if not tried:
        return None
    last = tried[-1]
    if isinstance(last, ModelSpec):
        return last
    return next((c for c in (*candidates, *extra) if c.id == last), None)


def _dedupe(models: Iterable[ModelSpec]) -> list[ModelSpec]:
    seen: set[str] = set()
    out: list[ModelSpec] = []
    for m in models:
        if m.id not in seen:
            seen.add(m.id)
            out.append(m)
    return out
