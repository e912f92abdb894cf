"""`podium init` and `podium config check|path`: write, validate and show the configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from podium.cli.context import cli_catalog, cli_env, cli_state, load_cli_config
from podium.cli.errors import EXIT_USAGE, report
from podium.config import CONFIG_ENV_VAR, LoadedConfig, create_default_config, search_path
from podium.core.errors import ConfigError

app = typer.Typer(help="Validate and show the configuration (podium.yaml + PODIUM_* variables).", no_args_is_help=True)


def init(
    path: Annotated[
        Path | None, typer.Argument(help="Where to write (default ./podium.yaml; a directory gets podium.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented default podium.yaml."""
    try:
        written = create_default_config(path, force=force)
    except ConfigError as exc:
        if force or exc.field != "path" or not exc.value or not Path(str(exc.value)).exists():
            raise
        # The library's message also names the keyword argument; on the command line only the flag matters.
        raise ConfigError(
            f"{exc.value} already exists; pass --force to overwrite it", field="path", value=exc.value
        ) from None
    typer.echo(f"wrote {written}; edit it, then run `podium config check`")


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Config file to check (default: the one Podium would use).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the effective config and sources as JSON.")] = False,
    no_env: Annotated[bool, typer.Option("--no-env", help="Ignore PODIUM_* environment overrides.")] = False,
) -> None:
    """Validate the config (every model it names must be in the catalog) and print every effective value with its
    source (file, env:VAR, alias:KEY, from:KEY for a value derived from KEY, or default), then each alias used and
    the canonical key it maps to."""
    loaded = load_cli_config(ctx, file, use_env_overrides=not no_env)
    _check_model_references(ctx, loaded)
    if as_json:
        typer.echo(json.dumps(_as_json(loaded), indent=2))
        return
    _print_table(loaded)
    console = Console()  # wraps long lines between words, so that no key is split at the terminal's edge
    for line in [f"alias: {use.line()}" for use in loaded.config.aliases_used()] + [_cost_line(loaded)]:
        console.print(line, markup=False, highlight=False)
    typer.echo(f"ok: {loaded.path} is valid" if loaded.path else "ok: no config file found; the built-in defaults are valid")


def _cost_line(loaded: LoadedConfig) -> str:
    """How ``routing.cost_preference`` maps to each strategy's cost weight (podium.config.cost_preference)."""
    routing = loaded.config.routing
    parts = [
        f"{weight.key} {value:g} ({weight.strategy}: {'its own key' if own else f'{weight.scale:g} x preference'})"
        for weight, value, own in routing.cost_weights()
    ]
    return f"cost: routing.cost_preference {routing.cost_preference:g} -> " + ", ".join(parts)


def _check_model_references(ctx: typer.Context, loaded: LoadedConfig) -> None:
    """One line per model the config names that the catalog (with the config's own `models:`) does not know."""
    from podium.catalog.references import check_model_references
    from podium.config.validation import yaml_key_lines

    bad = check_model_references(loaded.config, cli_catalog(loaded))
    if not bad:
        return
    lines = yaml_key_lines(loaded.path) if loaded.path else {}
    for ref in bad:
        where = _where(loaded, ref.key, lines)
        report(ConfigError(f"{where}: {ref.message()}", field=ref.key, value=ref.name, valid=list(ref.suggestions)),
               verbose=False, env=cli_env())
    raise typer.Exit(EXIT_USAGE)


def _where(loaded: LoadedConfig, key: str, lines: dict[str, int]) -> str:
    """Where a value came from: the file and line, the environment variable, or the built-in defaults."""
    source = loaded.source_of(key.split("[", 1)[0])
    if source.startswith("alias:"):  # a canonical key filled in by an alias: point at the alias
        canonical = key.split("[", 1)[0]
        key, source = source[6:] + key[len(canonical):], loaded.source_of(source[6:])
    if source.startswith("env:"):
        return f"environment variable {source[4:]}"
    if source == "default" or loaded.path is None:
        return "built-in default"
    cut = key
    while cut and cut not in lines:  # the closest key the YAML file has a line for
        cut = cut[: max(cut.rfind("."), cut.rfind("["), 0)]
    return f"{loaded.path} line {lines[cut]}" if cut else str(loaded.path)


@app.command("path")
def path_cmd(ctx: typer.Context) -> None:
    """Show where Podium looks for a config file and which one it uses."""
    env = cli_env()
    explicit = cli_state(ctx).config_path
    if explicit:
        typer.echo(f"--config {explicit}")
        return
    if env.get(CONFIG_ENV_VAR):
        typer.echo(f"${CONFIG_ENV_VAR} = {env[CONFIG_ENV_VAR]}")
        return
    found = False
    for candidate in search_path(Path.cwd(), Path.home()):
        used = candidate.is_file() and not found
        found = found or used
        typer.echo(f"{'*' if used else ' '} {candidate}")
    if not found:
        typer.echo("no config file found; built-in defaults are used (create one with `podium init`)")


def _as_json(loaded: LoadedConfig) -> dict[str, Any]:
    return {
        "path": str(loaded.path) if loaded.path else None,
        "config": loaded.config.model_dump(mode="json"),
        "sources": loaded.sources,
        "aliases": [{"alias": u.alias, "canonical": u.canonical, "value": u.value} for u in loaded.config.aliases_used()],
    }


def _print_table(loaded: LoadedConfig) -> None:
    """Keys whole (never wrapped): values wrap between words, or each key becomes its own line when narrow."""
    from podium.cli.tables import Column, print_table
    from podium.config.aliases import ALIASES_WHEN_SET

    rows, styles = [], []
    untouched = _default_providers(loaded)
    effective = loaded.config.model_dump(mode="json")
    for key, source in loaded.sources.items():
        parts = key.split(".")
        if parts[0] == "providers" and len(parts) > 1 and parts[1] in untouched:
            continue
        value = _fmt(_value_at(effective, parts))
        if source == "default" and key in ALIASES_WHEN_SET:
            value = f"unset ({ALIASES_WHEN_SET[key]} applies)"
        rows.append([key, value, source])
        styles.append("cyan" if source.startswith("env:") else ("green" if source == "file" else "dim"))
    for name in sorted(untouched):
        p = loaded.config.providers[name]
        where = f", {p.base_url}" if p.base_url else ""
        rows.append([f"providers.{name}", f"built-in ({p.kind}{where})", "default"])
        styles.append("dim")
    columns = [Column("key", key=True), Column("value", wrap=True), Column("source")]
    print_table(Console(), f"podium config ({loaded.path or 'defaults'})", columns, rows, styles=styles)


def _default_providers(loaded: LoadedConfig) -> set[str]:
    """Providers every field of which is the built-in default: shown as one row each."""
    touched = {k.split(".")[1] for k, s in loaded.sources.items() if k.startswith("providers.") and s != "default"}
    return set(loaded.config.providers) - touched


def _value_at(data: Any, parts: list[str]) -> Any:
    for part in parts:
        data = data[part]
    return data


def _fmt(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return "null" if value is None else str(value)
