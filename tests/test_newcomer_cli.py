"""Small things a newcomer meets in the first hour: honest timings, ledger paths that are typos, `logs -n 0`, and
Ctrl-C."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.context import CLIState
from podium.cli.main import EXIT_INTERRUPTED, PodiumGroup, app
from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

runner = CliRunner()
KEY = "test-key-0123456789"
MODEL = "openai:gpt-4o-mini"


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def test_the_stats_line_counts_every_attempt_not_only_the_last(
    upstream: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, base = upstream
    fake.reset()
    wire = Catalog.bundled().get(MODEL).api_model
    fake.delay(wire, 0.4, times=1)  # the first attempt is slow, then fails; the retry answers at once
    fake.fail(wire, 503, times=1)
    fake.script(wire, "Four.", usage=Usage(input_tokens=5, output_tokens=2))
    (tmp_path / "podium.yaml").write_text(
        "orchestration:\n  fallback_strategy: {models: []}\n"
        f"providers:\n  openai: {{base_url: '{base}/v1'}}\n"
        "resilience:\n  retry: {max_attempts: 2, base_delay: 0, jitter: 0}\n  breaker: {enabled: false}\n"
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["ask", "2+2?", "-m", MODEL], env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert fake.count(wire) == 2
    shown = re.search(r"· (\d+) ms$", result.stderr.strip())
    assert shown is not None, result.stderr
    assert int(shown.group(1)) >= 400  # the caller waited for both attempts


def test_a_db_path_that_does_not_exist_is_an_error_not_an_empty_ledger(tmp_path: Path) -> None:
    typo = tmp_path / "ledgr.db"
    for args in (["costs", "report"], ["costs", "stats"], ["logs"]):
        result = runner.invoke(app, [*args, "--db", str(typo)])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: --db {typo}: no ledger there") and result.stderr.count("\n") == 1
        assert not typo.exists()


@pytest.mark.parametrize("count", ["0", "-1"])
def test_logs_n_0_is_refused_and_all_is_its_own_flag(count: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["logs", "-n", count])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: -n {count} is not valid: give how many rows to show (1 or more), or --all for every row\n"
    )
    assert runner.invoke(app, ["logs", "--all"]).exit_code == 0


def test_ctrl_c_says_what_was_interrupted() -> None:
    root = typer.Typer(cls=PodiumGroup)

    @root.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = CLIState()

    @root.command("eval")
    def long_job() -> None:
        raise KeyboardInterrupt

    result = runner.invoke(root, ["eval"])
    assert result.exit_code == EXIT_INTERRUPTED == 130
    assert "eval was interrupted (Ctrl-C) before it finished" in result.stderr


@pytest.mark.parametrize("columns", ["80", "120"])
def test_tables_show_model_ids_and_request_ids_whole(
    columns: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ask = ["ask", "Write a function to filter odd numbers.", "--replay", "--json"]
    for model in ("openai:gpt-3.5-turbo-1106", "openai:gpt-4-1106-preview"):
        assert runner.invoke(app, [*ask, "--model", model]).exit_code == 0
    env = {"COLUMNS": columns}
    logs = runner.invoke(app, ["logs", "--json"])
    request_ids = {f"{r['request_id']}#{r['attempt']}" for r in json.loads(logs.stdout)}
    for args in (["logs"], ["costs", "report", "--by", "model"], ["costs", "stats"]):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        assert "…" not in result.stdout, result.stdout
        assert all(len(line) <= int(columns) for line in result.stdout.splitlines())
    shown = runner.invoke(app, ["logs"], env=env).stdout
    assert "openai:gpt-3.5-turbo-1106" in shown and "openai:gpt-4-1106-preview" in shown
    assert all(rid in shown for rid in request_ids)
    report = runner.invoke(app, ["costs", "report", "--by", "model"], env=env).stdout
    assert "openai:gpt-3.5-turbo-1106" in report and "openai:gpt-4-1106-preview" in report
