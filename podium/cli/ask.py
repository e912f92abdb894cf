"""`podium ask`: one prompt to one model or through a routing strategy, printed plain or as JSON."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from podium.cli.context import cli_catalog, cli_env, load_cli_config
from podium.cli.cost_cap import explained_cap_error
from podium.cli.flags import reject_blank
from podium.config import PodiumConfig
from podium.core.errors import BudgetExceededError, ValidationError
from podium.core.events import Event, EventType
from podium.core.money import fmt_usd, usd
from podium.core.pipeline import CallMeta
from podium.core.routed import RoutingDecision
from podium.core.types import ChatRequest, Completion
from podium.routing import STRATEGY_ALIASES, strategy_name
from podium.routing.strategies import budget_note, render_routed, strategy_listing, task_type_name

if TYPE_CHECKING:
    from podium.catalog import Catalog
    from podium.engine import Podium


@dataclass(frozen=True, slots=True)
class AskOptions:
    model: str | None
    strategy: str | None
    as_json: bool
    stream: bool
    explain: bool
    meta: CallMeta


def ask(
    ctx: typer.Context,
    prompt: Annotated[
        str | None, typer.Argument(help="The prompt. Omit it to read stdin; with both, stdin is appended.")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model id (provider:model) or alias.")] = None,
    strategy: Annotated[
        str | None,
        typer.Option("--strategy", "-s", help=f"Let Podium choose the model (not with --model): {strategy_listing()}."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object (text, model, provider, usage, cost_usd, latency_ms, ...)."),
    ] = False,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="Print the answer as it arrives. With --json, pieces go to stderr and stdout gets the final object.",
        ),
    ] = False,
    system: Annotated[str | None, typer.Option("--system", help="System prompt.")] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", "-t", help="Sampling temperature, 0 to 2.")
    ] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", help="Most tokens to generate.")] = None,
    max_cost: Annotated[
        str | None,
        typer.Option("--max-cost", help="Refuse the call if its worst case could cost more (USD); the worst case "
                     "assumes the whole --max-tokens, else the model's full output allowance."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the routing decision on stderr before answering.")
    ] = False,
    replay: Annotated[
        bool,
        typer.Option(
            "--replay",
            help="Answer from the bundled recorded answers (no keys, no network). Each answer is charged its "
            "recorded cost to the ledger and budgets.",
        ),
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not answer from the response cache.")] = False,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Candidate models for a routed call (comma-separated or repeated; not with --model): the strategy "
            "chooses among these only, in place of routing.candidates.",
        ),
    ] = None,
    task_type: Annotated[
        str | None,
        typer.Option(
            "--task-type",
            help="The task type (code, math, ... or one of routing.task_table's): the table strategy and the "
            "learned cascade route by it instead of analysing the prompt; the ledger records it.",
        ),
    ] = None,
) -> None:
    """Ask a model. `echo "text" | podium ask "Summarise this" --model ollama:llama3.2`"""
    reject_blank(
        "--model", model, field="model", valid="a model id (provider:model) or alias",
        hint="give a model id (provider:model) or alias, or leave --model out to route",
    )  # fmt: skip
    chosen, cap = _strategy(strategy, model), parse_max_cost(max_cost)  # bad flags fail before stdin is read
    loaded = load_cli_config(ctx)
    candidates = candidate_models(models, model, cli_catalog(loaded))
    task = None if task_type is None else task_type_name(task_type, loaded.config.routing.task_table)
    text = _prompt_text(prompt, typer.get_text_stream("stdin"))
    request = ChatRequest.from_prompt(text, system=system, temperature=temperature, max_tokens=max_tokens)
    config = loaded.config.model_copy(update={"mode": "replay"}) if replay else loaded.config
    if candidates is not None:
        config = config.model_copy(update={"routing": config.routing.model_copy(update={"candidates": candidates})})
    opts = AskOptions(
        model=model,
        strategy=chosen,
        as_json=as_json,
        stream=stream,
        explain=explain,
        meta=CallMeta(max_cost_usd=cap, no_cache=no_cache, strategy=chosen, task_type=task),
    )
    fallbacks: list[Event] = []
    waited: list[float] = []
    try:
        completion = asyncio.run(_run(config, request, opts, fallbacks, waited))
    except BudgetExceededError as exc:
        catalog = cli_catalog(loaded)
        raise explained_cap_error(exc, request, lambda m: catalog.get(m) if m in catalog else None, cap) from exc
    routed = completion.routed
    fallback = None if routed is not None else fallback_record(completion, fallbacks)
    if as_json:
        typer.echo(json.dumps(answer_json(completion, fallback)))
    else:
        if not stream:
            typer.echo(completion.text)
        typer.secho(stats_line(completion, waited[0] if waited else None, replayed=replay), err=True, dim=True)
    if explain and routed is not None:
        for line in render_routed(routed):
            typer.echo(line, err=True)
    for note in notes(completion, fallback, explained=explain) + budget_warnings(fallbacks):
        typer.echo(f"note: {note}", err=True)


def answer_json(completion: Completion, fallback: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--json`` object. A routed answer reports the usage and cost of every model called (as the gateway
    does) and a ``routing`` object: strategy, task type, chosen model, total cost and each model tried. A call to
    one model that another model answered (the engine's fallback after an error) adds ``fallback``."""
    data = completion.to_dict()
    routed = completion.routed
    if routed is not None:
        data["usage"] = routed.usage.to_dict()
        data["cost_usd"] = str(routed.total_cost_usd)
        data["routing"] = routed.summary()
    if fallback is not None:
        data["fallback"] = fallback
    return data


