"""The `podium` command: global options, error reporting, and command groups mounted on first use."""

from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from podium.cli.context import CLIState, cli_env, cli_state
from podium.cli.errors import report

if TYPE_CHECKING:  # typer carries its own click: its classes are the ones the root group deals in
    from typer._click.core import Command, Context, Parameter
    from typer._click.formatting import HelpFormatter

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

# Commands that make one call and exit: the cyclic garbage collector stays paused for their whole run (see run()).
ONE_SHOT_COMMANDS = frozenset({"ask"})

# (command name, module). A module exposes a typer app named `app`, or `register(root_app)`. Modules that do not
# exist yet are skipped; errors inside a module that does exist are not hidden.
COMMAND_GROUPS: tuple[tuple[str, str], ...] = (
    ("models", "podium.cli.models"),
    ("router", "podium.cli.router"),
    ("eval", "podium.cli.eval"),
    ("costs", "podium.cli.costs"),
    ("logs", "podium.cli.logs"),
    ("feedback", "podium.cli.feedback"),
    ("serve", "podium.cli.serve"),
    ("testgen", "podium.cli.testgen"),
    ("project", "podium.cli.project"),
    ("policy", "podium.cli.policy"),
    ("app", "podium.cli.app_cmd"),
    ("problems", "podium.cli.problems"),
)


# Commands of the root itself, (name, module, attribute: a function or a typer app), imported on first use too.
ROOT_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("ask", "podium.cli.ask", "ask"),
    ("init", "podium.cli.config_cmd", "init"),
    ("config", "podium.cli.config_cmd", "app"),
)

# What `podium --help` lists beside each command, so that listing them imports none of them (the engine, SQL and
# the routing data would take a second or more to load). A test checks these against the commands' own help.
COMMAND_HELP: dict[str, str] = {
    "ask": 'Ask a model. `echo "text" | podium ask "Summarise this" --model ollama:llama3.2`',
    "init": "Write a commented default podium.yaml.",
    "config": "Validate and show the configuration (podium.yaml + PODIUM_* variables).",
    "models": "List known models and their prices; import price files.",
    "router": "Train and inspect the learned quality router.",
    "eval": "Measure routing strategies on recorded model answers (no API calls).",
    "costs": "Spend reports, statistics, exports and forecasts from the cost ledger.",
    "logs": "Show the latest calls from the cost ledger: model, status, tokens, cost, latency.",
    "feedback": "Rate a call's answer. A routed call's rating goes to the model that answered; rating again replaces "
    "it.\n`podium router train --from-ledger` learns from these ratings.",
    "serve": "Serve an OpenAI-compatible API: point any OpenAI SDK at http://HOST:PORT/v1 and use model podium/auto.",
    "testgen": "Generate unit tests: the orchestrator plans, a cheap executor writes, Podium validates (and repairs "
    "once).",
    "project": "Multi-step projects: plan into tasks, route each to the cheapest suitable model, checkpoint, resume.",
    "policy": "Check policy files and explain what policies allow.",
    "app": "Build apps: a reasoning model decides the architecture, then the project orchestrator builds and checks.",
    "problems": "Generate problems (with variations) and grade answers against a rubric, routed by the task table.",
}


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def _load_group(ctx: Context, name: str, module: str, attribute: str = "app") -> Command | None:
    """Import ``module`` and build the command for ``name`` exactly as ``add_typer`` / ``register`` would.
    ``attribute`` names a typer app or a command function; a module without it may offer ``register``."""
    mod = importlib.import_module(module)
    sub = getattr(mod, attribute, None)
    holder = typer.Typer(add_completion=False)
    if isinstance(sub, typer.Typer) and _single_command(sub):
        # an app that is only a callback is one command: its usage must not read `COMMAND [ARGS]...`
        holder.command(name, help=sub.info.help)(sub.registered_callback.callback)  # type: ignore[union-attr,type-var]
    elif isinstance(sub, typer.Typer):
        holder.add_typer(sub, name=name)
    elif attribute != "app" and callable(sub):
        holder.command(name)(sub)
    elif callable(getattr(mod, "register", None)):
        mod.register(holder)
    else:
        raise TypeError(f"{module} defines neither a typer app named `app` nor `register(root_app)`")
    cmd = typer.main.get_command(holder)
    # register() may add a single command, which typer returns as the command itself rather than a group
    return cmd.get_command(ctx, name) if isinstance(cmd, TyperGroup) else cmd


