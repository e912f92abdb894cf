"""The ``orchestration:`` section, accepting the orchestration tool's schema as users already write it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from podium.config.ledger import Money
from podium.config.providers import PROVIDER_ALIASES
from podium.core.errors import ValidationError

# Order is the orchestration tool's, and error messages list them in this order.
USE_CASES: tuple[str, ...] = ("simple", "moderate", "complex", "expert", "speed-critical", "reasoning")


def canonical_provider(name: str) -> str:
    """The provider's registered name for a spelling users type (``google-ai-studio`` -> ``gemini``)."""
    key = name.strip().lower()
    return PROVIDER_ALIASES.get(key, key)


def check_use_case(value: str) -> str:
    """Return ``value`` if it is one of the six use cases, else raise naming it and listing the six."""
    if value not in USE_CASES:
        raise ValidationError(
            f"unknown use case {value!r}; valid use cases: {', '.join(USE_CASES)}",
            field="use_cases",
            value=value,
            valid=list(USE_CASES),
        )
    return value


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrchestratorConfig(_Section):
    """The planning and validation model."""

    model: str = "claude-sonnet-4.5"
    api_key_env: str = "ANTHROPIC_API_KEY"


class ExecutorConfig(_Section):
    """A model that does bulk work for the listed use cases."""

    model: str
    provider: str
    api_key_env: str
    use_cases: tuple[str, ...]

    @field_validator("provider")
    @classmethod
    def _canonical(cls, value: str) -> str:
        return canonical_provider(value)

    @field_validator("use_cases", mode="before")
    @classmethod
    def _use_cases(cls, value: object) -> object:
        if isinstance(value, str):  # `use_cases: simple` is a common slip for a one-item list
            value = [value]
        if isinstance(value, (list, tuple)):
            bad = [v for v in value if not isinstance(v, str) or v not in USE_CASES]
            if bad:
                raise ValidationError(
                    f"unknown use case{'s' if len(bad) > 1 else ''} {', '.join(repr(b) for b in bad)}; "
                    f"valid use cases: {', '.join(USE_CASES)}",
                    field="use_cases",
                    value=bad,
                    valid=list(USE_CASES),
                )
        return value

    @property
    def model_id(self) -> str:
        """The Podium model id, ``provider:model``."""
        return f"{self.provider}:{self.model}"


def _seed_executors() -> tuple[ExecutorConfig, ...]:
    return (
        ExecutorConfig(
            model="gemini-2.5-pro", provider="gemini", api_key_env="GOOGLE_API_KEY", use_cases=("moderate", "complex")
        ),
        ExecutorConfig(
            model="llama-3.3-70b-versatile",
            provider="groq",
            api_key_env="GROQ_API_KEY",
            use_cases=("simple", "speed-critical"),
        ),
        ExecutorConfig(
            model="deepseek/deepseek-r1:free",
            provider="openrouter",
            api_key_env="OPENROUTER_API_KEY",
            use_cases=("complex", "reasoning"),
        ),
    )


class FallbackStrategyConfig(_Section):
    """Models to try in order when the chosen one fails."""

    models: tuple[str, ...] = ("gemini-2.5-pro", "llama-3.3-70b-versatile", "claude-sonnet-4.5")


class CostTrackingConfig(_Section):
    enabled: bool = True
    budget_limit_usd: Money = Field(default=Decimal("100.0"), ge=0)
    alert_threshold: Fraction = 0.8


class OrchestrationConfig(_Section):
    """The ``orchestration:`` block: an orchestrator, executors by use case, fallbacks, cost tracking.

    The orchestrator/executor workflow (podium.workflows) reads this section. Its routing, fallback and budget keys
    are aliases that podium.config.aliases folds into ``routing:``, ``resilience.fallback`` and ``ledger.budgets``
    when the config loads; the engine reads only those.
    """

    enabled: bool = True
    prefer_free_models: bool = True
    quality_threshold: Fraction = 0.85
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig)
    executors: tuple[ExecutorConfig, ...] = Field(default_factory=_seed_executors)
    fallback_strategy: FallbackStrategyConfig = Field(default_factory=FallbackStrategyConfig)
    cost_tracking: CostTrackingConfig = Field(default_factory=CostTrackingConfig)

    def get_executor_for_use_case(self, use_case: str) -> ExecutorConfig | None:
        """The first executor listed for ``use_case``, or None when none handles it."""
        check_use_case(use_case)
        return next((e for e in self.executors if use_case in e.use_cases), None)

    def get_api_key(self, env_name: str, env: Mapping[str, str] | None = None) -> str | None:
        """The value of the environment variable ``env_name`` (from ``env``, default the process environment)."""
        value = (os.environ if env is None else env).get(env_name)
        return value or None
