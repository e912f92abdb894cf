"""`podium ask "..." --max-cost 0.01` on a routed call: the cap still bounds the worst case before anything is sent,
and when the model's full output allowance would not fit, the error says so and names a `--max-tokens` that does;
the README's example (with that flag) answers.

Real CLI (typer's runner), real engine and SQLite ledger, HTTP to the fake upstream on loopback."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app
from podium.testing import FakeUpstream, serve

KEY = "sk-test-cost-cap-0123456789"
ONLY_OPENAI = {"OPENAI_API_KEY": KEY}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeUpstream]:
    upstream = FakeUpstream(api_key=KEY)
    with serve(upstream.app) as base:
        (tmp_path / "podium.yaml").write_text(
            f"providers:\n  openai: {{base_url: '{base}/v1'}}\nresilience:\n  retry: {{max_attempts: 1}}\n"
        )
        monkeypatch.chdir(tmp_path)
        yield upstream


def test_a_refused_call_names_the_output_allowance_and_a_max_tokens_that_fits(fake: FakeUpstream) -> None:
    runner = CliRunner()
    refused = runner.invoke(app, ["ask", "What is 2+2?", "--max-cost", "0.01"], env=ONLY_OPENAI)
    assert refused.exit_code == 1
    assert fake.requests == []  # the worst case was bounded before sending
    assert "full output allowance" in refused.stderr, refused.stderr
    found = re.search(r"--max-tokens (\d+)", refused.stderr)
    assert found, refused.stderr
    answered = runner.invoke(app, ["ask", "What is 2+2?", "--max-cost", "0.01", "--max-tokens", found.group(1)],
                             env=ONLY_OPENAI)  # fmt: skip
    assert answered.exit_code == 0, answered.output
    assert len(fake.requests) == 1


def test_the_readme_max_cost_example_answers(fake: FakeUpstream) -> None:
    line = next(x for x in (ROOT / "README.md").read_text().splitlines() if x.startswith("podium ask") and "--max-cost" in x)
    args = line.split("#")[0].split()[1:]
    assert "--max-tokens" in args, line
    args[args.index('"..."')] = "What is 2+2?"
    result = CliRunner().invoke(app, args, env=ONLY_OPENAI)
    assert result.exit_code == 0, result.output
