"""`podium models`: list the catalog (table or --json) and import LiteLLM-format price files.

The list is the catalog every command uses: bundled models, imported ones, and the config's ``models:`` entries
(the config is loaded as ``ask`` loads it, so ``podium -c bad.yaml models`` fails the same way).

Errors are raised, not printed: the root command reports them (podium.cli.errors), so bad options and a bad price
file exit 2 like every other usage or configuration error, and ``--verbose`` shows the traceback.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import typer
from rich.console import Console
from rich.table import Table

from podium.catalog import Catalog, convert_litellm, keep_curated, load_litellm_file, podium_home, save_user_models
from podium.catalog.mapping import decimal_str, spec_to_mapping
from podium.cli.context import cli_catalog, load_cli_config
from podium.core.errors import ValidationError
from podium.core.model_spec import CAPABILITIES, ModelSpec
from podium.core.money import ZERO

app = typer.Typer(name="models", help="List known models and their prices; import price files.", no_args_is_help=False)

DEFAULT_IMPORT_SOURCE = "litellm model_prices_and_context_window.json"
SORT_KEYS = ("id", "price")


def _by_price(spec: ModelSpec) -> tuple[bool, Decimal, str]:
    """Cheapest first by input+output $/1M; unpriced models last."""
    total = (spec.input_per_million or ZERO) + (spec.output_per_million or ZERO)
    return (not spec.priced, total, spec.id)


def _short_source(spec: ModelSpec) -> str:
    """A column-sized price source: a URL's host, or the first two words; then the as-of date."""
    head = spec.price_source.split(" (")[0].split(";")[0].strip()
    short = urlparse(head).netloc.removeprefix("www.") if head.startswith(("http://", "https://")) else head
    words = short.split()
    as_of = spec.price_as_of.isoformat() if spec.price_as_of else "no date"
    return f"{' '.join(words[:2]) or '?'} {as_of}"


def _tags(spec: ModelSpec) -> str:
    tags = sorted(spec.capabilities)
    flags = (("free", spec.free_tier), ("open-weights", spec.open_weights), ("retired", spec.deprecated),
             ("legacy", spec.legacy))
    tags += [t for t, on in flags if on]
    return " ".join(tags)


# Below this width the list shows the id, prices, context, quality and status flags (a table when the ids fit whole,
# else two lines per model); capabilities and price sources are in `--json` and `podium models show ID`.
WIDE_TABLE = 140


def _flags(spec: ModelSpec) -> str:
    """The status words of ``_tags``, as short (``retired`` is `--json`'s ``deprecated``)."""
    return " ".join(t for t, on in (("free", spec.free_tier), ("open", spec.open_weights),
                                    ("legacy", spec.legacy), ("retired", spec.deprecated)) if on)


def _print_table(console: Console, specs: list[ModelSpec]) -> None:
    """Ids and numbers are never cut: flags and tags wrap between words, or each model becomes two lines."""
    from podium.cli.tables import Column, print_table

    wide = console.width >= WIDE_TABLE
    columns = [Column("id", key=True), Column("$/1M in", right=True), Column("$/1M out", right=True),
               Column("context", right=True), Column("quality", right=True)]
    columns += [Column("provider"), Column("tags", wrap=True), Column("price source", wrap=True)] if wide \
        else [Column("flags", wrap=True)]
    rows = []
    for s in specs:
        row = [s.id, decimal_str(s.input_per_million) or "?", decimal_str(s.output_per_million) or "?",
               f"{s.context_window:,}", "-" if s.quality is None else f"{s.quality.overall.score:.0f}"]
        rows.append(row + ([s.provider, _tags(s), _short_source(s)] if wide else [_flags(s)]))
    print_table(console, f"{len(specs)} models", columns, rows)


def _select(catalog: Catalog, provider: str | None, capabilities: list[str]) -> list[ModelSpec]:
    unknown = [c for c in capabilities if c not in CAPABILITIES]
    if unknown:
        raise ValidationError(
            f"capability {unknown[0]!r} is not known; use one of {', '.join(CAPABILITIES)}",
            field="capability",
            value=unknown[0],
            valid=list(CAPABILITIES),
        )
    specs = catalog.filter(capabilities=capabilities, provider=provider)
    if provider and not specs and not catalog.by_provider(provider):
        raise ValidationError(
            f"no models for provider {provider!r}; known providers: {', '.join(catalog.providers())}",
            field="provider",
            value=provider,
            valid=list(catalog.providers()),
        )
    return specs


