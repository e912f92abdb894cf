"""Every model the config names is checked against the catalog (with the config's own `models:`), and `podium
models` lists that same catalog, loading the config the way `ask` does."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.catalog.references import check_model_references, model_references
from podium.cli.main import app
from podium.config import PodiumConfig, load_config

runner = CliRunner()
HINT = "run `podium models` to list models, or add it under `models:`"

TYPOS = textwrap.dedent(
    """\
    default_model: gpt-4o-mni
    orchestration:
      orchestrator:
        model: claude-sonet-4.5
      fallback_strategy:
        models: [gemini-2.5-pro, lama-3.3-70b-versatile]
    routing:
      candidates:
        - openai:gpt-4o-mini
        - anthropic:claude-haiku-4.5x
    """
)

PHI4 = textwrap.dedent(
    """\
    models:
      - id: ollama:phi4
        input_per_million: 0
        output_per_million: 0
        context_window: 16384
        aliases: [phi4-local]
    """
)


def test_the_built_in_defaults_name_only_known_models() -> None:
    config = PodiumConfig()
    keys = [key for key, _ in model_references(config)]
    assert "orchestration.orchestrator.model" in keys and "routing.task_table.code.primary" in keys
    assert check_model_references(config, Catalog.bundled()) == []


def test_each_bad_reference_has_its_key_and_suggestions() -> None:
    config = PodiumConfig.from_mapping(
        {"routing": {"judge_model": "gpt-5-mimi", "chains": {"mine": ["openai:gpt-4o", "nope:x"]}},
         "server": {"keys": [{"id": "k", "key_env": "K", "allowed_models": ["openai:*", "podium/auto", "gpt-4o-mnii"]}]}}
    )
    bad = {ref.key: ref for ref in check_model_references(config, Catalog.bundled())}
    assert set(bad) == {"routing.judge_model", "routing.chains.mine[1]", "server.keys[0].allowed_models[2]"}
    assert bad["routing.judge_model"].suggestions[0] == "gpt-5-mini"
    assert bad["routing.judge_model"].message() == (
        "routing.judge_model = 'gpt-5-mimi' is not a known model (did you mean gpt-5-mini, gpt-4o-mini, "
        f"gpt-4.1-mini?); {HINT}"
    )


def test_config_check_reports_every_typo_with_file_line_and_suggestion(tmp_path: Path) -> None:
    cfg = tmp_path / "podium.yaml"
    cfg.write_text(TYPOS)
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        (f"error: {cfg} line 1: default_model = 'gpt-4o-mni' is not a known model "
        f"(did you mean gpt-4o-mini, gpt-4.1-mini, gpt-5-mini?); {HINT}"),
        (f"error: {cfg} line 4: orchestration.orchestrator.model = 'claude-sonet-4.5' is not a known model "
        f"(did you mean claude-sonnet-4.5, claude-sonnet-4.0, claude-sonnet-3.5?); {HINT}"),
        (f"error: {cfg} line 6: orchestration.fallback_strategy.models[1] = 'lama-3.3-70b-versatile' is not a known "
        f"model (did you mean llama-3.3-70b-versatile, llama-2-70b-chat?); {HINT}"),
        (f"error: {cfg} line 10: routing.candidates[1] = 'anthropic:claude-haiku-4.5x' is not a known model "
        f"(did you mean anthropic:claude-haiku-4-5, anthropic:claude-3-haiku, anthropic:claude-3-5-haiku?); {HINT}"),
    ]


def test_config_check_names_the_variable_a_bad_model_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM__ROUTING__JUDGE_MODEL", "gpt-5-mimi")
    result = runner.invoke(app, ["config", "check", "--json"])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: environment variable PODIUM__ROUTING__JUDGE_MODEL: routing.judge_model = 'gpt-5-mimi' is not a known"
    )


def test_config_check_accepts_models_the_config_adds(tmp_path: Path) -> None:
    cfg = tmp_path / "podium.yaml"
    cfg.write_text("default_model: phi4-local\n" + PHI4)
    result = runner.invoke(app, ["config", "check", str(cfg)])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"ok: {cfg} is valid\n")


def test_config_check_without_a_file_says_the_defaults_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("ok: no config file found; the built-in defaults are valid\n")


def test_models_lists_the_models_the_config_adds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(PHI4)
    result = runner.invoke(app, ["models", "--json", "--provider", "ollama"])
    assert result.exit_code == 0, result.output
    listed = {m["id"]: m for m in json.loads(result.stdout)}
    assert listed["ollama:phi4"]["context_window"] == 16384
    assert "phi4-local" in listed["ollama:phi4"]["aliases"]
    assert "ollama:phi4" in {s.id for s in Catalog.default().with_overrides(load_config(tmp_path / "podium.yaml").config.models)}


def test_models_fails_on_an_invalid_config_like_ask(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: nope\n")
    models = runner.invoke(app, ["-c", str(bad), "models"])
    ask = runner.invoke(app, ["-c", str(bad), "ask", "hi", "--replay"])
    assert models.exit_code == 2
    assert models.stderr == f"error: {bad} line 1: mode = 'nope' is not valid: input should be 'live' or 'replay'\n"
    assert (ask.exit_code, ask.stderr) == (models.exit_code, models.stderr)
