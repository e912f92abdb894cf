"""What every command needs from the root: the global options, the environment and the loaded config."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from typer._click.core import Context

    from podium.catalog import Catalog
    from podium.config import LoadedConfig


@dataclass(frozen=True, slots=True)
class CLIState:
    """The root's global options (``--config``, ``--verbose``), stored as the root context's ``obj``."""

    config_path: Path | None = None
    verbose: bool = False


def cli_state(ctx: Context | None) -> CLIState:
    """The global options of the running command (defaults outside a command)."""
    if ctx is None:
        return CLIState()
    obj = ctx.find_object(CLIState)
    return obj if obj is not None else CLIState()


def cli_env(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the values of ./.env (the process wins), without changing os.environ."""
    from dotenv import dotenv_values

    dotenv_path = (cwd or Path.cwd()) / ".env"
    from_file = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None} if dotenv_path.is_file() else {}
    return {**from_file, **os.environ}


def load_cli_config(
    ctx: typer.Context | None, path: Path | None = None, *, use_env_overrides: bool = True
) -> LoadedConfig:
    """Load the config the way every command does: ``path``, else ``--config``, else the search path."""
    from podium.config import load_config  # not at import: `podium --help` needs no settings

    chosen = path or cli_state(ctx).config_path
    return load_config(chosen, env=cli_env(), use_env_overrides=use_env_overrides)


def cli_catalog(loaded: LoadedConfig) -> Catalog:
    """The catalog every command sees: bundled models, ``podium models import``-ed ones, then podium.yaml's
    ``models:`` entries (a bad entry is one ConfigError naming it)."""
    from podium.catalog import Catalog, podium_home

    return Catalog.default(podium_home(cli_env())).with_overrides(loaded.config.models)


def default_orchestrator(loaded: LoadedConfig, *, flag: str, quiet: bool) -> str:
    """The configured orchestrator, or a model whose key is set when its key is not (said on stderr, naming
    ``flag``, the option that picks another)."""
    from podium.workflows.orchestrator_choice import choose_orchestrator

    choice = choose_orchestrator(loaded.config, cli_catalog(loaded), cli_env(), flag=flag)
    if choice.note and not quiet:
        typer.echo(choice.note, err=True)
    return choice.model
