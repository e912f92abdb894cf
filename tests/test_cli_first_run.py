"""A first-time user's slips, through the real CLI: each is one line naming the flag and what is valid, exit 2
(usage) or 1 (runtime), found before any work starts."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium.cli.main import app, package_version
from podium.routing.datasets import load_bundled

runner = CliRunner()


# -- the root command ----------------------------------------------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"podium {package_version()}\n"
    assert package_version()[0].isdigit()


def test_a_misspelt_command_gets_a_suggestion_among_lazily_mounted_groups() -> None:
    result = runner.invoke(app, ["modles"])
    assert result.exit_code == 2
    assert "No such command 'modles'. Did you mean 'models'?" in result.stderr


@pytest.mark.parametrize("argv", [["--help"], ["costs", "report", "--help"], ["serve", "--help"], ["config", "check", "--help"]])
def test_help_shows_no_value_type_beside_flags(argv: list[str]) -> None:
    result = runner.invoke(app, argv, env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    assert "--help" in result.stdout
    flag_lines = [line for line in result.stdout.splitlines() if "--help" in line or "--json" in line]
    assert flag_lines and all("<" not in line for line in flag_lines)


# -- serve ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["80000", "-1"])
def test_serve_rejects_a_port_out_of_range(port: str) -> None:
    result = runner.invoke(app, ["serve", "--port", port])
    assert result.exit_code == 2
    assert result.stderr == f"error: --port {port} is not valid (server.port): use a whole number from 0 to 65535\n"


def test_serve_on_a_taken_port_fails_before_the_banner(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PODIUM_HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-m", "podium", "serve", "--port", str(port), "--replay"],
            check=False, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr == f"error: port {port} on 127.0.0.1 is already in use; pick another with --port\n"
    assert done.stdout == ""


# -- eval --plot / costs --plot -----------------------------------------------------------------------------------


def _write_routerbench(path: Path, count: int) -> None:
    """A small RouterBench-format CSV made from the bundled records."""
    records = [r for r in load_bundled(include_gsm8k=False)][:count]
    models = sorted({m for r in records for m in r.outcomes})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sample_id", "prompt", "eval_name", *models, *(f"{m}|model_response" for m in models),
                         *(f"{m}|total_cost" for m in models)])
        for r in records:
            o = r.outcomes
            writer.writerow([r.id, r.prompt, r.eval_name, *(o[m].correct if m in o else "" for m in models),
                             *(o[m].response if m in o else "" for m in models),
                             *(o[m].cost_usd if m in o else "" for m in models)])


def test_eval_plot_creates_missing_folders(tmp_path: Path) -> None:
    _write_routerbench(tmp_path / "eval.csv", 10)
    _write_routerbench(tmp_path / "train.csv", 40)
    plot = tmp_path / "not" / "yet" / "there.png"
    result = runner.invoke(app, ["eval", "--dataset", str(tmp_path / "eval.csv"), "--train", str(tmp_path / "train.csv"),
                                 "--no-curves", "-s", "cheapest", "--json", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["prompts"] == 10
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_eval_plot_on_a_folder_fails_before_the_data_is_read(tmp_path: Path) -> None:
    # The dataset is not a CSV at all: were it read first, the error would be about it.
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("not,a\nrouterbench,file\n")
    result = runner.invoke(app, ["eval", "--dataset", str(bogus), "--plot", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --plot {tmp_path}: is a folder; give a file path such as {tmp_path / 'plot.png'}\n"


def test_eval_plot_under_a_file_fails_before_the_data_is_read(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.csv"
    bogus.write_text("not,a\nrouterbench,file\n")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    result = runner.invoke(app, ["eval", "--dataset", str(bogus), "--plot", str(blocker / "x.png")])
    assert result.exit_code == 2
    assert result.stderr == f"error: --plot {blocker / 'x.png'}: {blocker} is a file, not a folder\n"
    assert not (tmp_path / "x.png").exists()


def test_costs_report_plot_is_checked_the_same_way(tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "report", "--db", str(tmp_path / "l.db"), "--plot", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --plot {tmp_path}: is a folder;")


# -- router train --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("folds", ["1", "-3"])
def test_router_train_rejects_one_or_negative_folds(folds: str, tmp_path: Path) -> None:
    out = tmp_path / "router.joblib"
    result = runner.invoke(app, ["router", "train", "--cv-folds", folds, "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --cv-folds {folds} is not valid: use 0 to skip cross-validation, or 2 or more folds\n"
    )
    assert not out.exists()


# -- costs forecast ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", ["-1", "0", "lots", "1e28", "1e999999999"])
def test_forecast_budget_must_be_positive_and_sane(budget: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "forecast", "--db", str(tmp_path / "l.db"), "--budget", budget])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --budget {budget} is not valid: give an amount in USD greater than 0 and at most "
        "1,000,000,000,000, e.g. --budget 25\n"
    )


def test_forecast_task_type_must_be_known(tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "forecast", "--db", str(tmp_path / "l.db"), "--task-type", "poetry"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: unknown task type 'poetry'; known task types: code, math, reasoning, knowledge_qa, writing, chat, "
        "extraction, planning, general (add more under `routing.task_table`)\n"
    )


def test_forecast_model_must_be_in_the_catalog(tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "forecast", "--db", str(tmp_path / "l.db"), "--model", "gpt-4o-mni"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown model 'gpt-4o-mni' (did you mean gpt-4o-mini")
    assert result.stderr.count("\n") == 1


def test_forecast_resolves_an_alias_to_the_catalog_id(tmp_path: Path) -> None:
    result = runner.invoke(app, ["costs", "forecast", "--db", str(tmp_path / "l.db"), "--model", "gpt-4o-mini",
                                 "--task-type", "Code", "--budget", "5", "--json"])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout)["per_task"][0]
    assert (line["model"], line["task_type"]) == ("openai:gpt-4o-mini", "code")
