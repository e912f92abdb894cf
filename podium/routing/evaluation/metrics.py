"""Evaluation metrics: quality/cost points, RouteLLM's APGR, and the cost of reaching a share of the best quality."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class Point:
    """One configuration's result over the evaluated prompts: mean correctness and total USD cost."""

    name: str
    quality: float
    cost_usd: Decimal
    threshold: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    chosen: dict[str, int] = field(default_factory=dict)  # model -> prompts it answered
    calls: int = 0


def pgr(quality: float, weak: float, strong: float) -> float:
    """Performance gap recovered: 0 at the weak model's quality, 1 at the strong model's."""
    return 0.0 if strong == weak else (quality - weak) / (strong - weak)


def apgr(points: Sequence[Point], *, weak: Point, strong: Point) -> float:
    """Average performance gap recovered over cost, from the weak (cheapest) to the strong model's cost.

    RouteLLM averages PGR over the share of calls sent to the strong model; with many models we use the share of
    the cost gap instead. Cost is normalised to x = (cost - weak cost) / (strong cost - weak cost) in 0..1 and at
    each x the best PGR of any point costing at most x counts (a step function, so no interpolation flatters the
    router); the weak model itself is the point (0, 0). APGR is the area under that step function.
    """
    span = float(strong.cost_usd - weak.cost_usd)
    if span <= 0:
        return 0.0
    steps = sorted(
        (max(0.0, float(p.cost_usd - weak.cost_usd) / span), pgr(p.quality, weak.quality, strong.quality))
        for p in points
    )
    area, best, prev_x = 0.0, 0.0, 0.0
    for x, y in steps:
        if x >= 1.0:
            break
        area += best * (x - prev_x)
        best, prev_x = max(best, y), x
    return area + best * (1.0 - prev_x)


def cost_to_reach(points: Iterable[Point], target_quality: float) -> Point | None:
    """The cheapest point whose quality reaches ``target_quality``, or None when no point does."""
    reaching = [p for p in points if p.quality >= target_quality - 1e-12]
    return min(reaching, key=lambda p: (p.cost_usd, -p.quality)) if reaching else None


def ratio(value: Decimal | float, base: Decimal | float) -> float | None:
    return None if not base else float(value) / float(base)