@app.callback(invoke_without_command=True)
def list_models(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of every field.")] = False,
    provider: Annotated[str | None, typer.Option("--provider", "-p", help="Only this provider's models.")] = None,
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", "-c", help=f"Only models with this capability ({', '.join(CAPABILITIES)})."),
    ] = None,
    sort: Annotated[str, typer.Option("--sort", help="Order by id, or by price (input+output $/1M).")] = "id",
) -> None:
    """List known models: id, provider, $/1M tokens, context window, overall quality (Arena Elo-equivalent), tags
    (legacy: superseded, used only when named), and where each price came from. `podium models show ID` lists a
    model's whole quality profile with each figure's source and date."""
    if ctx.invoked_subcommand is not None:
        return
    if sort not in SORT_KEYS:
        raise ValidationError(
            f"--sort {sort!r} is not valid; use one of {', '.join(SORT_KEYS)}",
            field="sort",
            value=sort,
            valid=list(SORT_KEYS),
        )
    catalog = cli_catalog(load_cli_config(ctx))  # as `ask` sees it: podium.yaml's `models:` included
    specs = _select(catalog, provider, capability or [])
    specs.sort(key=_by_price if sort == "price" else (lambda s: s.id.lower()))
    if as_json:
        typer.echo(json.dumps([spec_to_mapping(s) for s in specs], indent=1))
        return
    _print_table(Console(), specs)


def _parse_date(value: str | None) -> date:
    if value is None:
        return date.today()  # the CLI is the edge: "today" is the import's as-of date unless told otherwise
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"--as-of {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-11-01", field="as_of", value=value
        ) from None


@app.command("show")
def show_model(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model id (provider:model) or alias.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print every field as JSON.")] = False,
) -> None:
    """One model: prices, context, flags and its quality profile, each figure with its source and as-of date."""
    spec = cli_catalog(load_cli_config(ctx)).get(name)
    if as_json:
        typer.echo(json.dumps(spec_to_mapping(spec), indent=1))
        return
    console = Console()
    console.print(f"[bold]{spec.id}[/bold]  {decimal_str(spec.input_per_million) or '?'} / "
                  f"{decimal_str(spec.output_per_million) or '?'} $/1M in/out  ({_short_source(spec)})  "
                  f"context {spec.context_window:,}  {_tags(spec)}")
    if spec.quality is None:
        console.print("no quality profile: routing rates this model by the prior of its quality tier "
                      f"({spec.quality_tier}); add one with `quality:` under `models:` in podium.yaml")
        return
    table = Table(title="quality profile (Arena Elo-equivalent)")
    for column in ("figure", "score", "estimate", "as of", "source"):
        table.add_column(column, overflow="fold")
    for key, fig in spec.quality.items():
        table.add_row(key, f"{fig.score:.1f}", "yes" if fig.estimate else "", fig.as_of.isoformat() if fig.as_of else "",
                      fig.source + (f" ({fig.note})" if fig.note else ""))
    console.print(table)


@app.command("import")
def import_prices(
    file: Annotated[Path, typer.Argument(help="LiteLLM model_prices_and_context_window.json (or .json.gz), or "
                                         "with --profiles a quality profiles file.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date the prices were valid (YYYY-MM-DD).")] = None,
    source: Annotated[str, typer.Option("--source", help="Where the file came from.")] = DEFAULT_IMPORT_SOURCE,
    profiles: Annotated[bool, typer.Option(
        "--profiles", help='FILE holds quality profiles ({"profiles": {model id: {overall: {score, source, as_of, '
        'estimate}, code: ..., math: ..., reasoning: ..., knowledge: ..., writing: ...}}}), as the bundled '
        'quality_profiles.json: they replace the profiles of the models they name; a task figure left out is '
        'an estimate from the overall figure.')] = False,
) -> None:
    """Import a LiteLLM-format price map into $PODIUM_HOME/models.json (chat models Podium can call), or quality
    profiles with --profiles."""
    if profiles:
        _import_profiles(file)
        return
    day = _parse_date(as_of)
    home = podium_home()
    result = convert_litellm(load_litellm_file(file), as_of=day, source=source)
    known = {spec.id: spec for spec in Catalog.default(home)}
    specs = [keep_curated(known[s.id], s) if s.id in known else s for s in result.specs]
    path = save_user_models(home, specs)
    typer.echo(f"{result.summary()}\nsaved to {path}")


def _import_profiles(file: Path) -> None:
    from dataclasses import replace

    from podium.catalog.profiles import read_profiles_file

    home = podium_home()
    found = read_profiles_file(file)
    catalog = Catalog.default(home)
    unknown = [name for name in found if name not in catalog]
    if unknown:
        hint = ", ".join(catalog.suggest(unknown[0])) or "run `podium models` to list models"
        raise ValidationError(f"{file}: profile for unknown model {unknown[0]!r}; {hint}", field="profiles",
                              value=unknown[0])
    specs = [replace(catalog.get(name), quality=profile) for name, profile in found.items()]
    path = save_user_models(home, specs)
    typer.echo(f"imported the quality profiles of {len(specs)} models\nsaved to {path}")
