"""Cost ledger and budgets: reserve the worst case, call, settle to the real cost; reports and forecasts."""

from podium.ledger.budgets import Budget, UsageKey, budgets_from_settings
from podium.ledger.export import export_rows, plot_report
from podium.ledger.feedback import Feedback, UnknownRequestError, Verdict, parse_verdict
from podium.ledger.forecast import CostForecaster, CostPredictor, ForecastReport, ForecastTask, RiskLevel
from podium.ledger.ledger import Hold, Ledger
from podium.ledger.middleware import LedgerMiddleware, build_ledger_middleware, close_ledger
from podium.ledger.operations import Totals
from podium.ledger.queries import LedgerReader
from podium.ledger.reports import CostReport, ReportLine, StatsLine, build_report, build_stats

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
