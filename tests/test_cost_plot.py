"""The spend plot labels each period it has data for; one day of data is one labelled point, not years of axis."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import matplotlib.pyplot as plt

from podium.ledger.export import plot_report, report_figure
from podium.ledger.reports import CostReport, ReportLine


def test_one_day_of_data_is_one_labelled_point(tmp_path: Path) -> None:
    report = CostReport("daily", "model", None, [ReportLine(date(2026, 12, 3), "openai:gpt-5-nano", cost_usd=Decimal("0.01"))])
    fig, ax = report_figure(report)
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-12-03"]
        low, high = ax.get_xlim()
        assert high - low <= 1.0
    finally:
        plt.close(fig)
    assert plot_report(report, tmp_path / "out" / "cost.png").stat().st_size > 1000


def test_several_days_and_a_baseline_are_all_labelled() -> None:
    days = [date(2026, 12, d) for d in (1, 2, 5)]
    lines = [ReportLine(d, "m", cost_usd=Decimal("0.02"), baseline_cost_usd=Decimal("0.05")) for d in days]
    fig, ax = report_figure(CostReport("daily", "model", "anthropic:claude-sonnet-4-5", lines))
    try:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-12-01", "2026-12-02", "2026-12-05"]
        assert len(ax.get_lines()) == 2
    finally:
        plt.close(fig)