def _single_command(sub: typer.Typer) -> bool:
    callback = sub.registered_callback
    return (
        not sub.registered_commands
        and not sub.registered_groups
        and callback is not None
        and callback.callback is not None
        and bool(callback.invoke_without_command)
    )


def _plain_flag(param: Parameter) -> None:
    """Show an on/off flag without a value type: typer 0.2x prints ``<bool>`` beside ``--json`` and ``--help``, as
    if the flag took a value. Typer shows a metavar in place of the type, and flags use their metavar nowhere else."""
    if getattr(param, "is_flag", False) and not getattr(param, "count", False) and param.metavar is None:
        param.metavar = ""


def _plain_options(command: Command, ctx: Context) -> None:
    """``_plain_flag`` on every option of ``command`` and on its help option."""
    help_option = command.get_help_option(ctx) if hasattr(command, "get_help_option") else None
    for param in [*getattr(command, "params", []), *([help_option] if help_option is not None else [])]:
        _plain_flag(param)


def _plain_flags(command: Command, ctx: Context) -> Command:
    """``_plain_options`` on ``command`` and all its subcommands."""
    _plain_options(command, ctx)
    for sub in (getattr(command, "commands", None) or {}).values():
        _plain_flags(sub, ctx)
    return command


class PodiumGroup(TyperGroup):
    """Mounts the command groups lazily and reports errors as one line plus an exit code."""

    command_groups: tuple[tuple[str, str], ...] = COMMAND_GROUPS
    root_commands: tuple[tuple[str, str, str], ...] = ROOT_COMMANDS
    command_help: dict[str, str] = COMMAND_HELP
    _listing_help = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.suggest_commands = False  # typer would only see the commands already mounted: resolve_command does it
        # The root's own help and usage errors in click's plain layout: typer's rich layout imports markdown, pretty
        # tracebacks and attrs first (~0.25 s of the 0.3 s `podium --help` may take). Each command keeps rich help.
        self.rich_markup_mode = None

    def _lazy(self) -> dict[str, tuple[str, str]]:
        """Every command mounted on first use: name -> (module, attribute)."""
        return {
            **{n: (m, a) for n, m, a in self.root_commands},
            **{n: (m, "app") for n, m in self.command_groups},
        }

    def list_commands(self, ctx: Context) -> list[str]:
        names = list(super().list_commands(ctx))
        names += [n for n, (m, _) in self._lazy().items() if n not in names and _module_exists(m)]
        return names

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        # the listing shows each command's one-line help from `command_help`, without importing the command
        self._listing_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing_help = False

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return _plain_flags(cmd, ctx)
        module, attribute = self._lazy().get(cmd_name, (None, "app"))
        if module is None or not _module_exists(module):
            return None
        if self._listing_help and cmd_name in self.command_help:
            return TyperCommand(cmd_name, help=self.command_help[cmd_name])
        cmd = _load_group(ctx, cmd_name, module, attribute)
        if cmd is not None:
            self.commands[cmd_name] = _plain_flags(cmd, ctx)  # later lookups (help, completion) skip the import
        return cmd

    def get_params(self, ctx: Context) -> list[Parameter]:
        _plain_options(self, ctx)
        return super().get_params(ctx)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        """As click does, with ``Did you mean 'models'?`` chosen among every command, mounted or not."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:
            # 130 is what shells report for Ctrl-C; say so, so that an empty output is not read as a result
            command = " ".join(n for n in (ctx.info_name or "podium", ctx.invoked_subcommand) if n)
            typer.echo(f"error: {command} was interrupted (Ctrl-C) before it finished; nothing more was done", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
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
    import importlib.metadata  # email, zipfile and sockets come with it: only --version needs them

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
    if ctx.invoked_subcommand not in ONE_SHOT_COMMANDS:
        resume_collection()  # a command that may run long (serve, project, ...) collects as usual


def resume_collection() -> None:
    """Turn the cyclic garbage collector back on after start-up. What start-up built (modules, classes, settings,
    the engine) lives as long as the process, so it is frozen first: no later collection scans it again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    # Starting allocates long-lived objects only (imports, the config, the engine, the router's arrays), and each
    # automatic collection would scan them all again: about a third of `podium ask`'s run on a small machine.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        app(args=argv, prog_name="podium")
    finally:
        if was_enabled:
            resume_collection()


if __name__ == "__main__":
    run()
