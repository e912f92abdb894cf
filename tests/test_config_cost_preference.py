"""One cost knob: ``routing.cost_preference``, from which each strategy derives its own cost weight."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.config import PodiumConfig, load_config
from podium.config.cost_preference import AUTO_COST, CASCADE_COST, COST_WEIGHTS, WEIGHTED_COST
from podium.config.routing import DEFAULT_QUALITY_THRESHOLD, RoutingSettings
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion
from podium.routing.selection import Candidate, rank
from podium.routing.strategies import build_strategy
from podium.routing.strategies.auto import AutoStrategy
from podium.routing.strategies.registry import handover_threshold

runner = CliRunner()


def _weights(settings: RoutingSettings) -> tuple[float, float, float]:
    return settings.cost_weight, settings.weights.w_cost, settings.cascade_cost_weight


def test_the_default_preference_gives_every_strategy_its_historic_weight() -> None:
    settings = RoutingSettings()
    assert settings.cost_preference == 1.0
    assert _weights(settings) == (0.25, 0.3, 0.15)
    assert [w.scale for w in COST_WEIGHTS] == [0.25, 0.3, 0.15]
    assert handover_threshold(settings.cascade_cost_weight) == DEFAULT_QUALITY_THRESHOLD
    # Derived, not set: a settings dump round trip keeps them following the knob.
    assert settings.cost_overrides() == () and "w_cost" not in settings.weights.model_fields_set
    assert PodiumConfig().aliases_used() == ()


@pytest.mark.parametrize("preference", [0.0, 0.5, 2.0, 8.0])
def test_each_weight_is_its_scale_times_the_preference(preference: float) -> None:
    settings = RoutingSettings(cost_preference=preference)
    assert _weights(settings) == pytest.approx((0.25 * preference, 0.3 * preference, 0.15 * preference))


def test_the_mapping_is_monotone_and_the_handover_bar_falls_as_cost_matters_more() -> None:
    steps = [RoutingSettings(cost_preference=p) for p in (0.0, 0.5, 1.0, 2.0, 4.0)]
    for weight in zip(*(_weights(s) for s in steps), strict=True):
        assert list(weight) == sorted(weight) and weight[0] == 0.0 and weight[-1] > weight[0]
    bars = [handover_threshold(s.cascade_cost_weight) for s in steps]
    assert bars == sorted(bars, reverse=True) and bars[0] > DEFAULT_QUALITY_THRESHOLD > bars[-1]


def test_a_strategy_key_set_alone_overrides_that_strategy_only() -> None:
    config = PodiumConfig.model_validate({"routing": {"cascade_cost_weight": 0.3, "weights": {"w_quality": 0.7}}})
    assert _weights(config.routing) == (0.25, 0.3, 0.3)
    (use,) = config.aliases_used()
    assert (use.alias, use.canonical, use.kind) == (
        "routing.cascade_cost_weight", "routing.cost_preference", "override"
    )
    assert use.line() == (
        "routing.cascade_cost_weight -> routing.cost_preference (learned cascade only: 0.3, what cost_preference 2 "
        "would give it)"
    )
    both = PodiumConfig.model_validate(
        {"routing": {"cost_preference": 2, "cost_weight": 0.5, "weights": {"w_cost": 0.6}}}
    )
    assert _weights(both.routing) == pytest.approx((0.5, 0.6, 0.3))  # agreeing values are fine


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("routing:\n  cost_preference: 2\n  cost_weight: 0.4\n",
         ["line 3: routing.cost_weight = 0.4", "routing.cost_preference = 2, which gives it 0.25 x 2 = 0.5"]),
        ("routing:\n  cost_preference: 0\n  weights: {w_cost: 0.3}\n",
         ["line 3: routing.weights.w_cost = 0.3", "routing.cost_preference = 0"]),
        ("routing:\n  cascade_cost_weight: 0.15\n  cost_preference: 1.5\n",
         ["line 2: routing.cascade_cost_weight = 0.15", "set routing.cascade_cost_weight to 0.225"]),
    ],
)
def test_a_strategy_key_that_disagrees_with_the_preference_fails_naming_both(
    tmp_path: Path, text: str, named: list[str]
) -> None:
    (tmp_path / "podium.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(env={}, cwd=tmp_path, home=tmp_path)
    for part in named:
        assert part in str(info.value)
    assert "keep only routing.cost_preference (canonical)" in str(info.value)


def test_sources_say_which_weights_follow_the_preference(tmp_path: Path) -> None:
    (tmp_path / "podium.yaml").write_text("routing:\n  cost_weight: 1.0\n")
    loaded = load_config(env={"PODIUM__ROUTING__COST_PREFERENCE": "4"}, cwd=tmp_path, home=tmp_path)
    assert _weights(loaded.config.routing) == (1.0, 1.2, 0.6)
    assert loaded.source_of("routing.cost_preference") == "env:PODIUM__ROUTING__COST_PREFERENCE"
    assert loaded.source_of("routing.cost_weight") == "file"
    assert loaded.source_of("routing.weights.w_cost") == "from:routing.cost_preference"
    assert loaded.source_of("routing.cascade_cost_weight") == "from:routing.cost_preference"
    assert load_config(env={}, cwd=tmp_path / "none", home=tmp_path).source_of("routing.cost_weight") == "default"


def test_overrides_rederive_the_weights_that_follow_the_preference() -> None:
    settings = RoutingSettings(cost_preference=2, cascade_cost_weight=0.05)
    again = settings.with_overrides({"cost_preference": 4})
    assert _weights(again) == pytest.approx((1.0, 1.2, 0.05))  # the cascade's own weight stays its own
    assert _weights(settings.with_overrides({"cost_weight": 0.1})) == pytest.approx((0.1, 0.6, 0.05))


def test_config_check_lists_an_override_with_its_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text("routing:\n  cost_weight: 0.5\n")
    result = runner.invoke(app, ["config", "check", "--no-env"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())  # long lines wrap between words at the terminal's width
    assert "alias: routing.cost_weight -> routing.cost_preference (auto strategy only: 0.5, what cost_preference 2 " \
           "would give it)" in out
    assert "cost: routing.cost_preference 1 -> routing.cost_weight 0.5 (auto strategy: its own key), " \
           "routing.weights.w_cost 0.3 (weighted selection: 0.3 x preference), routing.cascade_cost_weight 0.15 " \
           "(learned cascade: 0.15 x preference)" in out
    as_json = json.loads(runner.invoke(app, ["config", "check", "--no-env", "--json"]).stdout)
    assert as_json["config"]["routing"]["cost_preference"] == 1.0
    assert [a["alias"] for a in as_json["aliases"]] == ["routing.cost_weight"]


# -- the strategies take their weight from the knob -------------------------------------------------------------------


def _spec(name: str, price: str) -> ModelSpec:
    return ModelSpec(id=f"t:{name}", provider="t", api_model=name, input_per_million=Decimal(price),
                     output_per_million=Decimal(price), context_window=100_000)


class FixedRouter:
    """A quality predictor with fixed answers: the strategies' injected router boundary."""

    def __init__(self, quality: dict[str, float]) -> None:
        self.quality = quality
        self.models = tuple(quality)

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: self.quality[m] for m in (models or self.models) if m in self.quality}


