"""`podium project run -o out` and `podium project show ID` in an 80-column terminal: the task table never cuts a
model id or an output path (a narrow terminal stacks each task as lines instead).

Real CLI (typer's runner), real engine, HTTP to the fake upstream on loopback, real SQLite project store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.testing import FakeUpstream, serve

KEY = "sk-test-project-table-0123456789"
CODER = "openai:junior-coder-with-a-rather-long-model-name"
TASK = "core-bucket-implementation-module"
ANSWER = "```python\n# file: bucket.py\nclass Bucket:\n    size = 1\n```\n"
ENV = {"OPENAI_API_KEY": KEY, "COLUMNS": "80"}


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as base:
        (tmp_path / "podium.yaml").write_text(
            "orchestration:\n  orchestrator: {model: openai:gpt-4o-mini}\n  fallback_strategy: {models: []}\n"
            f"providers:\n  openai: {{base_url: '{base}/v1'}}\n"
            f"routing:\n  candidates: ['{CODER}']\n"
            f"models:\n  - {{id: '{CODER}', input_per_million: '0.1', output_per_million: '0.1', "
            "quality_tier: basic, context_window: 128000, capabilities: [code]}\n"
            "resilience:\n  retry: {max_attempts: 1}\n"
        )
        (tmp_path / "project.yaml").write_text(
            "project:\n  description: A bucket\nbudget:\n  max_usd: 1\n"
            'tasks: [{"id": "' + TASK + '", "title": "Bucket", "prompt": "Write it.", "task_type": "code", '
            '"output_file": "bucket.py"}]\n'
        )
        monkeypatch.chdir(tmp_path)
        yield upstream


def test_the_task_table_keeps_model_ids_and_paths_whole_at_80_columns(fake: FakeUpstream) -> None:
    fake.script("junior-coder-with-a-rather-long-model-name", ANSWER, times=None)
    runner = CliRunner()
    run = runner.invoke(app, ["project", "run", "--file", "project.yaml", "-o", "out", "--review", "off"], env=ENV)
    assert fake.requests, run.output
    state = json.loads(runner.invoke(app, ["project", "list", "--json"], env=ENV).stdout)[0]
    show = runner.invoke(app, ["project", "show", state["id"]], env=ENV)
    tasks = json.loads(runner.invoke(app, ["project", "show", state["id"], "--json"], env=ENV).stdout)["tasks"]
    task = next(t for t in tasks if t["id"] == TASK)
    assert len(task["output_path"]) > 30
    for output in (run.stdout, show.stdout):
        assert CODER in output, output
        assert task["output_path"] in output, output
        assert all(c["reason"] in " ".join(output.split()) for c in task["checks"]), output
        assert "…" not in output, output
        assert all(len(line) <= 80 for line in output.splitlines()), output
