"""The project's provider policy: which models its tasks may be routed to, and whether the planner is allowed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import PolicyViolationError
from podium.core.model_spec import ModelSpec
from podium.engine.providers import ProviderPool
from podium.policy import PolicySet
from podium.workflows.project.spec import ProjectPolicy

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.config import PodiumConfig


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """Candidates for routing (None = the engine's default set) and warnings a soft policy gave instead of errors."""

    candidates: tuple[str, ...] | None
    warnings: tuple[str, ...] = field(default=())


def routing_candidates(
    policy: ProjectPolicy,
    *,
    config: PodiumConfig,
    catalog: Catalog,
    env: Mapping[str, str] | None,
    clock: Clock = SYSTEM_CLOCK,
) -> PolicyDecision:
    """The models tasks may use: the configured candidates (or every reachable remote model) of allowed providers."""
    allowed = policy.allowed_providers
    if not allowed:
        return PolicyDecision(None)
    unknown = [p for p in allowed if p not in config.providers]
    if unknown:
        return _violation(
            policy,
            f"policy.allowed_providers names unknown provider {unknown[0]!r}; known: {', '.join(sorted(config.providers))}",
        )
    base = reachable_models(config=config, catalog=catalog, env=env, clock=clock)
    chosen = tuple(m.id for m in base if m.provider in allowed)
    if not chosen:
        return _violation(
            policy,
            f"policy.allowed_providers ({', '.join(allowed)}) leaves no usable model: set a key for one of them "
            "or allow another provider",
        )
    return PolicyDecision(chosen)


def reachable_models(
    *, config: PodiumConfig, catalog: Catalog, env: Mapping[str, str] | None, clock: Clock = SYSTEM_CLOCK
) -> list[ModelSpec]:
    """The configured candidates, else every current remote model whose provider has a key."""
    if config.routing.candidates is not None:
        return [catalog.get(m) for m in config.routing.candidates]
    pool = ProviderPool(config.providers, env=env, clock=clock, replay=config.mode == "replay")
    return [m for m in catalog.all() if m.current and not pool.is_local(m) and pool.can_serve(m)]


def check_rules(policy: ProjectPolicy, candidates: Sequence[ModelSpec], planner: ModelSpec | None) -> PolicyDecision:
    """The control-plane check of the policy file's rules, before anything is sent: the candidates they allow, and
    the planner. A hard rule that leaves no model, or that denies the planner, raises PolicyViolationError."""
    rules = PolicySet(policy.rules)
    if not len(rules):
        return PolicyDecision(tuple(m.id for m in candidates))
    if planner is not None:
        rules.check(planner)
    allowed, denied = rules.partition(candidates)
    if not allowed:
        first = next(iter(denied.values()), [None])[0]
        why = f": {first}" if first is not None else ""
        raise PolicyViolationError(
            f"the project's policy leaves no usable model{why}; nothing was sent. Relax the policy file "
            f"({policy.file or 'policy.rules'}) or set a key for a provider it allows",
            field="policy.rules",
        )
    return PolicyDecision(tuple(m.id for m in allowed))


def check_planner(policy: ProjectPolicy, model: ModelSpec) -> tuple[str, ...]:
    """Raise (hard) or warn (soft) when the orchestrator model's provider is not allowed."""
    allowed = policy.allowed_providers
    if not allowed or model.provider in allowed:
        return ()
    message = (
        f"the orchestrator model {model.id} is from provider {model.provider!r}, which policy.allowed_providers "
        f"({', '.join(allowed)}) does not allow; pass --orchestrator-model with an allowed provider's model"
    )
    return _violation(policy, message).warnings


def _violation(policy: ProjectPolicy, message: str) -> PolicyDecision:
    if policy.enforcement_mode == "hard":
        raise PolicyViolationError(message, field="policy.allowed_providers")
    return PolicyDecision(None, (f"{message} (soft policy: continuing without the restriction)",))
