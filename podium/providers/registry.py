"""One registry maps a wire kind to the factory that builds its Provider; plugins register the same way."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from podium.config.providers import ProviderSettings
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ConfigError, ValidationError
from podium.core.provider import Provider

if TYPE_CHECKING:
    import httpx


class ProviderFactory(Protocol):
    def __call__(
        self,
        settings: ProviderSettings,
        *,
        http_client: httpx.AsyncClient | None,
        env: Mapping[str, str] | None,
        clock: Clock,
    ) -> Provider: ...


class _LazyFactory:
    """A factory named by ``"module:attr.attr"``, imported on first use so unused kinds cost nothing."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __call__(self, settings: ProviderSettings, **kw: Any) -> Provider:
        module_name, _, attr_path = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for attr in attr_path.split("."):
                obj = getattr(obj, attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"provider kind {settings.kind!r} (provider {settings.name!r}) is not available: "
                f"cannot load {self.target} ({exc}); reinstall podium or remove this provider from podium.yaml",
                field="kind",
                value=settings.kind,
            ) from exc
        return obj(settings, **kw)

    def __repr__(self) -> str:
        return f"_LazyFactory({self.target!r})"


class ProviderRegistry:
    """Maps a wire kind (``openai``, ``anthropic``, ``gemini``, ``replay``, or a plugin's) to a factory."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[..., Provider]] = {}

    def register(self, kind: str, factory: Callable[..., Provider] | str, *, replace: bool = False) -> None:
        """Add a factory, or a ``"module:attr"`` path imported lazily. Re-registering needs ``replace=True``."""
        if kind in self._factories and not replace:
            raise ValidationError(
                f"provider kind {kind!r} is already registered; pass replace=True to override it",
                field="kind",
                value=kind,
            )
        self._factories[kind] = _LazyFactory(factory) if isinstance(factory, str) else factory

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._factories))

    def __contains__(self, kind: object) -> bool:
        return kind in self._factories

    def build(
        self,
        settings: ProviderSettings,
        *,
        http_client: httpx.AsyncClient | None = None,
        env: Mapping[str, str] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> Provider:
        """The Provider for ``settings.kind``; an unknown kind raises ValidationError listing the valid ones."""
        factory = self._factories.get(settings.kind)
        if factory is None:
            raise ValidationError(
                f"provider {settings.name!r} has unknown kind {settings.kind!r}; use one of {', '.join(self.kinds)}",
                field="kind",
                value=settings.kind,
                valid=list(self.kinds),
            )
        return factory(settings, http_client=http_client, env=env, clock=clock)


def default_registry() -> ProviderRegistry:
    """A fresh registry with the built-in kinds; replay is imported only when a replay provider is built."""
    registry = ProviderRegistry()
    registry.register("openai", "podium.providers.openai_http:OpenAIProvider.from_settings")
    registry.register("anthropic", "podium.providers.anthropic_http:AnthropicProvider.from_settings")
    registry.register("gemini", "podium.providers.gemini_http:GeminiProvider.from_settings")
    registry.register("replay", "podium.providers.replay:ReplayProvider.from_settings")
    return registry
