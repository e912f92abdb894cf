"""Architecture advice and the app builder end to end: real engine, ledger and checkpoint store on SQLite, the fake
upstream on loopback serving OpenAI and Anthropic.

The advisor is the task table's reasoning row (openai:gpt-4.1), the planner openai:gpt-4o-mini, the executor
openai:gpt-4o; a critical task's reviewer must be another provider's model, so every Anthropic model answers
with the reviewer's script (``"*"``).
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from workflow_rig import config_map as rig_config_map

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.errors import BudgetExceededError, ValidationError
from podium.core.types import Usage
from podium.testing import FakeUpstream
from podium.workflows.app import AppBuilder, ArchitectureAdvisor, detect_app_type
from podium.workflows.project import RunSettings
from podium.workflows.records import RunStore
from podium.workflows.typed import InvalidModelOutputError

KEY = "sk-test-app-0123456789"
ADVISOR, PLANNER, EXECUTOR = "gpt-4.1", "gpt-4o-mini", "gpt-4o"
ENV = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
ADVICE = {
    "structural_pattern": "Hexagonal",  # upper case: normalised before the schema check
    "topology": "monolith",
    "api_paradigm": "rest",
    "data_paradigm": "relational",
    "rationale": "Ports keep the handlers testable; one process is enough at this scale.",
}
PLAN = {
    "tasks": [
        {
            "id": "core",
            "title": "Core",
            "prompt": "Write the service.",
            "task_type": "code",
            "output_file": "api/core.py",
            "critical": True,
        },
        {"id": "docs", "title": "Docs", "prompt": "Write the README.", "task_type": "writing", "depends_on": ["core"]},
    ]
}
CODE = "README for the service.\n```python\ndef health() -> dict:\n    return {'ok': True}\n```\n"
APPROVED = json.dumps({"approved": True, "findings": []})
REJECTED = json.dumps({"approved": False, "findings": ["health() must report the version too"]})
runner = CliRunner()


def config_map(base: str) -> dict[str, Any]:
    return rig_config_map(base, EXECUTOR, orchestrator=PLANNER, anthropic=True)


@pytest.fixture()
def config(served: tuple[FakeUpstream, str]) -> Any:
    return PodiumConfig.from_mapping(config_map(served[1]))


def ledger(home: Path) -> list[tuple[Any, ...]]:
    return (
        sqlite3.connect(home / "ledger.db")
        .execute("select project, task_type, provider, cost_usd from ledger_calls where status = 'ok'")
        .fetchall()
    )


def test_app_type_is_detected_from_the_description() -> None:
    assert detect_app_type("A REST API with JWT auth") == "fastapi"
    assert detect_app_type("A command-line tool that renames photos") == "cli"
    assert detect_app_type("Token bucket rate limiter") == "library"


async def test_advice_is_typed_retried_on_invalid_output_priced_and_recorded(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(ADVISOR, json.dumps({**ADVICE, "topology": "galaxy-brain"}), times=1)
    fake.script(ADVISOR, "Here you go:\n" + json.dumps(ADVICE), usage=Usage(300, 200))
    advisor = ArchitectureAdvisor(config, env=ENV, home=tmp_path, log_prompts=True)
    decision = await advisor.analyze("A REST API for notes", criteria="pytest passes")
    advisor.close()

    assert (decision.app_type, decision.structural_pattern, decision.topology) == ("fastapi", "hexagonal", "monolith")
    assert decision.model == f"openai:{ADVISOR}" and fake.count(ADVISOR) == 2
    assert "topology" in json.dumps(fake.requests[1].json)  # the schema problem was quoted back
    rows = ledger(tmp_path)
    assert {r[:2] for r in rows} == {(decision.run_id, "reasoning")}
    assert sum(Decimal(r[3]) for r in rows) == decision.cost_usd > 0
    record = RunStore.in_home(tmp_path).load(decision.run_id or "")
    assert record.result["structural_pattern"] == "hexagonal" and record.steps["advice"].prompts


async def test_advice_unusable_twice_or_over_budget_fails_cleanly(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(ADVISOR, json.dumps({"structural_pattern": "layered"}))
    advisor = ArchitectureAdvisor(config, env=ENV, home=tmp_path)
    with pytest.raises(InvalidModelOutputError, match="topology|required"):
        await advisor.analyze("A notes library")
    with pytest.raises(BudgetExceededError):
        await advisor.analyze("A notes library", max_usd=Decimal("0.000001"))
    with pytest.raises(ValidationError, match="--app-type"):
        await advisor.analyze("A notes library", app_type="mainframe")
    advisor.close()
    assert fake.count(ADVISOR) == 2  # nothing sent over budget or for a bad app type


def builder(config: Any, tmp_path: Path, **settings: Any) -> AppBuilder:
    return AppBuilder(config, env=ENV, home=tmp_path / "home", settings=RunSettings(task_max_tokens=1000, **settings))


async def test_build_advises_plans_reviews_across_providers_and_checks(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(ADVISOR, json.dumps(ADVICE))
    fake.script(PLANNER, json.dumps(PLAN))
    fake.script(EXECUTOR, CODE, usage=Usage(100, 100))
    fake.script("*", REJECTED, times=1)  # the reviewer's first verdict: fed into the retry
    fake.script("*", APPROVED)
    b = builder(config, tmp_path)
    result = await b.build("A REST API for notes", criteria="code compiles", output_dir=tmp_path / "out")
    b.close()

    assert result.success and result.profile.api_paradigm == "rest"
    planner_prompt = json.dumps(next(r.json for r in fake.requests if r.model == PLANNER))
    assert "structural pattern: hexagonal" in planner_prompt
    core = result.state.tasks["core"]
    retries = [r for r in fake.requests if r.model == EXECUTOR and "must report the version" in json.dumps(r.json)]
    assert core.runs == 2 and len(retries) == 1  # the review's finding was quoted to the executor
    assert [c.status for c in core.checks if c.check == "review"] == ["passed"]
    assert not [c for c in result.state.tasks["docs"].checks if c.check == "review"]  # not critical
    assert "api/core.py" in result.files_written and (tmp_path / "out" / "api" / "core.py").exists()
    passed, ran = result.checks
    assert passed == ran and ran >= 2
    rows = ledger(tmp_path / "home")
    reviews = [r for r in rows if r[1] == "review"]
    assert len(reviews) == 2 and {r[2] for r in reviews} == {"anthropic"}
    assert {r[0] for r in rows} == {result.project_id}
    assert sum(Decimal(r[3]) for r in rows) == result.cost_usd


async def test_build_budget_stop_then_resume_does_not_ask_for_advice_again(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(ADVISOR, json.dumps(ADVICE), usage=Usage(100, 100))
    fake.script(PLANNER, json.dumps(PLAN), usage=Usage(100, 100))
    fake.script(EXECUTOR, CODE, usage=Usage(100, 3000))  # $0.03025 a task
    fake.script("*", APPROVED)
    b = builder(config, tmp_path, review="off")
    stopped = await b.build("A notes library", output_dir=tmp_path / "out", max_usd="0.04", project_id="notes")
    assert not stopped.success and stopped.state.status == "paused" and fake.count(EXECUTOR) == 1
    resumed = await builder(config, tmp_path, review="off").resume("notes", max_usd="1")
    assert resumed.success and fake.count(ADVISOR) == 1 and fake.count(PLANNER) == 1 and fake.count(EXECUTOR) == 2
    assert resumed.profile.structural_pattern == "hexagonal"
    b.close()


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {**ENV, "PODIUM_HOME": str(tmp_path / "home")}


@pytest.fixture()
def workdir(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import yaml

    (tmp_path / "podium.yaml").write_text(yaml.safe_dump(config_map(served[1])))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_advise_and_build(fake: FakeUpstream, workdir: Path) -> None:
    fake.script(ADVISOR, json.dumps(ADVICE))
    fake.script(PLANNER, json.dumps(PLAN))
    fake.script(EXECUTOR, CODE)
    fake.script("*", APPROVED)
    advised = runner.invoke(app, ["app", "advise", "A REST API for notes", "--criteria", "fast"], env=cli_env(workdir))
    assert advised.exit_code == 0, advised.output
    assert "structural pattern: hexagonal" in advised.stdout and "rationale: Ports" in advised.stdout
    args = [
        "app",
        "build",
        "A REST API for notes",
        "--criteria",
        "code compiles",
        "-o",
        str(workdir / "api"),
        "--review",
        "all",
        "--json",
    ]
    built = runner.invoke(app, args, env=cli_env(workdir))
    assert built.exit_code == 0, built.output
    out = json.loads(built.stdout)
    assert out["success"] and out["architecture"]["topology"] == "monolith" and "api/core.py" in out["files_written"]
    assert out["checks"]["passed"] == out["checks"]["run"] > 0 and Decimal(out["cost_usd"]) > 0


def test_cli_budget_stop_and_resume(fake: FakeUpstream, workdir: Path) -> None:
    fake.script(ADVISOR, json.dumps(ADVICE), usage=Usage(100, 100))
    fake.script(PLANNER, json.dumps(PLAN), usage=Usage(100, 100))
    fake.script(EXECUTOR, CODE, usage=Usage(100, 3000))
    args = [
        "app",
        "build",
        "A notes library",
        "-o",
        str(workdir / "lib"),
        "--budget",
        "0.04",
        "--id",
        "nl",
        "--review",
        "off",
    ]
    stopped = runner.invoke(app, args, env=cli_env(workdir))
    assert stopped.exit_code == 1 and "`podium app resume nl --budget" in stopped.stderr
    resumed = runner.invoke(app, ["app", "resume", "nl", "--budget", "1"], env=cli_env(workdir))
    assert resumed.exit_code == 0, resumed.output
    assert "checks passed" in resumed.stdout and fake.count(ADVISOR) == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["app", "build", "x", "-o", "o", "--app-type", "mainframe"], "--app-type"),
        (["app", "build", " ", "-o", "o"], "description"),
        (["app", "build", "x", "-o", "o", "--review", "sometimes"], "--review"),
        (["app", "advise", "x", "--budget", "-1"], "--budget"),
        (["app", "resume", "missing"], "missing"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(fake: FakeUpstream, workdir: Path, args: list[str], named: str) -> None:
    result = runner.invoke(app, args, env=cli_env(workdir))
    assert result.exit_code == 2 and named in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and fake.count() == 0
