"""Compatible and legacy spellings folded into one canonical key per concept, when the config loads.

Runtime code reads only the canonical keys. An alias counts when the user set it (file, variable or code: it is
in its section's ``model_fields_set``); the built-in defaults of the seed-compatible ``orchestration:`` section
change nothing, except ``cost_tracking``, whose default monthly budget has always applied. When an alias and its
canonical key are both set to different values, loading fails naming both.

=======================================  ===============================================  ==========================
alias                                    canonical key                                    applies when
=======================================  ===============================================  ==========================
orchestration.quality_threshold          routing.quality_threshold                        set
orchestration.prefer_free_models         routing.prefer_free_models                       set, orchestration enabled
orchestration.executors                  routing.executors                                set, orchestration enabled
orchestration.fallback_strategy.models   resilience.fallback.models                       set, orchestration enabled
ledger.daily_budget_usd                  ledger.budgets {scope: global, period: day}      set
orchestration.cost_tracking              ledger.budgets {scope: global, period: month}    cost_tracking.enabled
server.keys[i].budget_usd                ledger.budgets {scope: key, id, period}          set (needs ledger.enabled)
=======================================  ===============================================  ==========================

Overrides of one canonical key for one strategy (podium.config.cost_preference): ``routing.cost_weight`` (auto),
``routing.weights.w_cost`` (weighted selection) and ``routing.cascade_cost_weight`` (learned cascade) each replace the
weight its strategy derives from ``routing.cost_preference``; set together with ``cost_preference`` to another value
than it gives, loading fails naming both.

Not aliases (distinct concepts, documented on their sections): the gate thresholds (``RoutingSettings``),
``routing.chains``/``chain`` (the cascade's model orders) against ``resilience.fallback.models`` (where a failed
explicit call goes) and task-table ``fallbacks`` (the table strategy's per-task order), and
``resilience.rate_limits`` (the limits) against ``rate_limiting`` (their on/off switch).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel

from podium.config.cost_preference import COST_PREFERENCE_KEY, conflict_message
from podium.config.ledger import BudgetSettings, LedgerSettings
from podium.config.orchestration import OrchestrationConfig
from podium.config.resilience import ResilienceSettings
from podium.config.routing import RoutingSettings
from podium.config.server import ServerSettings

# Aliases that apply only when set: at their built-in default they change nothing (``podium config check``).
ALIASES_WHEN_SET: dict[str, str] = {
    "orchestration.quality_threshold": "routing.quality_threshold",
    "orchestration.prefer_free_models": "routing.prefer_free_models",
    "orchestration.executors": "routing.executors",
    "orchestration.fallback_strategy.models": "resilience.fallback.models",
}
DAILY = "ledger.daily_budget_usd"
MONTHLY = "orchestration.cost_tracking"
_DAILY_TARGET = "ledger.budgets {scope: global, period: day}"
_MONTHLY_TARGET = "ledger.budgets {scope: global, period: month}"


@dataclass(frozen=True, slots=True)
class AliasUse:
    """One alias the configuration used: its key, the canonical key it maps to, and the value it gave. An
    ``override`` replaces what the canonical key gives one strategy, and leaves the canonical key as it is."""

    alias: str
    canonical: str
    value: str
    kind: Literal["alias", "override"] = "alias"

    def line(self) -> str:
        return f"{self.alias} -> {self.canonical} ({self.value})"


class _HasSections(Protocol):
    def aliases_used(self) -> tuple[AliasUse, ...]: ...


@dataclass(frozen=True, slots=True)
class CanonicalSections:
    """The sections runtime code reads, with every alias folded in, and the aliases that were used."""

    routing: RoutingSettings
    resilience: ResilienceSettings
    ledger: LedgerSettings
    uses: tuple[AliasUse, ...]


def canonical_sections(
    orchestration: OrchestrationConfig,
    routing: RoutingSettings,
    resilience: ResilienceSettings,
    ledger: LedgerSettings,
    server: ServerSettings,
) -> CanonicalSections:
    """Fold the aliases into their canonical keys; ValueError naming both keys when the two disagree."""
    uses: list[AliasUse] = []
    chosen = orchestration.model_fields_set
    enabled = orchestration.enabled
    routing_update: dict[str, object] = {}
    for name, applies in (("quality_threshold", True), ("prefer_free_models", enabled), ("executors", enabled)):
        if name in chosen and applies:
            alias = f"orchestration.{name}"
            canonical = ALIASES_WHEN_SET[alias].removeprefix("routing.")
            value = getattr(orchestration, name)
            _agree(alias, value, ALIASES_WHEN_SET[alias], routing, canonical)
            routing_update[canonical] = value
            uses.append(AliasUse(alias, ALIASES_WHEN_SET[alias], _show(value)))
    if routing_update:
        spelled = {name: f"orchestration.{name}" for name in routing_update}
        routing = routing.model_copy(update=routing_update).spelled_as(spelled)
    if "fallback_strategy" in chosen and enabled:
        models = orchestration.fallback_strategy.models
        alias = "orchestration.fallback_strategy.models"
        _agree(alias, models, ALIASES_WHEN_SET[alias], resilience.fallback, "models")
        fallback = resilience.fallback.model_copy(update={"models": models})
        resilience = resilience.model_copy(update={"fallback": fallback})
        uses.append(AliasUse(alias, ALIASES_WHEN_SET[alias], _show(models)))
    uses += _cost_overrides(routing)
    ledger, budget_uses = _fold_budgets(orchestration, ledger)
    ledger, key_uses = fold_key_budgets(ledger, server)
    return CanonicalSections(routing, resilience, ledger, (*uses, *budget_uses, *key_uses))


def key_of(config: _HasSections, canonical: str) -> str:
    """The key the user wrote for ``canonical``: its alias when one set it, else ``canonical`` (for messages)."""
    return next((u.alias for u in config.aliases_used() if u.canonical == canonical), canonical)


def fold_key_budgets(ledger: LedgerSettings, server: ServerSettings) -> tuple[LedgerSettings, list[AliasUse]]:
    """``ledger`` with each virtual key's ``budget_usd`` as a hard ``{scope: key}`` budget; ValueError when the ledger
    is disabled (nothing could enforce the budget) or a budget of the same key and period differs."""
    budgets, uses = list(ledger.budgets), []
    for i, key in enumerate(server.keys):
        entry = key.budget()
        if entry is None:
            continue
        alias = f"server.keys[{i}].budget_usd"
        if not ledger.enabled:
            raise ValueError(
                f"{alias} = {key.budget_usd}: virtual key {key.id!r} has a budget but the ledger is disabled, so the "
                "budget could not be enforced; set ledger.enabled: true or remove budget_usd"
            )
        budgets = _with_budget(budgets, entry, f"{alias} = {key.budget_usd}", user_set=True)
        uses.append(AliasUse(alias, f"ledger.budgets {{scope: key, id: {key.id}, period: {entry.period}}}",
                             f"{key.budget_usd} USD"))
    if budgets == list(ledger.budgets):
        return ledger, uses
    return ledger.model_copy(update={"budgets": tuple(budgets)}), uses


def _cost_overrides(routing: RoutingSettings) -> list[AliasUse]:
    """Each strategy's own cost weight that is set; ValueError when ``cost_preference`` is set too and disagrees."""
    preference = routing.cost_preference
    chosen = "cost_preference" in routing.model_fields_set
    uses: list[AliasUse] = []
    for weight, value in routing.cost_overrides():
        if chosen and not weight.agrees(value, preference):
            raise ValueError(conflict_message(weight, value, preference))
        uses.append(AliasUse(weight.key, COST_PREFERENCE_KEY, weight.describe(value), kind="override"))
    return uses


