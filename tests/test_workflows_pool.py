"""Agent pools: several orchestrator configurations on one spec, in parallel, under one shared hard budget.
Real engine, ledger and checkpoint store on SQLite; the fake upstream on loopback answers every task."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner
from workflow_rig import config_map as rig_config_map

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.errors import ValidationError
from podium.core.types import Usage
from podium.testing import FakeUpstream
from podium.workflows.project import AgentPool, ProjectSpec, RunSettings, parse_compare
from podium.workflows.project.checks import CheckOutcome
from podium.workflows.project.pool import AgentOutcome, best_result
from podium.workflows.project.state import ProjectState, TaskState
from podium.workflows.project.tasks import TaskSpec

KEY = "sk-test-pool-0123456789"
EXECUTOR = "gpt-4o"
ANSWER = "Done.\n```python\nclass Part:\n    size = 1\n```\n"
TASKS = [
    {"id": "t1", "title": "One", "prompt": "Write part one.", "task_type": "code", "output_file": "p/one.py"},
    {
        "id": "t2",
        "title": "Two",
        "prompt": "Write part two.",
        "task_type": "code",
        "output_file": "p/two.py",
        "depends_on": ["t1"],
    },
]
runner = CliRunner()


def config_map(base: str) -> dict[str, Any]:
    return rig_config_map(base, EXECUTOR, routing={"candidates": [f"openai:{EXECUTOR}"]})


def spec(max_usd: str) -> ProjectSpec:
    return ProjectSpec.from_mapping(
        {
            "project": {"description": "A package in two parts", "success_criteria": "code compiles"},
            "budget": {"max_usd": max_usd},
            "tasks": TASKS,
        }
    )


def pool(base: str, home: Path) -> AgentPool:
    p = AgentPool(
        PodiumConfig.from_mapping(config_map(base)),
        env={"OPENAI_API_KEY": KEY},
        home=home,
        settings=RunSettings(task_max_tokens=1000, review="off"),
    )
    for agent in parse_compare("pareto,greedy"):
        p.add_agent(agent.name, strategy=agent.strategy, selection=agent.selection)
    return p


async def test_agents_run_in_parallel_and_the_best_is_picked(fake: FakeUpstream, served: Any, tmp_path: Path) -> None:
    fake.script(EXECUTOR, ANSWER, usage=Usage(100, 100))
    p = pool(served[1], tmp_path / "home")
    result = await p.run(spec("1"), output_dir=tmp_path / "out", pool_id="pkg")
    p.close()
    assert [o.name for o in result.outcomes] == ["pareto", "greedy"] and result.status == "completed"
    assert all(o.state is not None and o.state.status == "completed" for o in result.outcomes)
    assert (tmp_path / "out" / "pareto" / "p" / "one.py").exists() and (
        tmp_path / "out" / "greedy" / "p" / "two.py"
    ).exists()
    assert result.best in ("pareto", "greedy") and fake.count(EXECUTOR) == 4
    t = result.telemetry
    assert t["tasks_done"] == 4 and t["task_runs_by_model"] == {f"openai:{EXECUTOR}": 4}
    rows = (
        sqlite3.connect(tmp_path / "home" / "ledger.db")
        .execute("select project, team, cost_usd from ledger_calls")
        .fetchall()
    )
    assert {r[0] for r in rows} == {"pkg-pareto", "pkg-greedy"} and {r[1] for r in rows} == {"pkg"}
    assert sum(Decimal(r[2]) for r in rows) == Decimal(t["spent_usd"])


async def test_one_budget_for_all_agents_then_resume(fake: FakeUpstream, served: Any, tmp_path: Path) -> None:
    fake.script(EXECUTOR, ANSWER, usage=Usage(100, 3000))  # $0.03025 a task
    p = pool(served[1], tmp_path / "home")
    stopped = await p.run(spec("0.07"), output_dir=tmp_path / "out", pool_id="tight")
    p.close()
    spent = Decimal(stopped.telemetry["spent_usd"])
    assert stopped.status == "paused" and spent <= Decimal("0.07") and fake.count(EXECUTOR) == 2
    assert all(o.state is not None and o.state.status == "paused" for o in stopped.outcomes)

    again = pool(served[1], tmp_path / "home")
    resumed = await again.resume("tight", max_usd=Decimal(1))
    again.close()
    assert resumed.status == "completed" and fake.count(EXECUTOR) == 4  # done tasks were not sent again


def _state(name: str, scores: list[float], passed: int, cost: str) -> AgentOutcome:
    state = ProjectState(id=name, spec=spec("1"), output_dir=Path("."), strategy="cheapest")
    for i, score in enumerate(scores):
        task = TaskState(TaskSpec(f"t{i}", "t", "p"), status="done", score=score, cost_usd=Decimal(cost))
        task.checks = tuple(CheckOutcome("py_compile", "passed", "ok") for _ in range(passed if i == 0 else 0))
        state.tasks[task.id] = task
    return AgentOutcome(name, name, state)


def test_best_is_checks_passed_then_quality_then_cost() -> None:
    assert best_result([_state("a", [1.0], 1, "0.1"), _state("b", [0.5], 2, "0.9")]) == "b"
    assert best_result([_state("a", [0.5], 1, "0.1"), _state("b", [1.0], 1, "0.9")]) == "b"
    assert best_result([_state("a", [1.0], 1, "0.2"), _state("b", [1.0], 1, "0.1")]) == "b"
    assert best_result([AgentOutcome("x", "x", error="boom")]) is None


@pytest.mark.parametrize("value", ["pareto", "pareto,pareto", "pareto,lottery", ""])
def test_compare_needs_two_known_distinct_configurations(value: str) -> None:
    with pytest.raises(ValidationError, match="--compare"):
        parse_compare(value)


@pytest.fixture()
def workdir(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "podium.yaml").write_text(yaml.safe_dump(config_map(served[1])))
    (tmp_path / "project.yaml").write_text(yaml.safe_dump(spec("1").to_dict()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_compare_and_resume(fake: FakeUpstream, workdir: Path) -> None:
    env = {"OPENAI_API_KEY": KEY, "PODIUM_HOME": str(workdir / "home")}
    fake.script(EXECUTOR, ANSWER, usage=Usage(100, 3000))
    args = [
        "project",
        "run",
        "--file",
        "project.yaml",
        "--compare",
        "pareto,greedy",
        "--budget",
        "0.07",
        "--id",
        "cmp",
        "-o",
        "out",
        "--review",
        "off",
    ]
    stopped = runner.invoke(app, args, env=env)
    assert stopped.exit_code == 1, stopped.output
    assert "agent pool cmp" in stopped.stdout and "podium project resume cmp --budget" in stopped.stderr
    resumed = runner.invoke(app, ["project", "resume", "cmp", "--budget", "1", "--json"], env=env)
    assert resumed.exit_code == 0, resumed.output
    out = json.loads(resumed.stdout)
    assert out["status"] == "completed" and out["best"] in ("pareto", "greedy") and len(out["agents"]) == 2
    bad = runner.invoke(app, ["project", "run", "--file", "project.yaml", "--compare", "pareto"], env=env)
    assert bad.exit_code == 2 and "--compare" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
