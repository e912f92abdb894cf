"""``--explain``: a routing decision as a rich table, and after a routed call what it tried and paid."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from podium.core.errors import budget_name
from podium.core.money import fmt_usd
from podium.routing.strategies.base import RoutedResult, RoutingDecision

if TYPE_CHECKING:
    from rich.table import Table


def render_explain(decision: RoutingDecision) -> Table:
    """One row per candidate (chosen first-class), with the strategy's reasoning as the caption."""
    from rich.table import Table

    table = Table(title=f"routing: {decision.strategy}", caption="\n".join(decision.explanation), caption_justify="left")
    for column, justify in (("", "left"), ("model", "left"), ("predicted quality", "right"),
                            ("est. cost", "right"), ("est. latency", "right"), ("note", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for cand in decision.candidates:
        mark = "✓" if cand.id in decision.chosen else ""
        table.add_row(
            mark,
            cand.id,
            "?" if cand.predicted_quality is None else f"{cand.predicted_quality:.2f}",
            "?" if cand.estimated_cost is None else f"${cand.estimated_cost:.6f}",
            "?" if cand.est_latency_ms is None else f"{cand.est_latency_ms:.0f} ms",
            cand.reason,
        )
    return table


def render_routed(result: RoutedResult) -> list[str]:
    """After a routed call: every model tried in call order, its own cost and outcome, then the total."""
    summary = result.summary()
    task = f", task type {summary['task_type']!r}" if summary["task_type"] else ""
    calls = f"{summary['calls']} call{'' if summary['calls'] == 1 else 's'}"
    lines = [f"routed by {summary['strategy']}{task}: {calls}, total {fmt_usd(result.total_cost_usd)}"]
    for n, step in enumerate(summary["tried"], start=1):
        cost = "-" if step["cost_usd"] is None else fmt_usd(Decimal(step["cost_usd"]))
        role = "" if step["role"] == "answer" else f" ({step['role']})"
        mark = "  <- answer" if step["chosen"] else ""
        reason = f": {step['reason']}" if step["reason"] else ""
        lines.append(f"  {n}. {step['model']}{role} {cost} {step['outcome']}{reason}{mark}")
    if summary["agreement"] is not None:
        lines.append(f"  agreement {summary['agreement']:.2f}")
    note = budget_note(result)
    if note is not None:
        lines.append(f"  {note}")
    return lines


def budget_note(result: RoutedResult) -> str | None:
    """One line when a budget refused a later call of the run, so it answered with what it had already paid for."""
    stop = result.decision.budget_stop
    if stop is None:
        return None
    name, period = budget_name(stop.scope)
    return (
        f"budget-limited: {name} (${stop.limit_usd}{period}) refused {stop.model} (up to ${stop.requested_usd}); "
        f"answered by {result.completion.model}, the best answer already paid for"
    )
