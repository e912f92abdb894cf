"""Intent to job: drafting and refining a job spec and policy file, then running it with the policy enforced before
anything is sent. Real engine, ledger and stores on SQLite, the fake upstream on loopback (OpenAI only: US models).
"""

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
from podium.core.errors import BudgetExceededError, PolicyViolationError, ValidationError
from podium.testing import FakeUpstream
from podium.workflows.project import JobDrafter, ProjectOrchestrator, RunSettings, load_project_file, read_draft
from podium.workflows.typed import InvalidModelOutputError

KEY = "sk-test-draft-0123456789"
DRAFTER, EXECUTOR = "gpt-4o-mini", "gpt-4o"  # the orchestrator model drafts (and plans)
INTENT = "Pipeline for code review, EU data only, max $2"
runner = CliRunner()


def drafted(max_usd: float = 2.0, regions: list[str] | None = None) -> str:
    return json.dumps(
        {
            "project": {
                "title": "Code review pipeline",
                "description": "Review pull requests and report problems.",
                "success_criteria": "a report per pull request",
            },
            "budget": {"max_usd": max_usd, "max_time_seconds": 1800},
            "policy": {
                "name": "eu-data",
                "enforcement_mode": "hard",
                "allowed_regions": regions or ["eu"],
                "allowed_providers": None,
                "denied_providers": [],
                "allow_training_on_output": False,
                "max_cost_per_task_usd": None,
                "min_quality_tier": None,
            },
            "rationale": "EU data only becomes allowed_regions [eu]; the stated $2 is the budget.",
        }
    )


PLAN = json.dumps(
    {
        "tasks": [
            {
                "id": "review",
                "title": "Review",
                "prompt": "Review the diff.",
                "task_type": "writing",
                "acceptance": ["report"],
            }
        ]
    }
)


def config_map(base: str) -> dict[str, Any]:
    return rig_config_map(base, EXECUTOR, orchestrator=DRAFTER)


@pytest.fixture()
def config(served: tuple[FakeUpstream, str]) -> Any:
    return PodiumConfig.from_mapping(config_map(served[1]))


def drafter(config: Any, tmp_path: Path) -> JobDrafter:
    return JobDrafter(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home")


async def test_draft_refine_write_and_run_with_the_policy_enforced(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(DRAFTER, drafted(max_usd=5), times=1)  # ignores the stated $2: retried with the problem quoted
    fake.script(DRAFTER, drafted(), times=1)
    d = drafter(config, tmp_path)
    draft = await d.draft(INTENT)
    assert "asked for $2" in json.dumps(fake.requests[1].json)
    assert draft.job.budget.max_usd == Decimal(2) and draft.policy.allowed_regions == ("eu",)
    assert draft.rationale.startswith("EU data only") and draft.cost_usd > 0
    job, policy = draft.write(tmp_path / "job.yaml")
    assert yaml.safe_load(policy.read_text())["global"][0]["allowed_regions"] == ["eu"]
    assert read_draft(job).intent == INTENT

    orch = ProjectOrchestrator(
        config, env={"OPENAI_API_KEY": KEY}, home=tmp_path / "home", settings=RunSettings(review="off")
    )
    sent = fake.count()
    with pytest.raises(PolicyViolationError, match="eu"):  # only EU models allowed; none is configured
        await orch.run(load_project_file(job), output_dir=tmp_path / "out")
    assert fake.count() == sent  # the control plane refused before anything was sent

    fake.script(DRAFTER, drafted(max_usd=5, regions=["eu", "us"]), times=1)
    refined = await d.refine(read_draft(job), "raise budget to $5, allow US models")
    d.close()
    assert "eu-data" in json.dumps(fake.requests[-1].json)  # the current draft was quoted
    assert refined.job.budget.max_usd == Decimal(5) and refined.refinements == ("raise budget to $5, allow US models",)
    refined.write(job)
    fake.script(DRAFTER, PLAN)
    fake.script(EXECUTOR, "The report: no problems found.")
    state = await orch.run(load_project_file(job), output_dir=tmp_path / "out")
    orch.close()
    assert state.status == "completed" and state.budget_usd == Decimal(5)
    assert state.spec.policy.rules[0].allowed_regions == ("eu", "us")
    rows = sqlite3.connect(tmp_path / "home" / "ledger.db").execute("select task_type from ledger_calls").fetchall()
    assert sorted(r[0] for r in rows) == ["planning", "planning", "planning", "planning", "writing"]


async def test_unusable_output_budget_and_empty_intent_fail_cleanly(
    fake: FakeUpstream, config: Any, tmp_path: Path
) -> None:
    fake.script(
        DRAFTER,
        json.dumps(
            {
                "project": {"description": "x"},
                "budget": {"max_usd": 2},
                "policy": {"name": "p", "allowed_regions": "eu"},
                "rationale": "r",
            }
        ),
    )
    d = drafter(config, tmp_path)
    with pytest.raises(InvalidModelOutputError, match="allowed_regions"):
        await d.draft(INTENT)
    with pytest.raises(BudgetExceededError):
        await d.draft(INTENT, max_usd=Decimal("0.0000001"))
    with pytest.raises(ValidationError, match="intent"):
        await d.draft("  ")
    d.close()
    assert fake.count() == 2


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "PODIUM_HOME": str(tmp_path / "home")}


@pytest.fixture()
def workdir(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "podium.yaml").write_text(yaml.safe_dump(config_map(served[1])))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_draft_refine_then_run(fake: FakeUpstream, workdir: Path) -> None:
    fake.script(DRAFTER, drafted(), times=1)
    made = runner.invoke(app, ["project", "draft", INTENT, "--out", "job.yaml"], env=cli_env(workdir))
    assert made.exit_code == 0, made.output
    assert "allowed_regions" in made.stdout and "rationale: EU data only" in made.stdout
    assert "podium project run --file job.yaml" in made.stderr
    refused = runner.invoke(app, ["project", "run", "--file", "job.yaml", "-o", "out"], env=cli_env(workdir))
    assert refused.exit_code != 0 and "policy" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert fake.count() == 1

    fake.script(DRAFTER, drafted(max_usd=5, regions=["eu", "us"]), times=1)
    again = runner.invoke(
        app, ["project", "draft", "--refine", "raise budget to $5, allow US models", "--json"], env=cli_env(workdir)
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["job"]["budget"]["max_usd"] == "5"
    fake.script(DRAFTER, PLAN)
    fake.script(EXECUTOR, "The report: fine.")
    ran = runner.invoke(app, ["project", "run", "--file", "job.yaml", "-o", "out", "--json"], env=cli_env(workdir))
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["status"] == "completed"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["project", "draft"], "intent"),
        (["project", "draft", "x", "--budget", "free"], "--budget"),
        (["project", "draft", "--refine", "more", "--out", "missing.yaml"], "missing.yaml"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(fake: FakeUpstream, workdir: Path, args: list[str], named: str) -> None:
    result = runner.invoke(app, args, env=cli_env(workdir))
    assert result.exit_code == 2 and named in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1 and fake.count() == 0