CATALOG = Catalog([_spec("cheap", "0.1"), _spec("strong", "10")])
ROUTER = FixedRouter({"t:cheap": 0.6, "t:strong": 0.95})


async def _auto_pick(preference: float) -> str:
    strategy = build_strategy("auto", settings=RoutingSettings(cost_preference=preference), catalog=CATALOG,
                              router=ROUTER)
    assert isinstance(strategy, AutoStrategy) and strategy.cost_weight == pytest.approx(AUTO_COST.at(preference))
    calls: list[str] = []

    async def caller(model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        calls.append(model)
        return Completion(text="ok", model=model, provider="t", cost_usd=Decimal("0.001"))

    await strategy.run(ChatRequest.from_prompt("hello"), caller=caller, meta=CallMeta())
    return calls[0]


async def test_auto_follows_the_preference() -> None:
    assert await _auto_pick(0.0) == "t:strong"
    assert await _auto_pick(1.0) == "t:strong"  # 0.95 - 0.25 > 0.6 - 0.0025
    assert await _auto_pick(2.0) == "t:cheap"  # 0.95 - 0.5 < 0.6 - 0.005
    overridden = build_strategy("auto", settings=RoutingSettings(), catalog=CATALOG, router=ROUTER,
                                cost_preference=3.0)
    assert isinstance(overridden, AutoStrategy) and overridden.cost_weight == pytest.approx(0.75)


def test_weighted_selection_follows_the_preference() -> None:
    cheap = Candidate(_spec("cheap", "0.1"), 0.6, Decimal("0.001"), 100.0)
    strong = Candidate(_spec("strong", "10"), 0.95, Decimal("0.1"), 100.0)

    def first(preference: float) -> str:
        weights = RoutingSettings(cost_preference=preference).weights
        assert weights.w_cost == pytest.approx(WEIGHTED_COST.at(preference)) and weights.w_quality == 0.6
        return rank([cheap, strong], "weighted", threshold=0.7, weights=weights)[0].id

    assert [first(p) for p in (0.0, 1.0, 3.0)] == ["t:strong", "t:strong", "t:cheap"]


def test_the_cascade_weight_sets_the_handover_bar_unless_a_threshold_is_set() -> None:
    assert CASCADE_COST.at(1.0) == 0.15
    assert handover_threshold(RoutingSettings(cost_preference=3).cascade_cost_weight) == pytest.approx(0.55)
