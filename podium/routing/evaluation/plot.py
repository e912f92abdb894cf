"""``podium eval --plot``: cost vs quality for every strategy, baseline and threshold curve (matplotlib, Agg).

Both axes are relative to always calling the strongest model, cost on a log scale (strategies span 1%-100%
of its cost), with dashed reference lines at the strongest model's quality and cost. Point labels never overlap each other, the
legend or the reference labels (``label_placement``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from podium.routing.evaluation.harness import EvalReport
from podium.routing.evaluation.label_placement import place_labels
from podium.routing.evaluation.metrics import Point

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_FLOOR = 1e-4  # a zero-cost point still needs a place on a log axis


def _xy(p: Point, report: EvalReport) -> tuple[float, float]:
    base_cost = float(report.strongest.cost_usd) or 1.0
    base_q = report.strongest.quality or 1.0
    return max(_FLOOR, float(p.cost_usd) / base_cost), p.quality / base_q


def write_plot(report: EvalReport, path: str | Path) -> Path:
    """Write a PNG to ``path``; matplotlib is imported here so ``import podium`` stays light."""
    fig = cost_quality_figure(report)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)  # as ``podium costs report --plot`` does
    fig.savefig(out, format="png", bbox_inches="tight")
    return out


def cost_quality_figure(report: EvalReport) -> Figure:
    """The figure ``write_plot`` saves (Agg): sweeps, one labelled point per strategy, reference lines."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(10, 6.5), dpi=110)
    canvas = FigureCanvasAgg(fig)  # label placement measures text on this canvas's renderer
    ax = fig.add_subplot()
    for name in dict.fromkeys(p.name for p in report.curve):
        pts = sorted(_xy(p, report) for p in report.curve if p.name == name)
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", linewidth=1.4, label=f"{name} (sweep)")
    labelled = [*report.strategies, report.oracle]
    anchors = [_xy(p, report) for p in labelled]
    for p, (x, y) in zip(labelled, anchors, strict=True):
        color = "black" if p.name in ("always-strongest", "oracle") else None
        ax.scatter([x], [y], s=40, zorder=3, color=color, edgecolors="black", linewidths=0.5)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.9)
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=0.9)
    ax.axhline(0.95, color="grey", linestyle=":", linewidth=0.8)
    strongest = str(report.strongest.params.get("model", "strongest"))
    ax.text(0.011, 1.005, f"{strongest} quality", fontsize=8, color="grey")
    ax.text(0.011, 0.955, "95%", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_xlim(0.01, 1.5)
    ax.set_ylim(ax.get_ylim())  # fixed before the labels are placed, so their pixel boxes stay where measured
    percent = FuncFormatter(lambda v, _pos: f"{v:.0%}" if v >= 0.01 else f"{v:.1%}")
    ax.xaxis.set_major_formatter(percent)
    ax.yaxis.set_major_formatter(percent)
    ax.set_xlabel(f"cost relative to always calling {strongest} (log scale)")
    ax.set_ylabel(f"quality relative to {strongest}")
    ax.set_title(f"podium eval: cost vs quality on {report.prompts} held-out prompts "
                 f"(router trained on {report.train_prompts} other prompts)")
    if report.curve:
        ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="both", alpha=0.25)
    place_labels(ax, anchors, [p.name for p in labelled], renderer=canvas.get_renderer(), fontsize=8)
    return fig
