"""`podium project list` stays readable in an 80-column terminal: the id a user copies into `resume` / `show`, the
title and the status are never cut, and no line is wider than the terminal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

runner = CliRunner()
KEY = "sk-test-project-list-0123456789"
PLAN = {"tasks": [{"id": "core", "title": "Core", "prompt": "Write the bucket.", "task_type": "code",
                   "output_file": "limiter/bucket.py", "acceptance": ["class"]}]}
ANSWER = "```python\nclass TokenBucket:\n    rate = 1\n```\n"
TITLE = "A token bucket rate limiter with a sliding window and a README"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture()
def project_id(served: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    fake, base = served
    fake.reset()
    (tmp_path / "podium.yaml").write_text(
        "orchestration:\n  orchestrator: {model: 'openai:gpt-4o-mini'}\n  fallback_strategy: {models: []}\n"
        f"providers:\n  openai: {{base_url: '{base}/v1'}}\n"
        "routing:\n  chains: {solo: ['openai:gpt-4o']}\n  chain: solo\n"
        "resilience:\n  retry: {max_attempts: 1}\n"
    )
    monkeypatch.chdir(tmp_path)
    fake.script("gpt-4o-mini", json.dumps(PLAN), usage=Usage(100, 100))
    fake.script("gpt-4o", ANSWER, usage=Usage(100, 100))
    args = ["project", "run", "--project", TITLE, "--criteria", "parses", "--budget", "2",
            "--output-dir", str(tmp_path / "out"), "--json"]
    result = runner.invoke(app, args, env=_env(tmp_path))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["id"]


def _env(tmp_path: Path, columns: int = 120) -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "PODIUM_HOME": str(tmp_path / "home"), "COLUMNS": str(columns)}


@pytest.mark.parametrize("columns", [80, 100])
def test_project_list_keeps_id_title_and_status_whole(project_id: str, tmp_path: Path, columns: int) -> None:
    result = runner.invoke(app, ["project", "list"], env=_env(tmp_path, columns))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), "\n".join(lines)
    assert any(project_id in line for line in lines), "\n".join(lines)
    (listed,) = json.loads(runner.invoke(app, ["project", "list", "--json"], env=_env(tmp_path)).stdout)
    assert any(listed["title"] in line for line in lines), "\n".join(lines)
    assert "completed" in result.stdout and "1/1" in result.stdout and "$2.00" in result.stdout


def test_a_wide_terminal_shows_one_table_row_per_project(project_id: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["project", "list"], env=_env(tmp_path, 200))
    assert result.exit_code == 0, result.output
    (row,) = [line for line in result.stdout.splitlines() if project_id in line]
    assert TITLE[:40] in row and "completed" in row
