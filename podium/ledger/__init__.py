"""Cost ledger and budgets: reserve the worst case, call, settle to the real cost; reports and forecasts.

Names are imported on first use, so that the engine's ``podium.ledger.middleware`` does not also load the reports,
exports and forecasts that only `podium costs` shows (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.core.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from podium.ledger.budgets import Budget, UsageKey, budgets_from_settings
    from podium.ledger.export import export_rows, plot_report
    from podium.ledger.feedback import Feedback, UnknownRequestError, Verdict, parse_verdict
    from podium.ledger.forecast import CostForecaster, CostPredictor, ForecastReport, ForecastTask, RiskLevel
    from podium.ledger.ledger import Hold, Ledger
    from podium.ledger.middleware import LedgerMiddleware, build_ledger_middleware, close_ledger
    from podium.ledger.operations import Totals
    from podium.ledger.queries import LedgerReader
    from podium.ledger.reports import CostReport, ReportLine, StatsLine, build_report, build_stats

_HOMES: dict[str, str] = {
    **dict.fromkeys(("Budget", "UsageKey", "budgets_from_settings"), "podium.ledger.budgets"),
    **dict.fromkeys(("export_rows", "plot_report"), "podium.ledger.export"),
    **dict.fromkeys(("Feedback", "UnknownRequestError", "Verdict", "parse_verdict"), "podium.ledger.feedback"),
    **dict.fromkeys(
        ("CostForecaster", "CostPredictor", "ForecastReport", "ForecastTask", "RiskLevel"), "podium.ledger.forecast"
    ),
    **dict.fromkeys(("Hold", "Ledger"), "podium.ledger.ledger"),
    **dict.fromkeys(("LedgerMiddleware", "build_ledger_middleware", "close_ledger"), "podium.ledger.middleware"),
    "Totals": "podium.ledger.operations",
    "LedgerReader": "podium.ledger.queries",
    **dict.fromkeys(("CostReport", "ReportLine", "StatsLine", "build_report", "build_stats"), "podium.ledger.reports"),
}

__all__ = [
    "Budget",
    "CostForecaster",
    "CostPredictor",
    "CostReport",
    "Feedback",
    "ForecastReport",
    "ForecastTask",
    "Hold",
    "Ledger",
    "LedgerMiddleware",
    "LedgerReader",
    "ReportLine",
    "RiskLevel",
    "StatsLine",
    "Totals",
    "UnknownRequestError",
    "UsageKey",
    "Verdict",
    "budgets_from_settings",
    "build_ledger_middleware",
    "build_report",
    "build_stats",
    "close_ledger",
    "export_rows",
    "parse_verdict",
    "plot_report",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals(), __all__)
