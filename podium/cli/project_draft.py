"""`podium project draft`: a job spec and a policy file drafted from one line of intent, refined on request."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from podium.cli.context import cli_env, default_orchestrator, load_cli_config
from podium.core.errors import ValidationError
from podium.core.money import fmt_usd

if TYPE_CHECKING:
    from podium.workflows.project import JobDrafter
    from podium.workflows.project.draft import JobDraft


def draft(
    ctx: typer.Context,
    intent: Annotated[
        str | None, typer.Argument(help='What the job is for, e.g. "code review, EU only, max $2".')
    ] = None,
    refine: Annotated[
        str | None, typer.Option("--refine", help="Revise the draft (the one in --out when no intent is given).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The job file; the policy goes beside it.")] = Path("job.yaml"),
    model: Annotated[str | None, typer.Option("--model", help="Model that drafts (default: the orchestrator).")] = None,
    budget: Annotated[str, typer.Option("--budget", help="Hard limit for drafting in USD.")] = "0.50",
    log_prompts: Annotated[bool, typer.Option("--log-prompts", help="Keep prompts and answers.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Draft a job spec and a policy with a rationale; run the result with `podium project run --file job.yaml`."""
    from podium.workflows.project import JobDrafter, read_draft
    from podium.workflows.session import positive_usd

    if intent is None and refine is None:
        raise ValidationError(
            'nothing to draft: give an intent (`podium project draft "..."`) or --refine "..." to revise --out',
            field="intent",
        )
    amount = positive_usd(budget, "--budget")
    current = read_draft(out) if intent is None else None
    loaded = load_cli_config(ctx)
    model = model or default_orchestrator(loaded, flag="--model", quiet=as_json)
    drafter = JobDrafter(loaded.config, env=cli_env(), model=model, log_prompts=log_prompts)
    try:
        result = asyncio.run(_draft(drafter, intent, refine, current, amount))
    finally:
        drafter.close()
    job_path, policy_path = result.write(out)
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "job_file": str(job_path), "policy_file": str(policy_path)}))
        return
    typer.echo(f"# {job_path}\n{result.job_yaml(policy_path.name)}")
    typer.echo(f"# {policy_path}\n{result.policy_yaml()}")
    typer.echo(f"rationale: {result.rationale}")
    typer.echo(
        f"drafted by {result.model} for {fmt_usd(result.cost_usd, 6)}; run it with "
        f'`podium project run --file {job_path}` or revise with `podium project draft --refine "..." --out {out}`',
        err=True,
    )


async def _draft(
    drafter: JobDrafter, intent: str | None, refine: str | None, current: JobDraft | None, max_usd: Decimal
) -> JobDraft:
    if intent is not None:
        result = await drafter.draft(intent, max_usd=max_usd)
    else:
        assert current is not None, "the draft in --out is read when no intent is given"
        result = current
    if refine is not None:
        result = await drafter.refine(result, refine, max_usd=max_usd)
    return result
