"""``podium eval --plot``: cost vs quality for every strategy, baseline and threshold curve (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

from podium.routing.evaluation.harness import EvalReport


def write_plot(report: EvalReport, path: str | Path) -> Path:
    """Write a PNG to ``path``; matplotlib is imported here so ``import podium`` stays light."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5), dpi=110)
    ax = fig.add_subplot()
    for name in dict.fromkeys(p.name for p in report.curve):
        pts = sorted((float(p.cost_usd), p.quality) for p in report.curve if p.name == name)
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", linewidth=1.2, label=f"{name} (sweep)")
    for p in [*report.strategies, report.oracle]:
        ax.scatter([float(p.cost_usd)], [p.quality], s=36, zorder=3)
        ax.annotate(p.name, (float(p.cost_usd), p.quality), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(report.strongest.quality, color="grey", linestyle="--", linewidth=0.8)
    if all(p.cost_usd > 0 for p in [*report.strategies, *report.curve, report.oracle]):
        ax.set_xscale("log")
    ax.set_xlabel("total cost (USD, recorded prices)")
    ax.set_ylabel("quality (mean correctness)")
    ax.set_title(f"cost vs quality on {report.prompts} held-out prompts")
    if report.curve:
        ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, alpha=0.3)
    out = Path(path)
    fig.savefig(out, format="png")
    return out
