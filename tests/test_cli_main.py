"""The root command: lazy command groups, and every error as one stderr line with the right exit code."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from podium.cli.context import CLIState
from podium.cli.errors import EXIT_RUNTIME, EXIT_USAGE, describe, exit_code_for, redact
from podium.cli.main import COMMAND_GROUPS, PodiumGroup, app
from podium.core.errors import (
    AllAttemptsFailedError,
    AuthenticationError,
    BudgetExceededError,
    ConfigError,
    MalformedResponseError,
    MissingAPIKeyError,
    RateLimitError,
    ServerError,
    UnknownModelError,
)

runner = CliRunner()

DEMO_GROUP = '''
import typer
from decimal import Decimal
from podium.core.errors import BudgetExceededError, RateLimitError

app = typer.Typer(help="Demo group.")

@app.command()
def hello(name: str = "world") -> None:
    """Say hello."""
    typer.echo(f"hello {name}")

@app.command()
def limited() -> None:
    raise RateLimitError("openai rate limit hit", provider="openai", status=429, retry_after=2.0)

@app.command()
def budget() -> None:
    raise BudgetExceededError(scope="daily", limit=Decimal("1"), spent=Decimal("0.99"),
                              reserved=Decimal("0"), requested=Decimal("0.05"))

@app.command()
def crash() -> None:
    raise KeyError("frobnicator")
'''

REGISTER_GROUP = '''
import typer

def register(root_app: typer.Typer) -> None:
    @root_app.command("serve")
    def serve(port: int = 8000) -> None:
        """Serve."""
        typer.echo(f"serving on {port}")
'''


@pytest.fixture()
def demo_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """A root app like podium's, mounting modules from a temporary package on sys.path."""
    pkg = tmp_path / "demo_cli_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "demo.py").write_text(textwrap.dedent(DEMO_GROUP))
    (pkg / "served.py").write_text(textwrap.dedent(REGISTER_GROUP))
    (pkg / "broken.py").write_text("import module_that_is_not_installed_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class DemoGroup(PodiumGroup):
        command_groups = (
            ("demo", "demo_cli_pkg.demo"),
            ("serve", "demo_cli_pkg.served"),
            ("broken", "demo_cli_pkg.broken"),
            ("later", "demo_cli_pkg.not_written_yet"),
        )

    root = typer.Typer(cls=DemoGroup, no_args_is_help=True)

    @root.callback()
    def main(ctx: typer.Context, verbose: bool = typer.Option(False, "--verbose")) -> None:
        ctx.obj = CLIState(verbose=verbose)

    return root


def test_groups_mount_lazily_and_missing_modules_are_skipped(demo_app: typer.Typer) -> None:
    result = runner.invoke(demo_app, ["demo", "hello", "--name", "podium"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "hello podium\n"
    result = runner.invoke(demo_app, ["serve", "--port", "9"])
    assert result.exit_code == 0 and result.stdout == "serving on 9\n"
    result = runner.invoke(demo_app, ["later"])
    assert result.exit_code == EXIT_USAGE and "No such command" in result.output


def test_an_import_error_inside_an_existing_module_is_not_hidden(demo_app: typer.Typer) -> None:
    result = runner.invoke(demo_app, ["broken"])
    assert result.exit_code == EXIT_RUNTIME
    assert "module_that_is_not_installed_anywhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_runtime_errors_are_one_line_with_exit_1(demo_app: typer.Typer) -> None:
    result = runner.invoke(demo_app, ["demo", "limited"])
    assert result.exit_code == EXIT_RUNTIME
    assert result.stderr == "error: openai rate limit hit (HTTP 429, upstream rate limit, retry after 2s)\n"
    result = runner.invoke(demo_app, ["demo", "budget"])
    assert result.exit_code == EXIT_RUNTIME
    assert (
        result.stderr.startswith("error: the daily budget ($1) would be exceeded: $0.99 spent") and result.stderr.count("\n") == 1
    )


def test_unexpected_errors_say_so_and_suggest_verbose(demo_app: typer.Typer) -> None:
    result = runner.invoke(demo_app, ["demo", "crash"])
    assert result.exit_code == EXIT_RUNTIME
    assert result.stderr == ("error: internal error: KeyError: 'frobnicator' (run `podium --verbose ...` for the traceback)\n")


def test_real_root_lists_its_groups_and_mounts_only_existing_modules() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("ask", "init", "config"):
        assert f" {name} " in result.stdout
    import importlib.util

    for name, module in COMMAND_GROUPS:
        present = importlib.util.find_spec(module) is not None
        assert (f" {name} " in result.stdout) == present, name


def test_verbose_shows_the_traceback_then_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "podium.yaml"
    bad.write_text("mode: nope\n")
    quiet = runner.invoke(app, ["config", "check", str(bad)])
    assert quiet.exit_code == EXIT_USAGE and "Traceback" not in quiet.stderr
    loud = runner.invoke(app, ["--verbose", "config", "check", str(bad)])
    assert loud.exit_code == EXIT_USAGE
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.rstrip("\n").splitlines()[-1] == quiet.stderr.rstrip("\n")


# -- the mapping itself ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (ConfigError("podium.yaml line 2: mode = 'x' is not valid"), EXIT_USAGE, "podium.yaml line 2: mode = 'x'"),
        (UnknownModelError("openai:gpt-9", ["openai:gpt-4o"]), EXIT_USAGE, "unknown model 'openai:gpt-9'"),
        (MissingAPIKeyError("groq", "GROQ_API_KEY"), EXIT_USAGE, "set the environment variable GROQ_API_KEY"),
        (
            AuthenticationError("invalid API key", provider="anthropic", status=401),
            EXIT_RUNTIME,
            "invalid API key (HTTP 401, provider anthropic)",
        ),
        (ServerError("upstream failed with 500", provider="openai", status=500), EXIT_RUNTIME, "500 (provider openai)"),
        (
            RateLimitError("too many requests", provider="groq", source="podium", retry_after=1.5),
            EXIT_RUNTIME,
            "too many requests (provider groq, Podium's own rate limit, retry after 1.5s)",
        ),
        (MalformedResponseError("bad JSON from gemini", provider="gemini"), EXIT_RUNTIME, "bad JSON from gemini"),
        (
            BudgetExceededError(
                scope="project", limit=Decimal(5), spent=Decimal(5), reserved=Decimal(0), requested=Decimal(1)
            ),
            EXIT_RUNTIME,
            "the project budget ($5) would be exceeded",
        ),
    ],
)
def test_each_error_maps_to_one_line_and_an_exit_code(exc: Exception, code: int, text: str) -> None:
    assert exit_code_for(exc) == code
    line = describe(exc)
    assert text in line and "\n" not in line


def test_all_attempts_failed_stays_one_line() -> None:
    exc = AllAttemptsFailedError(
        [("a:x", ServerError("boom\nmore", provider="a", status=503)), ("b:y", MissingAPIKeyError("b", "B_API_KEY"))]
    )
    assert "\n" not in describe(exc) and "B_API_KEY" in describe(exc)
    assert exit_code_for(exc) == EXIT_RUNTIME


def test_secrets_in_the_environment_never_reach_the_message() -> None:
    env = {"OPENAI_API_KEY": "sk-live-1234567890", "HOME": "/home/me", "SHORT_TOKEN": "abc"}
    text = redact("rejected key sk-live-1234567890 for abc in /home/me", env)
    assert text == "rejected key <OPENAI_API_KEY> for abc in /home/me"


def test_python_dash_m_podium_runs_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "podium", "models", "--json"], capture_output=True, text=True, check=False,
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PODIUM_HOME": str(tmp_path)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"openai:gpt-4o-mini"' in done.stdout or "openai:gpt-4o-mini" in done.stdout
