"""A blank --model or --host is a one-line usage error naming the flag (exit 2), never a routed call or a server
bound under an empty name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("model", ["", "   "])
def test_blank_model_is_a_usage_error(model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"PODIUM_HOME": str(tmp_path / "h"), "OPENAI_API_KEY": "sk-test-0123456789"}
    result = runner.invoke(app, ["ask", "hi", "--model", model], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--model" in result.stderr and "empty" in result.stderr
    assert "no model can be reached" not in result.stderr
    assert not (tmp_path / "h" / "ledger.db").exists()  # nothing was called or charged


@pytest.mark.parametrize("host", ["", " "])
def test_blank_host_is_a_usage_error(host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["serve", "--host", host, "--port", "0"], env={"PODIUM_HOME": str(tmp_path / "h")})
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--host" in result.stderr and "empty" in result.stderr
    assert "http://" not in result.stderr  # no banner: the server never started
