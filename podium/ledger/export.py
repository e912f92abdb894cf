"""Ledger rows as CSV or JSON, and a cost-over-time PNG (matplotlib, imported only when plotting)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from podium.core.errors import ValidationError
from podium.ledger.reports import CostReport

FORMATS: tuple[str, ...] = ("csv", "json")
_UNIT = {"daily": "day", "weekly": "week", "monthly": "month"}
# Columns users export; the writer's host:pid token and the held budget keys are internal bookkeeping.
EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "request_id",
    "attempt",
    "started_at",
    "finished_at",
    "status",
    "project",
    "key",
    "team",
    "user_id",
    "org",
    "strategy",
    "task_type",
    "model",
    "provider",
    "stream",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "cost_usd",
    "reserved_usd",
    "latency_ms",
    "error_type",
    "error_message",
    "gates",
    "prompt",
    "response",
)


def jsonable(value: Any) -> Any:
    """Money as exact strings, times as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def export_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {col: jsonable(row.get(col)) for col in EXPORT_COLUMNS}


def export_rows(rows: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """All rows in ``fmt`` ("csv" or "json")."""
    if fmt not in FORMATS:
        raise ValidationError(
            f"format {fmt!r} is not valid; use one of {', '.join(FORMATS)}",
            field="format",
            value=fmt,
            valid=list(FORMATS),
        )
    data = [export_row(r) for r in rows]
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS))
    writer.writeheader()
    for row in data:
        writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})
    return buf.getvalue()


def plot_report(report: CostReport, path: Path) -> Path:
    """Draw spend per period (and the baseline's, when the report has one) to a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig, _ = report_figure(report)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path


def report_figure(report: CostReport) -> tuple[Any, Any]:
    """(figure, axes) of the spend plot. Periods are evenly spaced labels, not a date axis: one day of data is one
    point labelled with that day, not an axis spanning years."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    periods = sorted({line.period for line in report.lines if line.period is not None})
    xs = list(range(len(periods)))
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(xs, [_sum(report.lines, p, "cost_usd") for p in periods], marker="o", label="spent")
    if report.baseline is not None:
        ax.plot(xs, [_sum(report.lines, p, "baseline_cost_usd") for p in periods], marker="x", linestyle="--",
                label=f"on {report.baseline}")
    ax.set_xticks(xs, [p.isoformat() for p in periods], rotation=30, ha="right")
    ax.set_xlim(-0.5, max(0.5, len(xs) - 0.5))
    ax.set_title(f"Podium spend per {_UNIT[report.period]}")
    ax.set_ylabel("USD")
    ax.legend()
    fig.tight_layout()
    return fig, ax


def _sum(lines: Sequence[Any], period: date, attr: str) -> float:
    # Plot coordinates only: floats are fine here, the money itself stays Decimal everywhere else.
    return float(sum((getattr(line, attr) or Decimal(0) for line in lines if line.period == period), Decimal(0)))
