"""`podium project run / resume / list / show` through the real CLI against the fake upstream on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.core.types import Usage
from podium.testing import FakeUpstream

runner = CliRunner()
KEY = "sk-test-project-cli-0123456789"
PLAN = {
    "tasks": [
        {
            "id": "core",
            "title": "Core",
            "prompt": "Write the bucket.",
            "task_type": "code",
            "output_file": "limiter/bucket.py",
            "acceptance": ["class"],
        },
        {
            "id": "docs",
            "title": "Docs",
            "prompt": "Write the README.",
            "task_type": "writing",
            "depends_on": ["core"],
            "acceptance": ["README"],
        },
    ]
}
ANSWER = "README\n```python\nclass TokenBucket:\n    rate = 1\n```\n"


@pytest.fixture()
def fake(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    fake, base = served
    fake.reset()
    (tmp_path / "podium.yaml").write_text(
        "orchestration:\n  orchestrator: {model: 'openai:gpt-4o-mini'}\n  fallback_strategy: {models: []}\n"
        f"providers:\n  openai: {{base_url: '{base}/v1'}}\n"
        "routing:\n  chains: {solo: ['openai:gpt-4o']}\n  chain: solo\n"
        "resilience:\n  retry: {max_attempts: 1}\n"
    )
    monkeypatch.chdir(tmp_path)
    return fake


def env(tmp_path: Path, columns: int | None = None) -> dict[str, str]:
    out = {"OPENAI_API_KEY": KEY, "PODIUM_HOME": str(tmp_path / "home")}
    return out if columns is None else {**out, "COLUMNS": str(columns)}


LONG_TITLE = "A token bucket rate limiter with a sliding window and a README"


@pytest.fixture()
def project_id(fake: FakeUpstream, tmp_path: Path) -> str:
    """One finished project with a long title."""
    fake.script("gpt-4o-mini", json.dumps(PLAN), usage=Usage(100, 100))
    fake.script("gpt-4o", ANSWER, usage=Usage(100, 100))
    args = ["project", "run", "--project", LONG_TITLE, "--criteria", "parses", "--budget", "2",
            "--output-dir", str(tmp_path / "out"), "--json"]
    result = runner.invoke(app, args, env=env(tmp_path))
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["id"])


@pytest.mark.parametrize("columns", [80, 100])
def test_project_list_keeps_id_title_and_status_whole(project_id: str, tmp_path: Path, columns: int) -> None:
    """In a narrow terminal the id a user copies into `resume` / `show`, the title and the status are never cut,
    and no line is wider than the terminal."""
    result = runner.invoke(app, ["project", "list"], env=env(tmp_path, columns))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    assert any(project_id in line for line in lines), "\n".join(lines)
    (listed,) = json.loads(runner.invoke(app, ["project", "list", "--json"], env=env(tmp_path)).stdout)
    assert any(listed["title"] in line for line in lines), "\n".join(lines)
    assert "completed" in result.stdout and "2/2" in result.stdout and "$2.00" in result.stdout


def test_a_wide_terminal_shows_one_table_row_per_project(project_id: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["project", "list"], env=env(tmp_path, 200))
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if project_id in line]
    assert LONG_TITLE[:40] in row and "completed" in row


def test_run_json_then_list_and_show(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.script("gpt-4o-mini", json.dumps(PLAN), usage=Usage(100, 100))
    fake.script("gpt-4o", ANSWER, usage=Usage(100, 100))
    out = tmp_path / "results"
    args = [
        "project",
        "run",
        "--project",
        "Token bucket rate limiter",
        "--criteria",
        "parses",
        "--budget",
        "2",
        "--output-dir",
        str(out),
        "--max-concurrency",
        "2",
        "--json",
    ]
    result = runner.invoke(app, args, env=env(tmp_path))
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert state["status"] == "completed" and state["budget"]["max_usd"] == "2"
    assert [t["status"] for t in state["tasks"]] == ["done", "done"]
    assert (out / "limiter" / "bucket.py").read_text().startswith("class TokenBucket")
    assert "forecast:" in result.stderr and "risk low" in result.stderr

    listed = runner.invoke(app, ["project", "list", "--json"], env=env(tmp_path))
    assert listed.exit_code == 0 and [p["id"] for p in json.loads(listed.stdout)] == [state["id"]]
    shown = runner.invoke(app, ["project", "show", state["id"], "--json"], env=env(tmp_path))
    assert json.loads(shown.stdout)["budget"]["spent_usd"] == state["budget"]["spent_usd"]
    table = runner.invoke(app, ["project", "list"], env=env(tmp_path))
    assert state["id"] in table.stdout and "2/2" in table.stdout


def test_budget_stop_exits_non_zero_and_resume_finishes(fake: FakeUpstream, tmp_path: Path) -> None:
    fake.script("gpt-4o-mini", json.dumps(PLAN))
    fake.script("gpt-4o", ANSWER, usage=Usage(100, 3000))  # $0.03025 a task
    project = tmp_path / "project.yaml"
    project.write_text("project:\n  description: Token bucket\nbudget:\n  max_usd: 0.045\n")
    args = ["project", "run", "--file", str(project), "--output-dir", str(tmp_path / "o"), "--id", "tb"]
    stopped = runner.invoke(app, args, env=env(tmp_path))
    assert stopped.exit_code == 1
    assert "project tb is paused (budget)" in stopped.stderr and "`podium project resume tb --budget" in stopped.stderr
    assert fake.count("gpt-4o") == 1

    resumed = runner.invoke(app, ["project", "resume", "tb", "--budget", "1", "--json"], env=env(tmp_path))
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["status"] == "completed" and fake.count("gpt-4o") == 2


def test_bad_yaml_is_one_line_naming_the_key(fake: FakeUpstream, tmp_path: Path) -> None:
    project = tmp_path / "project.yaml"
    project.write_text("project:\n  description: x\nbudget:\n  max_usd: lots\n")
    result = runner.invoke(app, ["project", "run", "--file", str(project)], env=env(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "budget.max_usd" in result.stderr
    assert "Traceback" not in result.output and fake.count() == 0


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["project", "run", "--project", "x", "--budget", "-3"], "--budget"),
        (["project", "run", "--project", "x", "--strategy", "lottery"], "lottery"),
        (["project", "resume", "missing-id"], "missing-id"),
        (["project", "show", "missing-id"], "podium project list"),
    ],
)
def test_bad_arguments_fail_cleanly(fake: FakeUpstream, tmp_path: Path, args: list[str], named: str) -> None:
    result = runner.invoke(app, args, env=env(tmp_path))
    assert result.exit_code == 2 and named in result.stderr and "Traceback" not in result.output
