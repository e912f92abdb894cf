"""Builds and caches one provider adapter per provider name, sharing one HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from podium.config.providers import DEFAULT_PROVIDERS, PROVIDER_ALIASES, ProviderSettings
from podium.core.clock import Clock
from podium.core.errors import ConfigError, MissingAPIKeyError, ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.provider import Provider
from podium.providers.keys import resolve_api_key

if TYPE_CHECKING:
    import httpx

    from podium.providers.registry import ProviderRegistry


class ProviderPool:
    """Lazily builds providers by name; in replay mode every model is served by the replay provider."""

    def __init__(
        self,
        settings: Mapping[str, ProviderSettings] | None = None,
        *,
        registry: ProviderRegistry | None = None,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock,
        replay: bool = False,
    ) -> None:
        if registry is None:
            from podium.providers.registry import default_registry

            registry = default_registry()
        self._settings = dict(settings or DEFAULT_PROVIDERS)
        self._registry = registry
        self._http = http_client
        self._env = env
        self._clock = clock
        self._replay = replay
        self._built: dict[str, Provider] = {}
        self._keyed: set[str] = set()  # providers whose key was found; adapters keep a found key too

    @property
    def replay(self) -> bool:
        return self._replay

    def settings_for(self, name: str) -> ProviderSettings:
        name = PROVIDER_ALIASES.get(name, name)
        try:
            return self._settings[name]
        except KeyError:
            raise ValidationError(
                f"no provider named {name!r} is configured; known providers: {', '.join(sorted(self._settings))}. "
                "Add it under `providers:` in podium.yaml",
                field="provider",
                value=name,
                valid=sorted(self._settings),
            ) from None

    def is_local(self, spec: ModelSpec) -> bool:
        return spec.provider in self._settings and self._settings[spec.provider].local

    def has_disabled(self) -> bool:
        """Whether any configured provider has ``enabled: false``."""
        return any(not p.enabled for p in self._settings.values())

    def is_enabled(self, spec: ModelSpec) -> bool:
        """False when ``providers.<name>.enabled`` is false for the model's provider."""
        settings = self._settings.get(PROVIDER_ALIASES.get(spec.provider, spec.provider))
        return settings is None or settings.enabled

    def check_enabled(self, spec: ModelSpec) -> None:
        """Raise one line naming the setting when the model's provider is disabled."""
        if not self.is_enabled(spec):
            name = PROVIDER_ALIASES.get(spec.provider, spec.provider)
            raise ConfigError(
                f"provider {name!r} is disabled (providers.{name}.enabled = false); set it to true to call {spec.id}",
                field=f"providers.{name}.enabled",
                value=False,
                valid=[True],
            )

    def can_serve(self, spec: ModelSpec) -> bool:
        """Whether a call to ``spec`` could be sent: its provider is configured and enabled, and its key is set."""
        if not self.is_enabled(spec):
            return False
        if self._replay:
            return True
        name = PROVIDER_ALIASES.get(spec.provider, spec.provider)
        settings = self._settings.get(name)
        if settings is None:
            return False
        if settings.api_key_env is None or name in self._keyed:
            return True
        try:
            resolve_api_key(name, settings.api_key_env, env=self._env)  # may read ./.env: remember a hit
        except MissingAPIKeyError:
            return False
        self._keyed.add(name)
        return True

    def for_model(self, spec: ModelSpec) -> Provider:
        self.check_enabled(spec)
        name = "replay" if self._replay else spec.provider
        provider = self._built.get(name)
        if provider is None:
            provider = self._registry.build(
                self.settings_for(name), http_client=self._http, env=self._env, clock=self._clock
            )
            self._built[name] = provider
        return provider

    async def aclose(self) -> None:
        """Close every built provider, even when one fails to close; then raise the first failure."""
        providers, self._built = list(self._built.values()), {}
        first: Exception | None = None
        for provider in providers:
            try:
                await provider.aclose()
            except Exception as exc:  # noqa: BLE001 - every provider is closed; the first failure is re-raised
                first = first or exc
        if first is not None:
            raise first
