"""`podium policy`: check a policy file for contradictions; explain which policies allow or deny a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from podium.cli.context import cli_env, load_cli_config
from podium.core.errors import ValidationError

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.config import PodiumConfig

app = typer.Typer(name="policy", help="Check policy files and explain what policies allow.", no_args_is_help=True)

EXIT_ERRORS = 2
EXIT_DENIED = 1  # `policy explain`: a hard policy denies the model, so scripts can test the answer


def _catalog(config: PodiumConfig) -> Catalog:
    from podium.catalog import Catalog, podium_home

    return Catalog.default(podium_home(cli_env())).with_overrides(config.models)


@app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Policy file (YAML or JSON) with global:, team:, job:, key:.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Report contradictions (errors, exit 2) and likely mistakes (warnings) in a policy file."""
    from podium.policy import PolicyAnalyzer, load_policy_file

    hierarchy = load_policy_file(file)
    report = PolicyAnalyzer.analyze_hierarchy(hierarchy, _catalog(load_cli_config(ctx).config))
    if as_json:
        typer.echo(json.dumps({"file": str(file), **report.to_dict()}))
    else:
        for line in report.errors:
            typer.echo(f"error: {line}")
        for line in report.warnings:
            typer.echo(f"warning: {line}")
        count = len(hierarchy.all_policies())
        typer.echo(f"{file}: {count} policies, {len(report.errors)} errors, {len(report.warnings)} warnings")
    if report.errors:
        raise typer.Exit(EXIT_ERRORS)


@app.command("explain")
def explain(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Model id or alias, e.g. openai:gpt-4o-mini.")],
    policy_file: Annotated[
        Path | None,
        typer.Argument(help="Policy file to explain, as given to `policy check` (default: the config's `policy:`)."),
    ] = None,
    team: Annotated[str | None, typer.Option("--team", help="Apply this team's policies too.")] = None,
    job: Annotated[str | None, typer.Option("--job", "--project", help="Apply this job's (project's) policies.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Apply this virtual key's policies.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Policy file to use instead of the config's `policy:`.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Say which policies allow or deny MODEL, and why. Exits 1 when a hard policy denies it."""
    from podium.policy import PolicyHierarchy, load_policy_file

    if policy_file is not None and file is not None and policy_file != file:
        raise ValidationError(
            f"two policy files given ({policy_file} and --file {file}); give one",
            field="file",
            value=str(file),
        )
    chosen = policy_file or file
    config = load_cli_config(ctx).config
    spec = _catalog(config).get(model)
    hierarchy = load_policy_file(chosen) if chosen is not None else PolicyHierarchy.from_settings(config.policy)
    verdicts = hierarchy.policies_for(team=team, job=job, key=key).verdicts(spec)
    denied = any(not v.allowed and v.policy.hard for v in verdicts)
    source = str(chosen) if chosen is not None else "the config's `policy:`"
    if as_json:
        rows = [
            {"policy": v.policy.name, "scope": v.scope, "mode": v.policy.enforcement_mode.value, "allowed": v.allowed,
             "violations": [x.to_dict() for x in v.violations]}
            for v in verdicts
        ]
        typer.echo(json.dumps({"model": spec.id, "allowed": not denied, "source": source, "policies": rows}))
        if denied:
            raise typer.Exit(EXIT_DENIED)
        return
    if not verdicts:
        if chosen is None and not hierarchy:
            typer.echo(
                f"{spec.id}: allowed: no policies are configured (the config has no `policy:` section); "
                "to explain a policy file, name it: `podium policy explain MODEL policies.yaml`"
            )
        else:
            scope = ", ".join(f"{k} {v}" for k, v in (("team", team), ("job", job), ("key", key)) if v) or "global"
            typer.echo(f"{spec.id}: allowed: no policy in {source} applies to {scope}")
        return
    typer.echo(f"{spec.id}: {'DENIED' if denied else 'allowed'}")
    typer.echo(f"  policies from {source}")
    for v in verdicts:
        mode = v.policy.enforcement_mode.value
        if v.allowed:
            typer.echo(f"  allows  {v.policy.name} ({v.scope}, {mode})")
            continue
        typer.echo(f"  {'denies' if v.policy.hard else 'warns '}  {v.policy.name} ({v.scope}, {mode})")
        for x in v.violations:
            typer.echo(f"      {x.rule}: {x.reason}")
    if denied:
        raise typer.Exit(EXIT_DENIED)
