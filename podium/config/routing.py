"""Settings for the routing layer: strategies, quality gates, fallback chains, selection and the task table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from podium.config.cost_preference import AUTO_COST, CASCADE_COST, DEFAULT_COST_PREFERENCE, WEIGHTED_COST, CostWeight
from podium.config.orchestration import ExecutorConfig

StrategyName = Literal["cheapest", "cascade", "fallback", "ensemble", "auto", "table"]
SelectionName = Literal["greedy", "weighted", "pareto"]
EnsembleMethod = Literal["vote", "judge", "synthesize"]
GateName = Literal[
    "hedging", "format", "final_answer", "truncation", "arithmetic", "agreement", "predicted", "judge", "logprob",
    "consistency", "verify",
]
CostTier = Literal["free", "budget", "balanced", "premium"]

# Predefined fallback chains, cheapest first. Ids are catalog ids; users add their own under `chains:`.
DEFAULT_CHAINS: dict[str, tuple[str, ...]] = {
    "mixed": (
        "openai:gpt-4o-mini",
        "anthropic:claude-haiku-4-5",
        "openai:gpt-4.1",
        "anthropic:claude-sonnet-4-5",
    ),
    "anthropic": ("anthropic:claude-haiku-4-5", "anthropic:claude-sonnet-4-5", "anthropic:claude-opus-4-5"),
    "openai": ("openai:gpt-4o-mini", "openai:gpt-4.1-mini", "openai:gpt-4.1"),
    "fast": ("groq:llama-3.1-8b-instant", "openai:gpt-4o-mini", "groq:llama-3.3-70b-versatile"),
}


class TaskRoute(BaseModel):
    """A per-task routing row: a primary model, ordered fallbacks, a temperature and a cost tier.

    The task-router tool's files write the fallbacks as ``fallback:``; it is accepted as an alias of ``fallbacks``,
    and either may be one model id or a list.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary: str
    fallbacks: tuple[str, ...] = ()
    temperature: float | None = Field(default=None, ge=0, le=2)
    cost_tier: CostTier = "balanced"

    @model_validator(mode="before")
    @classmethod
    def _fallback_alias(cls, data: object) -> object:
        if not isinstance(data, dict) or "fallback" not in data:
            return data
        if "fallbacks" in data:
            raise ValueError("give `fallbacks` or its alias `fallback`, not both")
        data = {k: v for k, v in data.items() if k != "fallback"} | {"fallbacks": data["fallback"]}
        return data

    @field_validator("fallbacks", mode="before")
    @classmethod
    def _one_fallback(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


def _row(primary: str, fallbacks: tuple[str, ...], temperature: float | None, tier: CostTier) -> TaskRoute:
    return TaskRoute(primary=primary, fallbacks=fallbacks, temperature=temperature, cost_tier=tier)


# Keys are the task types of podium.routing.task_analysis; "general" catches any type without a row.
DEFAULT_TASK_TABLE: dict[str, TaskRoute] = {
    "code": _row("anthropic:claude-sonnet-4-5", ("openai:gpt-4.1",), 0.2, "premium"),
    "math": _row("openai:gpt-4.1", ("anthropic:claude-sonnet-4-5",), 0.1, "premium"),
    "reasoning": _row("openai:gpt-4.1", ("anthropic:claude-sonnet-4-5",), 0.2, "premium"),
    "planning": _row("anthropic:claude-sonnet-4-5", ("openai:gpt-4.1",), 0.3, "premium"),
    "knowledge_qa": _row("openai:gpt-4o-mini", ("anthropic:claude-haiku-4-5",), 0.0, "budget"),
    "extraction": _row("openai:gpt-4o-mini", ("anthropic:claude-haiku-4-5",), 0.0, "budget"),
    "writing": _row("anthropic:claude-haiku-4-5", ("openai:gpt-4.1",), 0.8, "balanced"),
    "chat": _row("openai:gpt-4o-mini", ("anthropic:claude-haiku-4-5",), 0.7, "budget"),
    "general": _row("openai:gpt-4o-mini", ("openai:gpt-4.1",), None, "balanced"),
}


class SelectionWeights(BaseModel):
    """Weighted-sum weights; each objective is normalised to 0..1 over the candidates first. ``w_cost`` left unset
    follows ``routing.cost_preference`` (0.3 x it, podium.config.cost_preference)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    w_quality: float = Field(default=0.6, ge=0)
    w_cost: float = Field(default=WEIGHTED_COST.scale, ge=0)
    w_latency: float = Field(default=0.1, ge=0)
    w_trust: float = Field(
        default=0.0,
        ge=0,
        description="weight of the model's trust (podium.routing.trust: a measured quality figure, not deprecated, "
        "no training on outputs), as the project orchestrator's w_trust",
    )


# Used by cheapest, ensemble and the router-derived cascade when `quality_threshold` is not set.
DEFAULT_QUALITY_THRESHOLD = 0.7
# The learned cascade's weight at the default cost preference. Chosen on 5-fold cross-validation of
# `benchmarks/eval.py` (bundled data): about 96-97% of the strongest model's quality at under 40% of its cost.
DEFAULT_CASCADE_COST_WEIGHT = CASCADE_COST.scale


class RoutingSettings(BaseModel):
    """How Podium picks models. Every field has a default that works with the bundled catalog and router.

    ``quality_threshold`` is the quality level to keep. For ``cheapest``, ``ensemble`` and the
    router-derived cascade it is the predicted probability of a good answer a model must reach (unset: 0.7).
    For the learned cascade (the default strategy) it is the share of the best learned quality each task type
    must keep, at the lowest cost; unset, the learned cascade trades quality for cost by
    its cost weight instead. ``orchestration.quality_threshold`` is its alias (podium.config.aliases).

    ``cost_preference`` is how much cost matters (0 = not at all, 1 = the default trade-off); each strategy derives
    its own cost weight from it (podium.config.cost_preference): ``cost_weight`` (auto), ``weights.w_cost``
    (weighted selection) and ``cascade_cost_weight`` (learned cascade). Each of those keys, when set, overrides the
    derived weight for its strategy only.

    Knobs that look alike but are distinct concepts: the gate thresholds (``confidence_threshold``,
    ``judge_threshold``, ``logprob_threshold``, ``consistency_threshold``) are each one gate's pass mark on that gate's
    own scale. ``chains`` defines named model orders, ``chain`` picks one for the cascade, ``cascade_plans`` lets
    learned plans replace them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_strategy: StrategyName = "cascade"
    quality_threshold: float | None = Field(default=None, ge=0, le=1)
    candidates: tuple[str, ...] | None = Field(default=None, description="allow-list of model ids; None = all")
    prefer_open_weights: bool = Field(
        default=False,
        description="when some candidate with open weights meets the quality threshold, choose among those only "
        "(env: PREFER_OPENSOURCE)",
    )
    expected_output_tokens: int = Field(default=256, ge=1, description="output tokens assumed when estimating cost")
    trial_models: tuple[str, ...] = Field(
        default=(), description="models new to this deployment: trial_share of routed calls that may use one go to "
        "it, so feedback on its answers can correct the router (podium router train --from-ledger)",
    )
    trial_share: float = Field(default=0.1, ge=0, le=0.5, description="share of routed calls given to trial_models")
    prefer_free_models: bool = Field(
        default=False, description="keep only $0 models when one qualifies (alias: orchestration.prefer_free_models)"
    )
    executors: tuple[ExecutorConfig, ...] = Field(
        default=(), description="models routed calls use by use case (alias: orchestration.executors)"
    )
    selection: SelectionName = "greedy"
    weights: SelectionWeights = Field(default_factory=SelectionWeights)
    cost_preference: float = Field(
        default=DEFAULT_COST_PREFERENCE, ge=0,
        description="how much cost matters against quality: 0 = not at all, 1 = the default trade-off, 2 = twice as "
        "much; every strategy's cost weight follows it unless that weight is set itself",
    )
    cost_weight: float = Field(
        default=AUTO_COST.scale, ge=0,
        description="auto: maximize quality - weight x cost / dearest candidate's cost (unset: 0.25 x cost_preference)",
    )
    # cascade (also called "fallback")
    chain: str | None = Field(default=None, description="name of a chain in `chains`; None = learned or derived")
    cascade_plans: bool = Field(default=True, description="use the router's learned per-task plans when it has them")
    cascade_cost_weight: float = Field(
        default=DEFAULT_CASCADE_COST_WEIGHT, ge=0,
        description="learned cascade: maximize quality - weight x cost (1.0 = one strongest-model call per answer; "
        "unset: 0.15 x cost_preference)",
    )
    chains: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_CHAINS))
    max_steps: int = Field(default=3, ge=1, description="most models a derived cascade calls")
    gates: tuple[GateName, ...] = (
        "hedging", "format", "final_answer", "truncation", "arithmetic", "agreement", "predicted"
    )
    confidence_threshold: float = Field(default=0.5, ge=0, le=1, description="hedging gate: lowest confidence kept")
    judge_model: str | None = None
    judge_threshold: float = Field(default=0.7, ge=0, le=1)
    # Live signals (gates logprob, consistency, verify), asked of providers that offer them; replay data has none.
    logprob_threshold: float = Field(
        default=0.6, ge=0, le=1,
        description="logprob gate: lowest geometric-mean token probability (exp of the mean token logprob) kept",
    )
    consistency_samples: int = Field(
        default=3, ge=2, le=16, description="consistency gate: answers sampled in the cheap model's one call (n)"
    )
    consistency_threshold: float = Field(
        default=0.6, ge=0, le=1, description="consistency gate: lowest share of samples agreeing with the answer kept"
    )
    verify_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="verify gate: time limit for running an answer's code on the prompt's tests"
    )
    # ensemble
    ensemble_models: tuple[str, ...] | None = None
    ensemble_size: int = Field(default=3, ge=2, le=5)
    ensemble_method: EnsembleMethod = "vote"
    aggregator_model: str | None = None
    # table: rows given in podium.yaml are merged over DEFAULT_TASK_TABLE (a row of the same task type
    # replaces the default row; new task types are added and can be chosen with `podium ask --task-type`).
    task_table: dict[str, TaskRoute] = Field(default_factory=lambda: dict(DEFAULT_TASK_TABLE))
    # Field name -> the alias the user set it with (podium.config.aliases), so messages name what the user wrote.
    _spelled: dict[str, str] = PrivateAttr(default_factory=dict)

    def key_of(self, name: str) -> str:
        """The key the user wrote for field ``name``: ``routing.<name>`` or the alias that set it."""
        return self._spelled.get(name, f"routing.{name}")

    def spelled_as(self, spelled: dict[str, str]) -> RoutingSettings:
        """A copy remembering which alias set which field (podium.config.aliases calls this)."""
        out = self.model_copy()
        out._spelled = {**self._spelled, **spelled}
        return out

    def with_overrides(self, overrides: Mapping[str, object]) -> RoutingSettings:
        """A validated copy with ``overrides`` replacing fields; cost weights not set on their own keys are derived
        again from the (possibly overridden) ``cost_preference``."""
        return RoutingSettings.model_validate({**self.model_dump(exclude_unset=True), **overrides})

    def cost_weights(self) -> tuple[tuple[CostWeight, float, bool], ...]:
        """Each strategy's cost weight, its value, and whether it is set on its own key (else it follows
        ``cost_preference``)."""
        return (
            (AUTO_COST, self.cost_weight, "cost_weight" in self.model_fields_set),
            (WEIGHTED_COST, self.weights.w_cost, "w_cost" in self.weights.model_fields_set),
            (CASCADE_COST, self.cascade_cost_weight, "cascade_cost_weight" in self.model_fields_set),
        )

    def cost_overrides(self) -> tuple[tuple[CostWeight, float], ...]:
        """The strategies' cost weights set on their own keys, each with its value."""
        return tuple((weight, value) for weight, value, own in self.cost_weights() if own)

    def derived_cost_keys(self) -> tuple[str, ...]:
        """The dotted keys of the cost weights that follow ``cost_preference`` (not set on their own)."""
        return tuple(weight.key for weight, _, own in self.cost_weights() if not own)

    @model_validator(mode="after")
    def _derive_cost_weights(self) -> RoutingSettings:
        """Each strategy's cost weight not set on its own key is ``scale x cost_preference``. The fields are filled
        in place (the object is being built) and stay out of ``model_fields_set``, so they remain derived."""
        preference = self.cost_preference
        for name, weight in (("cost_weight", AUTO_COST), ("cascade_cost_weight", CASCADE_COST)):
            if name not in self.model_fields_set:
                object.__setattr__(self, name, weight.at(preference))
        if "w_cost" not in self.weights.model_fields_set:
            weights = self.weights.model_copy()
            object.__setattr__(weights, "w_cost", WEIGHTED_COST.at(preference))
            object.__setattr__(self, "weights", weights)
        return self

    def named_models(self) -> set[str]:
        """Models this configuration names itself (task-table rows and chains that differ from the defaults, the
        ensemble, judge and aggregator models): legacy models among them stay routable."""
        names: set[str] = set()
        for task, row in self.task_table.items():
            if DEFAULT_TASK_TABLE.get(task) != row:
                names.update((row.primary, *row.fallbacks))
        for name, chain in self.chains.items():
            if DEFAULT_CHAINS.get(name) != chain:
                names.update(chain)
        names.update(self.ensemble_models or ())
        names.update(self.trial_models)
        names.update(m for m in (self.judge_model, self.aggregator_model) if m)
        return names

    @property
    def threshold(self) -> float:
        """``quality_threshold``, or the default when it is not set."""
        return DEFAULT_QUALITY_THRESHOLD if self.quality_threshold is None else self.quality_threshold

    @field_validator("task_table")
    @classmethod
    def _merge_task_table(cls, value: dict[str, TaskRoute]) -> dict[str, TaskRoute]:
        return {**DEFAULT_TASK_TABLE, **value}

    @field_validator("chains")
    @classmethod
    def _chains_not_empty(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, models in value.items():
            if not models:
                raise ValueError(f"chain {name!r} lists no models; give at least one model id")
        return value

