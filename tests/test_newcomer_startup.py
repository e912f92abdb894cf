"""A fast start: `podium --help`, `--version` and `import podium` load no engine, HTTP, SQL or routing data (the
times themselves are measured by benchmarks/startup.py), and the help listing says what each command's own help says.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
import typer
from typer.testing import CliRunner

from podium.cli.main import COMMAND_HELP, app

HEAVY = ("podium.engine", "podium.routing", "podium.ledger", "podium.config", "sqlalchemy", "httpx", "numpy")


def _modules_loaded_by(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import podium",
        "from podium.cli.main import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n    pass",
        "from podium.cli.main import run\ntry:\n    run(['--version'])\nexcept SystemExit:\n    pass",
    ],
    ids=["import", "help", "version"],
)
def test_starting_loads_nothing_heavy(code: str) -> None:
    assert _modules_loaded_by(code) == []


def test_the_library_names_still_import_on_use() -> None:
    import podium

    assert podium.SyncPodium.__name__ == "SyncPodium" and podium.Usage.__name__ == "Usage"
    assert sorted(podium.__all__) == sorted(set(podium.__all__)) and all(hasattr(podium, n) for n in podium.__all__)


def test_the_help_listing_matches_each_commands_own_help() -> None:
    root = typer.main.get_command(app)
    ctx = click.Context(root)
    names = root.list_commands(ctx)
    assert set(names) == set(COMMAND_HELP)
    for name in names:
        assert root.get_command(ctx, name).help == COMMAND_HELP[name], name


def test_a_command_that_takes_no_subcommand_does_not_show_one_in_its_usage() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Usage: podium eval [OPTIONS]" in result.stdout and "COMMAND [ARGS]" not in result.stdout
