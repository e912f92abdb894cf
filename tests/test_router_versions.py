"""Router versions (registry, use, rollback, the CLI) and the feedback adjustment (fit, save, load by base hash).

The base router here is a small fixed predictor satisfying the router interface (``models``, ``predict``,
``task_type``): the adjustment is built against that interface only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app as cli_app
from podium.core.errors import ValidationError
from podium.routing.datasets import load_dataset
from podium.routing.feedback_adjust import FeedbackAdjustedRouter, LabelledAnswer
from podium.routing.router_store import RouterStore, active_router_path, load_router_file
from podium.testing import FakeClock

CHEAP, STRONG = "openai:gpt-4o-mini", "openai:gpt-4o"
DOCS = Path(__file__).resolve().parent.parent / "docs"


class FixedRouter:
    """P(good) per model regardless of the prompt; task type 'code' when the prompt says so."""

    def __init__(self, probs: dict[str, float]) -> None:
        self.models = tuple(probs)
        self._probs = probs

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: p for m, p in self._probs.items() if models is None or m in models}

    def task_type(self, prompt: str) -> str:
        return "code" if "python" in prompt else "chat"


BASE = FixedRouter({CHEAP: 0.8, STRONG: 0.8})


def _ratings(model: str, good: int, bad: int, prompt: str = "write python code") -> list[LabelledAnswer]:
    return [LabelledAnswer(model, None, 1.0, 1.0, prompt)] * good + [LabelledAnswer(model, None, 0.0, 1.0, prompt)] * bad


def test_offsets_follow_the_ratings_and_a_little_feedback_moves_little() -> None:
    few = FeedbackAdjustedRouter.fit(BASE, _ratings(CHEAP, 0, 2))
    many = FeedbackAdjustedRouter.fit(BASE, _ratings(CHEAP, 5, 45) + _ratings(STRONG, 40, 10))
    p_few, p_many = few.predict("write python code"), many.predict("write python code")
    assert 0.7 < p_few[CHEAP] < 0.8  # two bad ratings nudge it
    assert p_many[CHEAP] < 0.35 and p_many[STRONG] > 0.7  # fifty ratings each move it most of the way
    chat = many.predict("hello there")
    assert chat[CHEAP] > p_many[CHEAP]  # the (model, code) offset does not apply to chat prompts
    assert many.models == BASE.models and many.task_type("python please") == "code"


def test_ratings_without_prompts_fit_on_model_and_task_type() -> None:
    examples = [LabelledAnswer(CHEAP, "code", 0.0, 1.0)] * 30 + [LabelledAnswer(CHEAP, "code", 1.0, 0.3)] * 10
    router = FeedbackAdjustedRouter.fit(BASE, examples, reference_prompts=["write python code", "hello there"])
    assert router.predict("python sort")[CHEAP] < 0.5 < router.predict("python sort")[STRONG] + 0.3
    assert router.info()["feedback_adjustment"]["examples"] == {"feedback": 40, "gate_verdicts": 0}


def test_a_bad_l2_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="l2 0 is not valid"):
        FeedbackAdjustedRouter.fit(BASE, _ratings(CHEAP, 1, 1), l2=0)


def _write_base(path: Path, text: str = "base router v1") -> None:
    path.write_text(text, encoding="utf-8")


def test_versions_are_added_without_switching_then_used_and_rolled_back(tmp_path: Path) -> None:
    store = RouterStore(tmp_path, clock=FakeClock())
    assert active_router_path(tmp_path) is None  # no registry: default_router keeps its old behaviour
    assert [v.id for v in store.versions()] == ["shipped"]
    v1 = store.add("trained", _write_base, suffix=".json.gz", trained_on="a.csv", metrics={"records": 3})
    assert store.in_use().id == "shipped" and active_router_path(tmp_path) == store.path_of(store.get("shipped"))
    router = FeedbackAdjustedRouter.fit(BASE, _ratings(CHEAP, 0, 20))
    base_path = store.path_of(v1)
    v2 = store.add("feedback", lambda p: router.save(p, base_path=base_path), suffix=".feedback.json",
                   trained_on="ledger", base=v1.id)
    assert store.use(v1.id)[1].id == "v1"
    assert store.use(v2.id)[0].id == "v1"
    assert active_router_path(tmp_path) == tmp_path / "router" / "versions" / "v2.feedback.json"
    loaded = load_router_file(active_router_path(tmp_path), lambda p: BASE if p.read_text() == "base router v1" else 0)
    assert isinstance(loaded, FeedbackAdjustedRouter) and loaded.predict("python")[CHEAP] < 0.5
    assert [store.rollback()[1].id, store.rollback()[1].id] == ["v1", "shipped"]
    with pytest.raises(ValidationError, match="nothing to roll back to"):
        store.rollback()
    with pytest.raises(ValidationError, match="known versions: shipped, v1, v2"):
        store.use("v9")


def test_an_adjustment_whose_base_changed_is_refused(tmp_path: Path) -> None:
    base_path = tmp_path / "base.json.gz"
    _write_base(base_path)
    adjusted = tmp_path / "adj.feedback.json"
    FeedbackAdjustedRouter.fit(BASE, _ratings(CHEAP, 1, 3)).save(adjusted, base_path=base_path)
    assert json.loads(adjusted.read_text())["base"]["file"] == "base.json.gz"
    _write_base(base_path, "retrained since")
    with pytest.raises(ValidationError, match="missing or has changed"):
        FeedbackAdjustedRouter.load(adjusted, lambda p: BASE)


def test_cli_list_use_and_rollback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path))
    RouterStore(tmp_path).add("trained", _write_base, suffix=".json.gz", trained_on="mine.csv",
                              metrics={"cv_auc": 0.71})
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli_app, ["router", "list", "--json"]).output)
    assert [(v["id"], v["kind"], v["in_use"]) for v in listed] == [("shipped", "shipped", True),
                                                                   ("v1", "trained", False)]
    used = runner.invoke(cli_app, ["router", "use", "v1"])
    assert used.exit_code == 0 and "now in use: v1 (was shipped)" in used.output
    assert "podium router rollback" in used.output
    table = runner.invoke(cli_app, ["router", "list"])
    assert table.exit_code == 0 and "mine.csv" in table.output
    back = runner.invoke(cli_app, ["router", "rollback"])
    assert back.exit_code == 0 and "now in use: shipped (rolled back from v1)" in back.output
    unknown = runner.invoke(cli_app, ["router", "use", "v7"])
    assert unknown.exit_code != 0 and "router version 'v7' does not exist" in unknown.output


def test_the_documented_csv_example_loads_and_the_help_names_its_columns() -> None:
    records = load_dataset(DOCS / "examples" / "router_outcomes.csv")
    assert len(records) >= 3 and all(set(r.outcomes) == {CHEAP, STRONG} for r in records)
    out = CliRunner().invoke(cli_app, ["router", "train", "--help"], env={"COLUMNS": "200"}).output
    assert "sample_id" in out and "router_outcomes.csv" in out
