"""`podium eval --plot`: the strategy labels never overlap each other, the legend or the reference labels, even when
the points sit on top of each other (rendered with matplotlib's Agg backend, measured in display pixels)."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations
from pathlib import Path

import pytest

from podium.routing.evaluation import Point
from podium.routing.evaluation.harness import EvalReport
from podium.routing.evaluation.plot import cost_quality_figure, write_plot

STRONG = Point("always-strongest", 0.80, Decimal(10), params={"model": "openai:gpt-4-1106-preview"})


def _report(strategies: list[Point], curve: list[Point] | None = None) -> EvalReport:
    cheapest = Point("always-cheapest", 0.55, Decimal("0.2"))
    oracle = Point("oracle", 0.92, Decimal("1.1"))
    return EvalReport(prompts=200, strongest=STRONG, cheapest=cheapest, oracle=oracle,
                      strategies=[STRONG, cheapest, *strategies], curve=curve or [], train_prompts=800)


CLUSTERED = [  # six strategies within a few percent of each other in cost and quality
    Point("cheapest", 0.78, Decimal("1.00")),
    Point("auto", 0.781, Decimal("1.02")),
    Point("cascade", 0.779, Decimal("1.05")),
    Point("ensemble", 0.782, Decimal("0.98")),
    Point("auto (cost_weight 0.5)", 0.78, Decimal("1.01")),
    Point("cascade (learned plans)", 0.783, Decimal("1.03")),
]
SWEEP = [Point("threshold", q, Decimal(c)) for q, c in ((0.6, "0.5"), (0.7, "2"), (0.78, "5"), (0.8, "9"))]


def _boxes(fig):  # type: ignore[no-untyped-def]
    from matplotlib.text import Annotation, Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    labels = {t.get_text(): Text.get_window_extent(t, renderer) for t in ax.texts if isinstance(t, Annotation)}
    others = [t.get_window_extent(renderer) for t in ax.texts if not isinstance(t, Annotation)]
    legend = ax.get_legend()
    if legend is not None:
        others.append(legend.get_window_extent(renderer))
    return labels, others, ax.get_window_extent(renderer)


@pytest.mark.parametrize("curve", [[], SWEEP], ids=["no-sweep", "with-legend"])
def test_labels_of_clustered_points_do_not_overlap(curve: list[Point]) -> None:
    report = _report(CLUSTERED, curve)
    labels, others, frame = _boxes(cost_quality_figure(report))
    assert set(labels) == {p.name for p in [*report.strategies, report.oracle]}
    for (a, box_a), (b, box_b) in combinations(labels.items(), 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
    for name, box in labels.items():
        assert not any(box.overlaps(o) for o in others), f"{name!r} overlaps the legend or a reference label"
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, name


def test_placement_is_deterministic_and_the_png_is_written(tmp_path: Path) -> None:
    first, _, _ = _boxes(cost_quality_figure(_report(CLUSTERED)))
    again, _, _ = _boxes(cost_quality_figure(_report(CLUSTERED)))
    assert {k: tuple(v.bounds) for k, v in first.items()} == {k: tuple(v.bounds) for k, v in again.items()}
    out = write_plot(_report(CLUSTERED, SWEEP), tmp_path / "eval" / "curve.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_labels_are_not_crossed_by_the_sweep_lines() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from podium.routing.evaluation.label_placement import _crossing, _segments, place_labels

    fig = Figure(figsize=(6, 4))
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # A sweep line passing right through where the first label would go (to the right of its point).
    ax.plot([0.0, 10.0], [5.0, 5.0])
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    anchors = [(2.0, 5.0), (6.0, 5.0)]
    labels = place_labels(ax, anchors, ["first strategy", "second"], renderer=canvas.get_renderer())
    renderer = canvas.get_renderer()
    for label in labels:
        label.update_positions(renderer)
        box = Text.get_window_extent(label, renderer)
        assert all(_crossing(box, seg) == 0 for seg in _segments(ax)), label.get_text()