def budget_warnings(events: list[Event]) -> list[str]:
    """A budget that crossed its alert threshold on this call (``cost_tracking.alert_threshold`` and the like)."""
    out = []
    for e in events:
        if e.type != EventType.BUDGET_WARNING:
            continue
        d = e.data
        out.append(f"budget {d.get('scope')} has spent ${d.get('spent_usd')} of ${d.get('limit_usd')} "
                   f"({_share(d.get('ratio'))}, alert threshold {_share(d.get('threshold'))})")
    return out


def _share(value: Any) -> str:
    x = float(value or 0)
    return f"{x:.0%}" if x >= 0.1 else f"{x:.2%}"


def fallback_record(completion: Completion, events: list[Event]) -> dict[str, Any] | None:
    """``{"requested", "failed": [{"model", "error"}], "answered_by"}`` when the engine's fallback answered."""
    moves = [e.data for e in events if e.type == EventType.FALLBACK]
    if not moves or completion.model == moves[0].get("from"):
        return None
    failed = [{"model": str(m.get("from")), "error": str(m.get("error"))} for m in moves]
    return {"requested": failed[0]["model"], "failed": failed, "answered_by": completion.model}


def notes(completion: Completion, fallback: dict[str, Any] | None, *, explained: bool) -> list[str]:
    """Lines for stderr: a fallback answered instead of the model asked for; a budget cut a routed call short."""
    out = []
    if fallback is not None:
        failed = ", ".join(f"{f['model']} failed ({f['error']})" for f in fallback["failed"])
        out.append(f"{failed}; answered by {fallback['answered_by']}")
    routed = completion.routed
    note = None if routed is None or explained else budget_note(routed)  # --explain already lists it
    if note is not None:
        out.append(note)
    return out


def _prompt_text(prompt: str | None, stdin: TextIO | None) -> str:
    """The prompt argument, then whatever was piped in (like `llm`), separated by a blank line."""
    piped = "" if stdin is None or stdin.isatty() else stdin.read()
    parts = [p for p in (prompt, piped.strip("\n")) if p and p.strip()]
    if not parts:
        raise ValidationError(
            'no prompt: pass it as an argument (`podium ask "..."`) or pipe text on stdin',
            field="prompt",
            value=prompt,
        )
    return "\n\n".join(parts)


def _strategy(name: str | None, model: str | None) -> str | None:
    if name is None:
        return None
    key = strategy_name(name)
    if model is not None:
        raise ValidationError(
            f"use --model for one model or --strategy to route, not both (got --model {model} --strategy {name})",
            field="strategy",
            value=name,
            valid="either --model or --strategy",
        )
    return STRATEGY_ALIASES.get(key, key)


def candidate_models(values: list[str] | None, model: str | None, catalog: Catalog) -> tuple[str, ...] | None:
    """``--models`` as catalog ids (comma-separated or repeated); an unknown name fails with suggestions."""
    if not values:
        return None
    if model is not None:
        raise ValidationError(
            f"use --model for one model or --models to route among several, not both (got --model {model})",
            field="models", value=values, valid="either --model or --models",
        )
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    if not names:
        raise ValidationError("--models is empty; give model ids such as openai:gpt-4o-mini,openai:gpt-5",
                              field="models", value=values)
    return tuple(dict.fromkeys(catalog.get(n).id for n in names))


