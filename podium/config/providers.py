"""Provider settings: wire protocol, base URL, which environment variable holds the key, timeouts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WireKind = Literal["openai", "anthropic", "gemini", "replay"]


class ProviderSettings(BaseModel):
    """How to reach one provider. The key itself is never stored here: only the variable that holds it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: WireKind = "openai"
    base_url: str | None = None
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key; None = no key")
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    total_timeout: float = Field(default=600.0, gt=0)
    stream_idle_timeout: float = Field(default=60.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # may carry credentials: kept out of reprs
    local: bool = False  # a server on this machine or network (Ollama, vLLM, llama.cpp)
    # false: none of the provider's models is a routing candidate, fallback or executor, and a call naming one
    # fails with one line naming this setting (OPENROUTER_ENABLED sets it for openrouter)
    enabled: bool = True


def _p(name: str, kind: WireKind, base_url: str, key: str | None, local: bool = False) -> ProviderSettings:
    return ProviderSettings(name=name, kind=kind, base_url=base_url, api_key_env=key, local=local)


DEFAULT_PROVIDERS: dict[str, ProviderSettings] = {
    p.name: p
    for p in (
        _p("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        _p("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY"),
        _p("gemini", "gemini", "https://generativelanguage.googleapis.com", "GOOGLE_API_KEY"),
        _p("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        _p("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        _p("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        _p("together", "openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
        _p("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        _p("moonshot", "openai", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY"),
        _p("ollama", "openai", "http://localhost:11434/v1", None, local=True),
        _p("vllm", "openai", "http://localhost:8000/v1", None, local=True),
        _p("llamacpp", "openai", "http://localhost:8080/v1", None, local=True),
        ProviderSettings(name="replay", kind="replay"),
    )
}

# The variable each provider's official SDK reads its base URL from; podium.yaml's base_url wins over it.
_SDK_BASE_URL_VARS: dict[str, str] = {"openai": "OPENAI_BASE_URL"}


def sdk_base_urls() -> dict[str, str]:
    """Provider name -> the environment variable its official SDK takes a base URL from."""
    return dict(_SDK_BASE_URL_VARS)


# Names users type for the same provider (orchestration files say "google-ai-studio").
PROVIDER_ALIASES: dict[str, str] = {
    "google": "gemini",
    "google-ai-studio": "gemini",
    "googleai": "gemini",
    "claude": "anthropic",
    "llama.cpp": "llamacpp",
    "llama-cpp": "llamacpp",
    "kimi": "moonshot",
}
