"""`podium policy explain` after `podium policy check policies.yaml`: it explains the file it is given (as an
argument, like `check`), says where its policies came from, and exits 1 when a hard policy denies the model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app

runner = CliRunner()
POLICIES = """\
team:
  eng:
    - name: eu_only
      allowed_regions: [eu]
      enforcement_mode: hard
"""


@pytest.fixture()
def policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "policies.yaml"
    path.write_text(POLICIES)
    assert runner.invoke(app, ["policy", "check", str(path)]).exit_code == 0
    return path


def test_explain_takes_the_checked_file_and_exits_1_when_denied(policies: Path) -> None:
    result = runner.invoke(app, ["policy", "explain", "openai:gpt-4o", str(policies), "--team", "eng"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[:2] == ["openai:gpt-4o: DENIED", f"  policies from {policies}"]
    as_json = runner.invoke(
        app, ["policy", "explain", "openai:gpt-4o", "--file", str(policies), "--team", "eng", "--json"]
    )
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["allowed"] is False


def test_without_a_file_or_configured_policies_it_says_so(policies: Path) -> None:
    result = runner.invoke(app, ["policy", "explain", "openai:gpt-4o", "--team", "eng"])
    assert result.exit_code == 0
    assert "no policies are configured" in result.stdout
    assert "podium policy explain MODEL policies.yaml" in result.stdout


def test_a_team_the_file_does_not_cover_is_named(policies: Path) -> None:
    result = runner.invoke(app, ["policy", "explain", "openai:gpt-4o", str(policies), "--team", "sales"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"openai:gpt-4o: allowed: no policy in {policies} applies to team sales"
