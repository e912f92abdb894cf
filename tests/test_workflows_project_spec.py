"""Project specs and YAML files, task-list parsing, the dependency graph, output checks and the checkpoint store."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from podium.core.errors import ConfigError, ValidationError
from podium.testing import FakeClock
from podium.workflows.project import (
    PlanError,
    ProjectState,
    ProjectStore,
    TaskState,
    build_spec,
    check_output,
    load_project_file,
    parse_plan,
    plan_from_items,
)
from podium.workflows.project.graph import blocked_by, find_cycle, ready
from podium.workflows.project.outputs import write_task_output
from podium.workflows.project.tasks import TaskSpec

SEED_YAML = """\
project:
  title: "Rate limiter library"
  description: "Implement token bucket rate limiter"
  success_criteria: "pytest passes, ruff clean, README complete"

budget:
  max_usd: 5.0
  max_time_seconds: 3600

policy:
  enforcement_mode: hard
  allowed_providers: [openai, anthropic]
"""


def test_seed_yaml_loads_with_decimal_budget(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(SEED_YAML)
    spec = load_project_file(path)
    assert spec.title == "Rate limiter library"
    assert spec.budget.max_usd == Decimal("5.0") and isinstance(spec.budget.max_usd, Decimal)
    assert spec.budget.max_time_seconds == 3600
    assert spec.policy.allowed_providers == ("openai", "anthropic") and spec.policy.enforcement_mode == "hard"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("max_usd: 5.0", "max_usd: -2"), "budget.max_usd"),
        (("max_usd: 5.0", "max_usd: five"), "budget.max_usd"),
        (("budget:", "budgett:"), "'budgett'"),
        (("enforcement_mode: hard", "enforcement_mode: strict"), "policy.enforcement_mode"),
        (('  description: "Implement token bucket rate limiter"\n', ""), "'description'"),
        (("max_time_seconds: 3600", "max_time_seconds: 0"), "budget.max_time_seconds"),
    ],
)
def test_bad_yaml_names_the_key_and_line(tmp_path: Path, change: tuple[str, str], named: str) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(SEED_YAML.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_project_file(path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_bad_task_list_in_yaml_names_the_task_key(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(SEED_YAML + "tasks:\n  - {id: a, title: A, prompt: do it, depends_on: [missing]}\n")
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.depends_on names unknown task 'missing'") as err:
        load_project_file(path)
    assert err.value.field == "tasks[0].depends_on"


def test_yaml_syntax_error_gives_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text("project:\n  title: [unclosed\n")
    with pytest.raises(ConfigError, match=r"project.yaml line \d+"):
        load_project_file(path)


def test_options_override_the_file_and_description_is_required(tmp_path: Path) -> None:
    path = tmp_path / "project.yaml"
    path.write_text(SEED_YAML)
    spec = build_spec(file=path, max_usd="2.5", criteria="all tests pass")
    assert spec.budget.max_usd == Decimal("2.5") and spec.project.success_criteria == "all tests pass"
    assert spec.project.description == "Implement token bucket rate limiter"
    with pytest.raises(ValidationError, match="--project") as err:
        build_spec(criteria="x")
    assert err.value.field == "project.description"
    long = build_spec(description="Build a FastAPI authentication service with JWT tokens and refresh rotation")
    assert long.title.endswith("...") and len(long.title) <= 60


def test_plan_parsing_accepts_fences_and_lists() -> None:
    fenced = '```json\n{"tasks": [{"id": "a", "title": "A", "prompt": "p"}]}\n```'
    assert parse_plan(fenced).ids == ("a",)
    bare = parse_plan('[{"title": "A", "prompt": "p", "task_type": "Code", "acceptance": "def"}]')
    assert bare.tasks[0] == TaskSpec("task-1", "A", "p", (), "code", ("def",), None)


@pytest.mark.parametrize(
    ("items", "field", "message"),
    [
        ([{"id": "a", "title": "A"}], "tasks[0].prompt", "non-empty string"),
        ([{"id": "a", "prompt": "p", "task_type": "poetry"}], "tasks[0].task_type", "use one of code"),
        ([{"id": "a", "prompt": "p", "colour": "red"}], "tasks[0].colour", "unknown key 'colour'"),
        ([{"id": "a", "prompt": "p"}, {"id": "a", "prompt": "q"}], "tasks[1].id", "repeats tasks[0].id"),
        ([{"id": "a b", "prompt": "p"}], "tasks[0].id", "is not valid"),
        ([{"id": "a", "prompt": "p", "output_file": "../x.py"}], "tasks[0].output_file", "relative path"),
        (
            [{"id": "a", "prompt": "p", "depends_on": ["b"]}, {"id": "b", "prompt": "q", "depends_on": ["a"]}],
            "tasks.depends_on",
            "cycle: a -> b -> a",
        ),
        ([], "tasks", "empty"),
    ],
)
def test_plan_errors_name_the_task_and_key(items: list, field: str, message: str) -> None:
    with pytest.raises(PlanError, match=re.escape(message)) as err:
        plan_from_items(items)
    assert err.value.field == field


def test_plan_json_errors() -> None:
    with pytest.raises(PlanError, match="not valid JSON"):
        parse_plan("Here you go: 1. setup")
    with pytest.raises(PlanError, match="no 'tasks' key"):
        parse_plan('{"steps": []}')


def test_graph_ready_cycles_and_blocking() -> None:
    deps = {"a": (), "b": ("a",), "c": ("a",), "d": ("b", "c")}
    assert find_cycle(deps) is None
    assert ready(deps, {"a": "done"}, ["b", "c", "d"]) == ["b", "c"]
    assert ready(deps, {"a": "done", "b": "done", "c": "failed"}, ["d"]) == []
    assert blocked_by(deps, ["b"]) == {"d"} and blocked_by(deps, ["a"]) == {"b", "c", "d"}
    assert find_cycle({"x": ("y",), "y": ("z",), "z": ("x",)}) == ["x", "y", "z", "x"]


def test_output_checks() -> None:
    code = TaskSpec("m", "M", "p", task_type="code", acceptance=("Item",))
    ok = check_output(code, "```python\nclass Item:\n    pass\n```")
    assert ok.passed and ok.score == 1.0 and ok.checks == 3
    bad = check_output(code, "```python\nclass Item(:\n```")
    assert not bad.passed and "does not parse" in bad.problems[0] and bad.score == pytest.approx(2 / 3, abs=1e-4)
    assert check_output(code, "").problems[0] == "the answer is empty"
    config = TaskSpec("c", "C", "p", output_file="conf/settings.json")
    assert check_output(config, '```json\n{"a": 1}\n```').passed
    assert "no json code block" in check_output(config, "```python\nx = 1\n```").problems[0]
    prose = TaskSpec("w", "W", "p", task_type="writing", acceptance=("README", "install"))
    assert check_output(prose, "The readme explains how to INSTALL it.").passed
    assert check_output(prose, "Nothing here.").problems == (
        "acceptance keyword 'README' is missing",
        "acceptance keyword 'install' is missing",
    )


def test_outputs_are_written_inside_the_output_dir(tmp_path: Path) -> None:
    task = TaskSpec("m", "Models", "p", task_type="code", output_file="app/models.py")
    answer, files = write_task_output(tmp_path, task, "Here:\n```python\nX = 1\n```\n")
    assert (answer, files) == ("tasks/m.md", ("tasks/m.md", "app/models.py"))
    assert (tmp_path / "app" / "models.py").read_text() == "X = 1\n"
    assert (tmp_path / "tasks" / "m.md").read_text().startswith("# Models\n\nHere:")
    assert not list(tmp_path.rglob(".*.tmp"))


def test_store_round_trip_migrations_and_summaries(tmp_path: Path) -> None:
    clock = FakeClock()
    spec = build_spec(description="Build it", max_usd="3")
    state = ProjectState(id="p1", spec=spec, output_dir=tmp_path / "out", strategy="cascade")
    state.tasks = {"a": TaskState(TaskSpec("a", "A", "p")), "b": TaskState(TaskSpec("b", "B", "q", ("a",)))}
    with ProjectStore(tmp_path / "projects.db", clock=clock) as store:
        store.create(state)
        with pytest.raises(ValidationError, match="already exists"):
            store.create(state)
        state.tasks["a"].status, state.tasks["a"].cost_usd = "done", Decimal("0.0012345678901234567890")
        state.plan_cost_usd = Decimal("0.5")
        store.checkpoint(state, state.tasks["a"])
    with ProjectStore(tmp_path / "projects.db", clock=clock) as store:  # reopening runs no migration twice
        loaded = store.load("p1")
        assert loaded.tasks["a"].cost_usd == Decimal("0.0012345678901234567890")
        assert [t.id for t in loaded.tasks.values()] == ["a", "b"] and loaded.tasks["b"].spec.depends_on == ("a",)
        assert store.summaries() == [
            {
                "id": "p1",
                "title": "Build it",
                "status": "planning",
                "stop_reason": None,
                "updated_at": clock.now().isoformat(),
                "spent_usd": "0.5012345678901234567890",
                "max_usd": "3",
                "tasks_done": 1,
                "tasks_total": 2,
                "output_dir": str(tmp_path / "out"),
            }
        ]
        with pytest.raises(ValidationError, match="podium project list"):
            store.load("nope")
    names = [r[0] for r in sqlite3.connect(tmp_path / "projects.db").execute("select name from project_migrations")]
    assert names == ["001_projects_and_tasks", "002_task_checks"]
