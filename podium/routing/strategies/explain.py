"""``--explain``: a routing decision as a rich table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.routing.strategies.base import RoutingDecision

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
