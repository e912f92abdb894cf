"""A project whose only criterion could not be checked (pytest is missing) is not reported as completed: it is
``completed_unverified`` in the run's result, `project show` and `project list`.

The project runs end to end: real engine, HTTP to the fake upstream on loopback, real SQLite checkpoints, and a real
child process standing in for a Python without pytest."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.testing import FakeUpstream, serve
from podium.workflows.project import ProjectOrchestrator, RunSettings, load_project_file
from podium.workflows.project.tools import CheckTools

KEY = "sk-test-newcomer-project-0123456789"
CODER = "openai:junior-coder"
ANSWER = (
    "```python\n# file: bucket.py\nclass Bucket:\n    size = 1\n```\n"
    "```python\n# file: tests/test_bucket.py\nfrom bucket import Bucket\n\n\ndef test_size():\n"
    "    assert Bucket.size == 1\n```\n"
)


@pytest.fixture()
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as base_url:
        yield upstream, base_url


def _python_without_pytest(tmp: Path) -> str:
    """An interpreter stand-in that answers as a Python without pytest does."""
    exe = tmp / "python-no-pytest"
    exe.write_text(
        '#!/bin/sh\ncase "$*" in *"-m pytest"*) echo "python: No module named pytest" >&2; exit 1;; esac\n'
        f'exec {sys.executable} "$@"\n'
    )
    exe.chmod(0o755)
    return str(exe)


async def test_a_project_whose_only_criterion_was_skipped_is_completed_unverified(
    fake: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream, base_url = fake
    upstream.script("junior-coder", ANSWER)
    config = PodiumConfig.from_mapping({
        "providers": {"openai": {"base_url": base_url + "/v1"}},
        "orchestration": {"orchestrator": {"model": "openai:gpt-4o-mini"}, "fallback_strategy": {"models": []}},
        "models": [{"id": CODER, "input_per_million": "0.1", "output_per_million": "0.1", "quality_tier": "basic",
                    "context_window": 128000, "capabilities": ["code"]}],
        "resilience": {"retry": {"max_attempts": 1}},
    })
    home = tmp_path / "home"
    settings = RunSettings(strategy="cheapest", candidates=(CODER,), task_max_tokens=1000,
                           check_tools=CheckTools(python=_python_without_pytest(tmp_path)))
    spec_file = tmp_path / "project.yaml"
    spec_file.write_text(
        "project:\n  description: A bucket\n  success_criteria: pytest passes\nbudget:\n  max_usd: 1\n"
        'tasks: [{"id": "core", "title": "Bucket", "prompt": "Write it.", "task_type": "code", '
        '"output_file": "bucket.py"}]\n'
    )
    orch = ProjectOrchestrator(config, env={"OPENAI_API_KEY": KEY}, home=home, settings=settings)
    try:
        state = await orch.run(load_project_file(spec_file), output_dir=tmp_path / "out")
    finally:
        orch.close()

    pytest_check = next(c for c in state.tasks["core"].checks if c.check == "pytest")
    assert pytest_check.status == "skipped", json.dumps(state.tasks["core"].to_dict(), default=str)
    assert state.status == "completed_unverified", json.dumps(state.tasks["core"].to_dict(), default=str)
    assert state.stop_reason is not None and "pytest is not installed" in state.stop_reason

    monkeypatch.setenv("PODIUM_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "200")
    shown = CliRunner().invoke(app, ["project", "show", state.id])
    assert shown.exit_code == 0, shown.output
    assert "completed_unverified" in shown.output and "no success criterion was checked" in shown.output
    listed = CliRunner().invoke(app, ["project", "list", "--json"])
    assert [r["status"] for r in json.loads(listed.output)] == ["completed_unverified"]
    table = CliRunner().invoke(app, ["project", "list"])
    assert "completed_unverified" in table.output
    assert os.environ["PODIUM_HOME"] == str(home)