def parse_max_cost(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = usd(value.strip().lstrip("$"))
    except ValidationError:
        amount = None
    if amount is None or amount < 0:
        raise ValidationError(
            f"--max-cost {value!r} is not valid; give an amount in USD such as 0.05",
            field="max_cost",
            value=value,
            valid="a non-negative amount in USD",
        )
    return amount


def routed_strategy(config: PodiumConfig, model: str | None, strategy: str | None) -> str | None:
    """The strategy that will pick the model, or None when --model or default_model fixes it (the engine's rule)."""
    from podium.engine.client import routed_strategy as engine_rule

    return engine_rule(config.routing, config.default_model, model, strategy)


async def _run(
    config: PodiumConfig, request: ChatRequest, opts: AskOptions, events: list[Event], waited: list[float] | None = None
) -> Completion:
    """The answer; ``events`` collects the engine's fallback events (one model answering for another), ``waited``
    the milliseconds the call took from sending to the answer, every retry and fallback included."""
    from podium.engine import Podium

    # Decide the strategy here so that --explain shows exactly the routing the call then runs.
    strategy = routed_strategy(config, opts.model, opts.strategy)

    def on_event(event: Event) -> None:
        if event.type in (EventType.FALLBACK, EventType.BUDGET_WARNING):
            events.append(event)

    client = Podium.from_config(config, env=cli_env(), http_client=None, emit=on_event)
    if inspect.isawaitable(client):
        client = await client
    async with client:
        if opts.explain:
            await _explain(client, config, request, opts, strategy)
        started = time.monotonic()
        if not opts.stream:
            answer = await client.complete(request, model=opts.model, strategy=strategy, meta=opts.meta)
        else:
            stream = client.stream(request, model=opts.model, strategy=strategy, meta=opts.meta)
            async for chunk in stream:
                if chunk.delta:
                    typer.echo(chunk.delta, nl=False, err=opts.as_json)
            typer.echo("", err=opts.as_json)
            assert stream.completion is not None, "a finished stream always holds its completion"
            answer = stream.completion
        if waited is not None:
            waited.append((time.monotonic() - started) * 1000)
        return answer


async def _explain(client: Podium, config: PodiumConfig, request: ChatRequest, opts: AskOptions, strategy: str | None) -> None:
    """Print the routing decision on stderr, so stdout stays the answer (or the one JSON object)."""
    if strategy is None:
        how = "--model" if opts.model else "default_model in the config"
        typer.echo(f"routing: none; model {opts.model or config.default_model} was chosen by {how}", err=True)
        return
    render_decision(await client.explain(request, strategy=strategy, meta=opts.meta))


def render_decision(decision: RoutingDecision) -> None:
    """Render with the routing layer's renderer when it has one, else as the decision's own lines."""
    from rich.console import Console

    console = Console(stderr=True)
    try:
        from podium.routing import render_explain  # type: ignore[attr-defined]
    except ImportError:
        chosen = ", ".join(getattr(decision, "chosen", []) or []) or "?"
        console.print(f"strategy {getattr(decision, 'strategy', '?')}: chose {chosen}", markup=False)
        for line in getattr(decision, "explanation", []) or []:
            console.print(f"  {line}", markup=False)
        return
    from podium.cli.tables import print_rendered

    # Model ids are never cut: the note wraps, or each candidate becomes a line when the terminal is narrow.
    print_rendered(console, render_explain(decision), keys=("", "model"), wrap=("note",))


def stats_line(completion: Completion, waited_ms: float | None = None, *, replayed: bool = False) -> str:
    """``openai:gpt-4o-mini · 12 in / 40 out tokens · $0.000026 · 412 ms``

    A routed answer counts the tokens and cost of every model called: ``... · 2 calls · 20 in / 329 out ...``.
    The time is ``waited_ms`` when given: what the call took, retries and fallbacks included, not only the answering
    attempt's latency. A replayed answer has no model latency, so the line says how long the replay took.
    """
    model = completion.model if ":" in completion.model else f"{completion.provider}:{completion.model}"
    routed = completion.routed
    u, cost_usd = (completion.usage, completion.cost_usd) if routed is None else (routed.usage, routed.total_cost_usd)
    tokens = f"{u.input_tokens} in / {u.output_tokens} out tokens"
    if u.cached_input_tokens:
        tokens += f" ({u.cached_input_tokens} cached)"
    if routed is not None:
        tokens = f"{len(routed.paid)} call{'s' if len(routed.paid) != 1 else ''} · {tokens}"
    cost = fmt_usd(cost_usd) if cost_usd is not None else "cost unknown"
    cached = " · from cache" if completion.cached else ""
    took = completion.latency_ms if waited_ms is None else max(waited_ms, completion.latency_ms)
    timing = f"replayed in {took:.0f} ms" if replayed else f"{took:.0f} ms"
    return f"{model} · {tokens} · {cost} · {timing}{cached}"
