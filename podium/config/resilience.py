"""Settings for the resilience layer: retries, rate limits, circuit breakers, response cache, fallbacks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium.core.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrySettings(_Frozen):
    """Exponential backoff with jitter on 429, 5xx, timeouts, connection errors and malformed answers."""

    max_attempts: int = Field(default=3, ge=1, le=20, description="attempts per model, the first one included")
    base_delay: float = Field(default=0.5, ge=0, description="seconds before the first retry, doubled each retry")
    max_delay: float = Field(default=20.0, gt=0, description="ceiling of one backoff delay in seconds")
    jitter: float = Field(
        default=0.5, ge=0, le=1, description="fraction of each delay drawn at random (1 = full jitter)"
    )
    retry_budget: float = Field(
        default=30.0, ge=0, description="most seconds one call may spend waiting between retries, Retry-After included"
    )

    @model_validator(mode="after")
    def _delays_ordered(self) -> RetrySettings:
        if self.base_delay > self.max_delay:
            raise ConfigError(
                f"retry.base_delay {self.base_delay} is larger than retry.max_delay {self.max_delay}; "
                "use a base_delay no larger than max_delay",
                field="retry.base_delay",
                value=self.base_delay,
            )
        return self


class RateLimit(_Frozen):
    """Requests and tokens per minute for one model or provider. None = no limit of that kind."""

    rpm: int | None = Field(default=None, gt=0, description="requests per minute")
    tpm: int | None = Field(default=None, gt=0, description="tokens per minute (prompt estimate + max_tokens)")


class BreakerSettings(_Frozen):
    """Per provider+model circuit breaker with LiteLLM's cooldown semantics as the baseline."""

    enabled: bool = True
    failure_threshold: int = Field(default=5, ge=1, description="failures within window_s that open the breaker")
    window_s: float = Field(default=60.0, gt=0, description="sliding window over which failures are counted")
    failure_rate: float = Field(default=0.5, gt=0, le=1, description="open when more than this share of calls fail")
    min_calls: int = Field(default=5, ge=1, description="calls in the window before failure_rate applies")
    cooldown_s: float = Field(default=5.0, gt=0, description="seconds open before a half-open probe")
    half_open_probes: int = Field(default=1, ge=1, description="concurrent probe calls allowed while half-open")
    open_on_rate_limit: bool = Field(default=True, description="an upstream 429 cools the model down at once")


class CacheSettings(_Frozen):
    """Exact-match response cache. Off unless enabled: identical prompts then return the stored answer for $0."""

    enabled: bool = False
    url: str | None = Field(
        default=None,
        description="sqlite:///path or a file path (default $PODIUM_HOME/cache.db); redis://host:port/db to share "
        "one cache across replicas",
    )
    ttl_s: float | None = Field(default=86400.0, gt=0, description="seconds an answer stays valid; None = forever")
    single_flight: bool = Field(default=True, description="concurrent identical requests share one upstream call")
    stream_chunk_chars: int = Field(default=64, ge=1, description="size of the chunks a cached answer is streamed in")

    @field_validator("url")
    @classmethod
    def _sqlite_only(cls, value: str | None) -> str | None:
        if value is not None and "://" in value and not value.startswith(("sqlite:///", "redis://", "rediss://")):
            raise ConfigError(
                f"cache.url {value!r} is not supported; use sqlite:///path/to/cache.db, a plain file path, "
                "or redis://host:port/db",
                field="cache.url",
                value=value,
                valid="sqlite:///<path> | redis://<host>:<port>/<db>",
            )
        return value


class FallbackSettings(_Frozen):
    """Which failures move a call to another model."""

    enabled: bool = True
    on_provider_error: bool = Field(default=True, description="429/5xx/timeouts/open breaker: next acceptable model")
    on_context_window: bool = Field(default=True, description="prompt too long: a model with a larger window")
    on_content_policy: bool = Field(default=True, description="refusal: a model of another provider")
    on_auth_error: bool = Field(
        default=False,
        description="a rejected key (401/403): try a model of another provider; off by default, so a bad key is "
        "reported instead of being paid around at another provider's price",
    )
    prefer_other_provider: bool = Field(default=True, description="provider down: the same model elsewhere first")
    models: tuple[str, ...] = Field(
        default=(),
        description="models a call that names its model moves to, in order, when that model fails (alias: "
        "orchestration.fallback_strategy.models); none by default, so a call never lands on a model nobody chose",
    )
    local: bool = Field(default=True, description="when every remote provider fails, use the local_models")
    local_models: tuple[str, ...] = Field(
        default=(),
        description="local models (e.g. ollama:llama3.2) tried, in order, when every remote model failed; "
        "none by default: a call never lands on a local server nobody configured",
    )


class ResilienceSettings(_Frozen):
    """The ``resilience:`` section of podium.yaml."""

    retry: RetrySettings = Field(default_factory=RetrySettings)
    rate_limits: dict[str, RateLimit] = Field(
        default_factory=dict,
        description='keyed by provider ("groq") or model id ("groq:llama-3.1-8b-instant"); overrides catalog defaults',
    )
    rate_limiting: bool = Field(default=True, description="apply rate limits at all")
    max_wait_s: float = Field(default=30.0, ge=0, description="longest a call waits for a rate-limit slot")
    fail_fast: bool = Field(default=False, description="raise RateLimitError(source='podium') instead of waiting")
    limiter_backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = Field(default=None, description="redis://host:port/db for limiter_backend: redis")
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    fallback: FallbackSettings = Field(default_factory=FallbackSettings)
    total_timeout_s: float | None = Field(
        default=None, gt=0, description="bound on one attempt, rate-limit wait included; providers time out too"
    )

    @field_validator("rate_limits")
    @classmethod
    def _keys_named(cls, value: dict[str, RateLimit]) -> dict[str, RateLimit]:
        for key in value:
            if not key.strip() or key.startswith(":") or key.endswith(":"):
                raise ConfigError(
                    f"rate_limits key {key!r} is not valid; use a provider name such as 'groq' "
                    "or a model id such as 'groq:llama-3.1-8b-instant'",
                    field="rate_limits",
                    value=key,
                )
        return value

    @model_validator(mode="after")
    def _redis_needs_url(self) -> ResilienceSettings:
        if self.limiter_backend == "redis" and not self.redis_url:
            raise ConfigError(
                "limiter_backend is 'redis' but redis_url is not set; set redis_url: redis://127.0.0.1:6379/0",
                field="redis_url",
                value=None,
            )
        return self
