"""Configuration: podium.yaml plus PODIUM_* overrides, validated into one immutable PodiumConfig."""

from podium.config.env_overrides import NAMED_OVERRIDES, EnvOverride, collect_env_overrides
from podium.config.orchestration import (
    USE_CASES,
    CostTrackingConfig,
    ExecutorConfig,
    FallbackStrategyConfig,
    OrchestrationConfig,
    OrchestratorConfig,
    canonical_provider,
)
from podium.config.providers import DEFAULT_PROVIDERS, PROVIDER_ALIASES, ProviderSettings
from podium.config.root import (
    CONFIG_ENV_VAR,
    LoadedConfig,
    PodiumConfig,
    create_default_config,
    default_config_text,
    find_config_file,
    load_config,
    search_path,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_PROVIDERS",
    "NAMED_OVERRIDES",
    "PROVIDER_ALIASES",
    "USE_CASES",
    "CostTrackingConfig",
    "EnvOverride",
    "ExecutorConfig",
    "FallbackStrategyConfig",
    "LoadedConfig",
    "OrchestrationConfig",
    "OrchestratorConfig",
    "PodiumConfig",
    "ProviderSettings",
    "canonical_provider",
    "collect_env_overrides",
    "create_default_config",
    "default_config_text",
    "find_config_file",
    "load_config",
    "search_path",
]
