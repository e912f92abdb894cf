"""Which model orchestrates a workflow when none is named: the configured orchestrator when its provider has a key,
else, as routing does, the models whose keys are present: the best of them that costs no more than the configured one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import NoCandidateError
from podium.core.model_spec import ModelSpec
from podium.engine.candidates import reachable_models
from podium.engine.providers import ProviderPool


@dataclass(frozen=True, slots=True)
class OrchestratorChoice:
    model: str
    note: str | None = None  # why another model than the configured one plans (None: the configured one)


def choose_orchestrator(
    config: PodiumConfig,
    catalog: Catalog,
    env: Mapping[str, str],
    *,
    clock: Clock = SYSTEM_CLOCK,
    flag: str = "--orchestrator",
) -> OrchestratorChoice:
    """The configured orchestrator when it can be called; else the reachable stand-in, with a note saying why and
    naming ``flag`` (the command's option that picks another). With no key at all it stays the configured one: its
    call then names the variable to set."""
    configured = catalog.get(catalog.resolve(config.orchestration.orchestrator.model))
    pool = ProviderPool(config.providers, env=env, clock=clock, replay=config.mode == "replay")
    if pool.can_serve(configured):
        return OrchestratorChoice(configured.id)
    try:
        reachable = [m for m in map(catalog.get, reachable_models(catalog, pool)) if m.quality is not None]
    except NoCandidateError:  # no key at all: the configured orchestrator's call names the variable to set
        reachable = []
    if not reachable:
        return OrchestratorChoice(configured.id)
    key = config.orchestration.orchestrator.api_key_env
    affordable = [m for m in reachable if _price(m) <= _price(configured)] or reachable
    best = max(affordable, key=lambda m: (m.quality.overall.score if m.quality else 0, -_price(m)))
    return OrchestratorChoice(
        best.id, f"orchestrator: {best.id}, since {configured.id} needs {key}, which is not set "
                 f"(choose another with {flag})")  # fmt: skip


def _price(spec: ModelSpec) -> Decimal:
    return spec.output_per_million if spec.output_per_million is not None else Decimal("Infinity")