def _fold_budgets(orchestration: OrchestrationConfig, ledger: LedgerSettings) -> tuple[LedgerSettings, list[AliasUse]]:
    budgets, uses = list(ledger.budgets), []
    if ledger.daily_budget_usd is not None:
        entry = BudgetSettings(scope="global", period="day", limit_usd=ledger.daily_budget_usd,
                               mode=ledger.cost_tracking_mode)
        budgets = _with_budget(budgets, entry, f"{DAILY} = {ledger.daily_budget_usd}", user_set=True)
        uses.append(AliasUse(DAILY, _DAILY_TARGET, str(ledger.daily_budget_usd)))
    tracking = orchestration.cost_tracking
    if tracking.enabled:
        entry = BudgetSettings(scope="global", period="month", limit_usd=tracking.budget_limit_usd,
                               mode=ledger.cost_tracking_mode, alert_threshold=Decimal(str(tracking.alert_threshold)))
        user_set = "cost_tracking" in orchestration.model_fields_set
        budgets = _with_budget(budgets, entry, f"{MONTHLY}.budget_limit_usd = {tracking.budget_limit_usd}",
                               user_set=user_set)
        if user_set:
            uses.append(AliasUse(MONTHLY, _MONTHLY_TARGET, f"{tracking.budget_limit_usd} USD a month"))
    if budgets == list(ledger.budgets):
        return ledger, uses
    return ledger.model_copy(update={"budgets": tuple(budgets)}), uses


def _with_budget(budgets: list[BudgetSettings], entry: BudgetSettings, alias: str, *, user_set: bool) -> list[BudgetSettings]:
    """``budgets`` plus ``entry``, unless a budget of the same scope, id and period is there: then that one stays
    (an alias left at its default gives way) or, when the user set the alias to something else, an error."""
    for i, existing in enumerate(budgets):
        if (existing.scope, existing.id, existing.period) != (entry.scope, entry.id, entry.period):
            continue
        if existing != entry and user_set:
            raise ValueError(
                f"{alias} (an alias of a {entry.scope} {entry.period} budget) and "
                f"ledger.budgets[{i}] (limit_usd {existing.limit_usd}, mode {existing.mode}, alert_threshold "
                f"{existing.alert_threshold}) are both set and differ; keep only ledger.budgets[{i}] (canonical) "
                "or give both the same values"
            )
        return budgets
    return [*budgets, entry]


def _agree(alias: str, value: object, canonical: str, section: BaseModel, name: str) -> None:
    current = getattr(section, name)
    if name in section.model_fields_set and current is not None and current != value:
        raise ValueError(
            f"{alias} = {_show(value)} is an alias of {canonical}, which is set to {_show(current)}; "
            f"keep only {canonical} (canonical) or give both the same value"
        )


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    model_id = getattr(value, "model_id", None)
    return str(model_id) if isinstance(model_id, str) else str(value)
