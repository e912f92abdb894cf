"""Builds a Podium client from a PodiumConfig: catalog, providers, and the per-attempt middleware chain.

Telemetry: the metrics server starts with the client (when ``telemetry.metrics_enabled``) and the configured
exporters run when it closes, whoever built the Telemetry.

Chain order, outermost first: retry -> ledger (one row per attempt, budgets) -> tracing -> metrics -> cache ->
circuit breaker -> rate limit -> total timeout -> provider (each layer only when enabled). Retry sits outside the
ledger so every attempt is recorded once; tracing and metrics sit inside it so each attempt gets its own span and
sample; the cache sits inside the ledger so hits are recorded at $0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from podium.config.aliases import key_of
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ConfigError
from podium.core.events import EventSink, discard
from podium.engine.providers import ProviderPool

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from podium.catalog import Catalog
    from podium.config import PodiumConfig
    from podium.core.model_spec import ModelSpec
    from podium.core.pipeline import Middleware
    from podium.policy import PolicyHierarchy
    from podium.providers.registry import ProviderRegistry
    from podium.routing.learned_router import QualityRouter
    from podium.telemetry import Telemetry


class ClientOptions(TypedDict, total=False):
    """The keyword options of ``build_client`` (and so of ``Podium.from_config`` and ``SyncPodium``)."""

    env: Mapping[str, str] | None
    http_client: httpx.AsyncClient | None
    clock: Clock | None
    home: Path | None
    catalog: Catalog | None
    registry: ProviderRegistry | None
    emit: EventSink | None
    layers: bool
    telemetry: Telemetry | None
    policies: PolicyHierarchy | None


_Client = TypeVar("_Client")


def build_client(
    cls: type[_Client],
    config: PodiumConfig | None = None,
    *,
    env: Mapping[str, str] | None = None,
    http_client: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
    home: Path | None = None,
    catalog: Catalog | None = None,
    registry: ProviderRegistry | None = None,
    emit: EventSink | None = None,
    layers: bool = True,
    telemetry: Telemetry | None = None,
    policies: PolicyHierarchy | None = None,
) -> _Client:
    """Build a client; ``layers=False`` leaves out ledger, resilience and telemetry (a bare provider pipeline).

    ``policies`` (a PolicyHierarchy) replaces the config's ``policy:`` section.
    """
    from podium.catalog import Catalog
    from podium.catalog.store import podium_home

    env = os.environ if env is None else env
    if config is None:
        from podium.config.root import load_config

        config = load_config(env=env).config
    clock = SYSTEM_CLOCK if clock is None else clock
    home = podium_home(env) if home is None else home
    if catalog is None:  # not ``or``: an injected empty Catalog is falsy (len 0) and must still be used
        catalog = Catalog.default(home).with_overrides(config.models)
    pool = ProviderPool(
        config.providers, registry=registry, http_client=http_client, env=env, clock=clock, replay=config.mode == "replay"
    )
    # Checked before the layers are built, so a config error leaves no metrics server or ledger open (and a typo
    # fails at start-up, not on every call).
    fallback = config.resilience.fallback
    fallback_models = _known_models(fallback.models, key_of(config, "resilience.fallback.models"), catalog)
    local_models = _known_models(fallback.local_models, "resilience.fallback.local_models", catalog)
    policies = _policies(config) if policies is None else policies
    layered = (
        _Layers(config, clock=clock, home=home, local_models=[catalog.get(m) for m in local_models], emit=emit,
                telemetry=telemetry)
        if layers else None
    )
    return cls(
        catalog=catalog,
        providers=pool,
        clock=clock,
        middlewares=layered.middlewares if layered else (),
        fallback=layered.fallback if layered else None,
        fallback_models=fallback_models,
        default_model=config.default_model,
        routing_settings=config.routing,
        router_loader=lambda: _router_loader(catalog),
        emit=layered.emit if layered else (emit or discard),
        closers=layered.closers if layered else (),
        policies=policies,
    )


def _known_models(names: Sequence[str], key: str, catalog: Catalog) -> tuple[str, ...]:
    for i, name in enumerate(names):
        if name not in catalog:
            raise ConfigError(
                f"{key}[{i}] = {name!r} is not a known model; "
                f"{', '.join(catalog.suggest(name)) or 'run `podium models` to list models'}",
                field=f"{key}[{i}]",
                value=name,
            )
    return tuple(catalog.get(name).id for name in names)


def _policies(config: PodiumConfig) -> PolicyHierarchy | None:
    """The ``policy:`` section (and its ``file:``, read once here so a bad file fails at start-up)."""
    from podium.policy import PolicyHierarchy

    return PolicyHierarchy.from_settings(config.policy) or None


def _router_loader(catalog: Catalog) -> QualityRouter:
    """The learned router rating models by this client's catalog, so configured profiles and models count."""
    from podium.routing.learned_router import default_router

    return default_router().with_catalog(catalog)


class _Layers:
    """Telemetry, resilience and ledger built from config and ordered into one middleware chain."""

    def __init__(
        self,
        config: PodiumConfig,
        *,
        clock: Clock,
        home: Path,
        local_models: list[ModelSpec],
        emit: EventSink | None,
        telemetry: Telemetry | None,
    ) -> None:
        from podium.ledger.middleware import build_ledger_middleware, close_ledger
        from podium.resilience.stack import build_resilience
        from podium.telemetry import Telemetry

        owns_telemetry = telemetry is None
        self.telemetry = Telemetry(config.telemetry, clock=clock) if owns_telemetry else telemetry
        if emit is not None:
            self.telemetry.bus.add_sink(emit)
        self.emit: EventSink = self.telemetry.bus
        local = [name for name, p in config.providers.items() if p.local]
        stack = build_resilience(
            config.resilience,
            clock=clock,
            emit=self.emit,
            home=home,
            local_providers=local,
            local_models=local_models,
        )
        ledger_mw, ledger = build_ledger_middleware(config.ledger, home=home, clock=clock, emit=self.emit)
        self.ledger = ledger
        self.fallback = stack.fallback
        self.middlewares: list[Middleware] = [
            *stack.middlewares_outer,
            *([ledger_mw] if ledger_mw is not None else []),
            *self.telemetry.middlewares(),
            *stack.middlewares_inner,
        ]
        # Every entry point (library, ask, testgen, project, serve) comes through here: this is where /metrics is
        # served (unless the gateway mounts it) and where the configured exporters run when the client closes.
        self.telemetry.begin_run()

        async def close() -> None:
            try:
                await stack.aclose()
                if ledger is not None:
                    await close_ledger(ledger)
            finally:
                self.telemetry.end_run()
                if owns_telemetry:  # a shared, injected telemetry is its owner's to shut down
                    self.telemetry.shutdown()

        self.closers = [close]
