"""`podium project run` and `podium project draft` with only one provider's key: the planner is a model whose key is
set (said on stderr with the option that picks another), as `podium testgen` does; and a run that stopped says why
in `podium project list`.

Real CLI (typer's runner), real engine, HTTP to the fake upstream on loopback, real SQLite project store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.testing import FakeUpstream, serve

KEY = "sk-test-planner-choice-0123456789"
ONLY_OPENAI = {"OPENAI_API_KEY": KEY, "COLUMNS": "200"}


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as base:
        (tmp_path / "podium.yaml").write_text(
            "orchestration:\n  orchestrator: {model: anthropic:claude-sonnet-4-5}\n"
            "  fallback_strategy: {models: []}\n"
            f"providers:\n  openai: {{base_url: '{base}/v1'}}\n"
            "resilience:\n  retry: {max_attempts: 1}\n"
        )
        monkeypatch.chdir(tmp_path)
        yield upstream


def _planner_note(stderr: str, flag: str) -> None:
    assert "needs an API key" not in stderr, stderr
    assert "since anthropic:claude-sonnet-4-5 needs ANTHROPIC_API_KEY" in stderr, stderr
    assert f"choose another with {flag}" in stderr, stderr


def test_project_run_plans_with_a_model_whose_key_is_set(fake: FakeUpstream) -> None:
    fake.fail("*", 500, times=None)
    result = CliRunner().invoke(app, ["project", "run", "--project", "a tiny cli", "--budget", "0.5", "-o", "out"],
                                env=ONLY_OPENAI)  # fmt: skip
    _planner_note(result.stderr, "--orchestrator-model")
    assert fake.requests and all(r.provider == "openai" for r in fake.requests)


def test_project_draft_drafts_with_a_model_whose_key_is_set(fake: FakeUpstream) -> None:
    fake.fail("*", 500, times=None)
    result = CliRunner().invoke(app, ["project", "draft", "code review, max $2"], env=ONLY_OPENAI)
    _planner_note(result.stderr, "--model")
    assert fake.requests and all(r.provider == "openai" for r in fake.requests)


def test_a_run_that_failed_before_any_task_says_why_in_the_list(fake: FakeUpstream) -> None:
    runner = CliRunner()
    # An orchestrator named explicitly whose key is missing: the run fails while planning.
    failed = runner.invoke(app, ["project", "run", "--project", "a tiny cli", "--orchestrator-model",
                                 "anthropic:claude-haiku-4-5", "-o", "out"], env=ONLY_OPENAI)  # fmt: skip
    assert failed.exit_code != 0
    listed = runner.invoke(app, ["project", "list"], env=ONLY_OPENAI)
    assert "failed" in listed.stdout and "ANTHROPIC_API_KEY" in listed.stdout, listed.stdout
    rows = json.loads(runner.invoke(app, ["project", "list", "--json"], env=ONLY_OPENAI).stdout)
    assert "ANTHROPIC_API_KEY" in rows[0]["stop_reason"]
