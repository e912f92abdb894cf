"""The `podium` command: global options, error reporting, and command groups mounted on first use."""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
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


def _plain_flag(param: Any) -> None:
    """Show an on/off flag without a value type: typer 0.2x prints ``<bool>`` beside ``--json`` and ``--help``, as
    if the flag took a value. Typer shows a metavar in place of the type, and flags use their metavar nowhere else."""
    if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
        param.metavar = ""


def _plain_options(command: Any, ctx: Any) -> None:
    """``_plain_flag`` on every option of ``command`` and on its help option."""
    help_option = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    for param in [*getattr(command, "params", []), *([help_option] if help_option is not None else [])]:
        _plain_flag(param)


def _plain_flags(command: Any, ctx: Any) -> Any:
    """``_plain_options`` on ``command`` and all its subcommands."""
    _plain_options(command, ctx)
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain_flags(sub, ctx)
    return command


class PodiumGroup(TyperGroup):
    """Mounts the command groups lazily and reports errors as one line plus an exit code."""

    command_groups: tuple[tuple[str, str], ...] = COMMAND_GROUPS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suggest_commands = False  # typer would only see the commands already mounted: resolve_command does it

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        names += [n for n, m in self.command_groups if n not in names and _module_exists(m)]
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return _plain_flags(cmd, ctx)
        module = dict(self.command_groups).get(cmd_name)
        if module is None or not _module_exists(module):
            return None
        cmd = _load_group(ctx, cmd_name, module)
        if cmd is not None:
            self.commands[cmd_name] = _plain_flags(cmd, ctx)  # later lookups (help, completion) skip the import
        return cmd

    def get_params(self, ctx: Any) -> list[Any]:
        _plain_options(self, ctx)
        return super().get_params(ctx)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As click does, with ``Did you mean 'models'?`` chosen among every command, mounted or not."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

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


def package_version() -> str:
    """The installed distribution's version (what pip knows), else the source tree's ``podium.__version__``."""
    try:
        return importlib.metadata.version("podium")
    except importlib.metadata.PackageNotFoundError:
        from podium import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"podium {package_version()}")
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option("--version", help="Show Podium's version and exit.", is_eager=True, callback=_print_version),
    ] = False,
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
