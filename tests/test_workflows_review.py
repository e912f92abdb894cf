"""Cross-provider review inside project runs: which tasks are reviewed, by whom, what a bad reviewer reply does,
and where the review's cost goes. Real engine, ledger and store; the fake upstream serves OpenAI and Anthropic."""

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
from podium.core.types import Usage
from podium.testing import FakeUpstream
from podium.workflows.project import ProjectOrchestrator, ProjectSpec, RunSettings

KEY = "sk-test-review-0123456789"
EXECUTOR = "gpt-4o"
ANSWER = "Done.\n```python\nclass Part:\n    size = 1\n```\n"
TASKS = [
    {
        "id": "core",
        "title": "Core",
        "prompt": "Write the core.",
        "task_type": "code",
        "output_file": "p/core.py",
        "critical": True,
    },
    {"id": "extra", "title": "Extra", "prompt": "Write the extra.", "task_type": "code", "output_file": "p/extra.py"},
]
runner = CliRunner()


def config_map(base: str, *, anthropic: bool = True) -> dict[str, Any]:
    return rig_config_map(base, EXECUTOR, anthropic=anthropic)


def spec() -> ProjectSpec:
    return ProjectSpec.from_mapping(
        {"project": {"description": "A package"}, "budget": {"max_usd": "1"}, "tasks": TASKS}
    )


def orchestrator(base: str, home: Path, review: str, *, anthropic: bool = True) -> ProjectOrchestrator:
    env = {"OPENAI_API_KEY": KEY, **({"ANTHROPIC_API_KEY": KEY} if anthropic else {})}
    return ProjectOrchestrator(
        PodiumConfig.from_mapping(config_map(base, anthropic=anthropic)),
        env=env,
        home=home,
        settings=RunSettings(task_max_tokens=1000, review=review),
    )


def review_rows(home: Path) -> list[tuple[Any, ...]]:
    return (
        sqlite3.connect(home / "ledger.db")
        .execute("select provider, cost_usd from ledger_calls where task_type = 'review' and status = 'ok'")
        .fetchall()
    )


@pytest.mark.parametrize(("mode", "reviewed"), [("critical", ["core"]), ("all", ["core", "extra"]), ("off", [])])
async def test_review_mode_picks_the_tasks_and_the_reviewer_is_another_provider(
    fake: FakeUpstream, served: Any, tmp_path: Path, mode: str, reviewed: list[str]
) -> None:
    fake.script(EXECUTOR, ANSWER, usage=Usage(100, 100))
    fake.script("*", json.dumps({"approved": True, "findings": []}), usage=Usage(100, 20))
    orch = orchestrator(served[1], tmp_path, mode)
    state = await orch.run(spec(), output_dir=tmp_path / "out")
    orch.close()
    assert state.status == "completed"
    got = [t.id for t in state.tasks.values() if any(c.check == "review" for c in t.checks)]
    assert got == reviewed
    rows = review_rows(tmp_path)
    assert len(rows) == len(reviewed) and {r[0] for r in rows} <= {"anthropic"}
    task_only = Decimal(100) * Decimal("2.5") / 10**6 + Decimal(100) * Decimal(10) / 10**6
    for t in state.tasks.values():  # the review's cost is added to its task's
        review_cost = t.cost_usd - task_only
        assert (review_cost > 0) == (t.id in reviewed)
    assert sum(Decimal(r[1]) for r in rows) == state.spent_usd - 2 * task_only


async def test_unusable_reviewer_reply_is_skipped_not_fatal(fake: FakeUpstream, served: Any, tmp_path: Path) -> None:
    fake.script(EXECUTOR, ANSWER)
    fake.script("*", "Looks fine to me!")  # no JSON, twice
    orch = orchestrator(served[1], tmp_path, "critical")
    state = await orch.run(spec(), output_dir=tmp_path / "out")
    orch.close()
    review = next(c for c in state.tasks["core"].checks if c.check == "review")
    assert state.status == "completed" and review.status == "skipped" and "unusable" in review.reason
    assert len(review_rows(tmp_path)) == 2  # both attempts were priced on the ledger


async def test_no_other_provider_means_no_review(fake: FakeUpstream, served: Any, tmp_path: Path) -> None:
    fake.script(EXECUTOR, ANSWER)
    orch = orchestrator(served[1], tmp_path, "all", anthropic=False)
    state = await orch.run(spec(), output_dir=tmp_path / "out")
    orch.close()
    review = next(c for c in state.tasks["core"].checks if c.check == "review")
    assert review.status == "skipped" and "other than openai" in review.reason
    assert fake.count() == 2 and state.status == "completed"


async def test_rejection_is_retried_with_the_findings_and_fails_when_never_approved(
    fake: FakeUpstream, served: Any, tmp_path: Path
) -> None:
    fake.script(EXECUTOR, ANSWER)
    fake.script("*", json.dumps({"approved": False, "findings": ["size must be 2"]}))
    orch = orchestrator(served[1], tmp_path, "critical")
    state = await orch.run(spec(), output_dir=tmp_path / "out")
    orch.close()
    core = state.tasks["core"]
    assert core.status == "failed" and core.runs == 2 and "size must be 2" in (core.error or "")
    assert any("size must be 2" in json.dumps(r.json) for r in fake.requests if r.model == EXECUTOR)
    assert state.tasks["extra"].status == "done" and state.status == "failed"


def test_cli_review_flag(fake: FakeUpstream, served: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "podium.yaml").write_text(yaml.safe_dump(config_map(served[1])))
    (tmp_path / "project.yaml").write_text(yaml.safe_dump(spec().to_dict()))
    monkeypatch.chdir(tmp_path)
    fake.script(EXECUTOR, ANSWER)
    fake.script("*", json.dumps({"approved": True, "findings": []}))
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY, "PODIUM_HOME": str(tmp_path / "home")}
    result = runner.invoke(app, ["project", "run", "--file", "project.yaml", "--review", "all", "--json"], env=env)
    assert result.exit_code == 0, result.output
    checks = [c["check"] for t in json.loads(result.stdout)["tasks"] for c in t["checks"]]
    assert checks.count("review") == 2
    bad = runner.invoke(app, ["project", "run", "--file", "project.yaml", "--review", "often"], env=env)
    assert bad.exit_code == 2 and "--review" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
