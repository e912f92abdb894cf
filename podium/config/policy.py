"""Governance policies (``policy:`` in podium.yaml, or a policy file): which models may serve a call.

The schema lives here so podium.yaml validates it like every other section; podium.policy evaluates it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from podium.config.ledger import Money
from podium.core.model_spec import QUALITY_TIERS

# min_quality_score (a 0..1 score) maps to the highest tier whose floor it reaches.
TIER_SCORE_FLOORS: dict[str, float] = {"basic": 0.0, "standard": 0.6, "advanced": 0.75, "frontier": 0.9}
POLICY_SCOPES: tuple[str, ...] = ("global", "team", "job", "key")


class EnforcementMode(str, Enum):
    """HARD removes violating models (or refuses the call); SOFT lets the call proceed and emits a warning."""

    HARD = "hard"
    SOFT = "soft"


def _lower_list(value: object) -> object:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip().lower() for v in value)
    return value


class Policy(BaseModel):
    """One named set of rules; ``None`` (or an absent key) means the rule does not constrain."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    name: str = Field(min_length=1)
    enforcement_mode: EnforcementMode = EnforcementMode.HARD
    allowed_regions: tuple[str, ...] | None = None
    allow_training_on_output: bool = True
    allowed_providers: tuple[str, ...] | None = None
    denied_providers: tuple[str, ...] = ()
    allowed_models: tuple[str, ...] | None = None  # globs over id, bare name and aliases
    denied_models: tuple[str, ...] = ()
    max_price_per_million_usd: Money | None = Field(default=None, ge=0)  # both input and output $/1M
    max_cost_per_task_usd: Money | None = Field(default=None, ge=0)  # estimated worst case of one call
    max_latency_ms: float | None = Field(default=None, gt=0)  # observed after the answer: a warning only
    min_quality_tier: str | None = None
    min_quality_score: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _seed_names(cls, data: object) -> object:
        """Policy files of the original governance tool spell the per-task cap ``cost_cap_usd``; the same rule."""
        if isinstance(data, Mapping) and "cost_cap_usd" in data:
            data = dict(data)
            cap = data.pop("cost_cap_usd")
            if data.get("max_cost_per_task_usd") is None:
                data["max_cost_per_task_usd"] = cap
        return data

    @field_validator("enforcement_mode", mode="before")
    @classmethod
    def _mode_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    _lists = field_validator(
        "allowed_regions", "allowed_providers", "denied_providers", "allowed_models", "denied_models", mode="before"
    )(_lower_list)

    @field_validator("min_quality_tier")
    @classmethod
    def _known_tier(cls, value: str | None) -> str | None:
        if value is not None and value not in QUALITY_TIERS:
            raise ValueError(f"unknown quality tier {value!r}; valid: {', '.join(QUALITY_TIERS)}")
        return value

    @property
    def hard(self) -> bool:
        return self.enforcement_mode is EnforcementMode.HARD

    @property
    def required_tier(self) -> str | None:
        """The minimum quality tier, from ``min_quality_tier`` or (higher of the two) ``min_quality_score``."""
        tiers = [self.min_quality_tier] if self.min_quality_tier else []
        if self.min_quality_score is not None:
            tiers.append(max((t for t, f in TIER_SCORE_FLOORS.items() if f <= self.min_quality_score), key=tier_rank))
        return max(tiers, key=tier_rank) if tiers else None


def tier_rank(tier: str) -> int:
    """Position of a quality tier (basic 0 ... frontier 3); unknown tiers rank lowest."""
    return QUALITY_TIERS.index(tier) if tier in QUALITY_TIERS else -1


PolicyList = tuple[Policy, ...]


class _PolicyScopes(BaseModel):
    """Validators and accessors of PolicyDocument (whose ``global`` field cannot be spelled in a class body)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _bare_policy_and_empty_sections(cls, data: object) -> object:
        """A bare policy (the orchestration file's ``policy: {enforcement_mode: hard, ...}``) is one global policy."""
        if not isinstance(data, Mapping):
            return data
        data = {k: v for k, v in data.items() if v is not None}
        rule_keys = [k for k in data if k in Policy.model_fields or k == "cost_cap_usd"]
        if rule_keys:
            rules = {k: data.pop(k) for k in rule_keys}
            rules.setdefault("name", "default")
            data["global"] = [*(data.get("global") or ()), rules]
        return data

    @property
    def global_(self) -> PolicyList:
        return tuple(getattr(self, "global"))

    def scopes(self) -> dict[str, dict[str, PolicyList]]:
        """Every policy list by scope and scope id (global under id ``*``)."""
        doc: Any = self
        return {"global": {"*": self.global_}, "team": doc.team, "job": doc.job, "key": doc.key}


# A real field named ``global`` (not an alias) so error messages and `podium config check` say policy.global.
PolicyDocument: Any = create_model(
    "PolicyDocument",
    __base__=_PolicyScopes,
    __doc__="Policies by scope: ``global`` always applies; ``team``/``job`` (CallMeta.project)/``key`` when matched.",
    **{
        "global": (PolicyList, ()),
        "team": (dict[str, PolicyList], Field(default_factory=dict)),
        "job": (dict[str, PolicyList], Field(default_factory=dict)),
        "key": (dict[str, PolicyList], Field(default_factory=dict)),
    },
)


class PolicySettings(PolicyDocument):  # type: ignore[misc,valid-type]
    """``policy:`` in podium.yaml: inline policies and/or ``file:`` (YAML or JSON, relative to the working dir)."""

    file: str | None = None


__all__ = [
    "POLICY_SCOPES",
    "TIER_SCORE_FLOORS",
    "EnforcementMode",
    "Policy",
    "PolicyDocument",
    "PolicySettings",
    "tier_rank",
]
