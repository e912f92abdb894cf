"""The `podium` command: global options, error reporting, and command groups mounted on first use."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from podium.cli.ask import ask
from podium.cli.config_cmd import app as config_app
from podium.cli.config_cmd import init
from podium.cli.context import CLIState, cli_env, cli_state
from podium.cli.errors import report

# (command name, module). A module exposes a typer app named `app`, or `register(root_app)`. Modules that do not
# exist yet are skipped; errors inside a module that does exist are not hidden.
COMMAND_GROUPS: tuple[tuple[str, str], ...] = (
    ("models", "podium.cli.models"),
    ("router", "podium.cli.router"),
    ("eval", "podium.cli.eval"),
    ("costs", "podium.cli.costs"),
    ("logs", "podium.cli.logs"),
    ("serve", "podium.cli.serve"),
    ("testgen", "podium.cli.testgen"),
    ("project", "podium.cli.project"),
    ("policy", "podium.cli.policy"),
)


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _load_group(ctx: typer.Context, name: str, module: str) -> Any:
    """Import ``module`` and build the command for ``name`` exactly as ``add_typer`` / ``register`` would."""
    mod = importlib.import_module(module)
    sub = getattr(mod, "app", None)
    holder = typer.Typer(add_completion=False)
    if isinstance(sub, typer.Typer):
        holder.add_typer(sub, name=name)
    elif callable(getattr(mod, "register", None)):
        mod.register(holder)
    else:
        raise TypeError(f"{module} defines neither a typer app named `app` nor `register(root_app)`")
    cmd = typer.main.get_command(holder)
    # register() may add a single command, which typer returns as the command itself rather than a group
    return cmd.get_command(ctx, name) if isinstance(cmd, TyperGroup) else cmd


class PodiumGroup(TyperGroup):
    """Mounts the command groups lazily and reports errors as one line plus an exit code."""

    command_groups: tuple[tuple[str, str], ...] = COMMAND_GROUPS

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        names += [n for n, m in self.command_groups if n not in names and _module_exists(m)]
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        module = dict(self.command_groups).get(cmd_name)
        if module is None or not _module_exists(module):
            return None
        cmd = _load_group(ctx, cmd_name, module)
        if cmd is not None:
            self.commands[cmd_name] = cmd  # later lookups (help, completion) skip the import
        return cmd

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            # stdout was closed early (`podium ... | head`): stop quietly, as other Unix tools do
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
        except Exception as exc:  # noqa: BLE001 - the one place where any failure becomes a readable line
            code = report(exc, verbose=cli_state(ctx).verbose, env=_safe_env())
            raise typer.Exit(code) from None


def _safe_env() -> dict[str, str]:
    try:
        return cli_env()
    except Exception:  # noqa: BLE001 - an unreadable .env must not hide the error being reported
        return dict(os.environ)


app = typer.Typer(
    name="podium",
    cls=PodiumGroup,
    help="Send every LLM call to the cheapest model that will do it well.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file to use (default: $PODIUM_CONFIG, ./podium.yaml, ...).", dir_okay=False
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Send every LLM call to the cheapest model that will do it well."""
    ctx.obj = CLIState(config_path=config, verbose=verbose)


app.command("ask")(ask)
app.command("init")(init)
app.add_typer(config_app, name="config")


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv, prog_name="podium")


if __name__ == "__main__":
    run()
