"""Cost reports and statistics from ledger rows: by period and group, with savings against a baseline model.

"Savings vs baseline" is what the same tokens would have cost on the baseline model at its catalog prices,
minus what was actually paid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from podium.core.errors import ValidationError
from podium.core.model_spec import ModelSpec
from podium.core.money import ZERO
from podium.core.types import Usage
from podium.ledger.rows import CACHE_HIT, ERROR, OK, PENDING, RECOVERED, REFUSED, row_category, row_tags

PERIODS: tuple[str, ...] = ("daily", "weekly", "monthly")
# --by value -> ledger column
GROUPS: dict[str, str] = {
    "model": "model",
    "provider": "provider",
    "strategy": "strategy",
    "task": "task_type",
    "key": "key",
    "project": "project",
    "team": "team",
    "user": "user_id",
    "tag": "tags",  # each key=value of a row's tags is a group of its own
    "category": "category",  # derived: ``row_category``
}
# Rows that are not a finished upstream attempt: a call in flight, or one refused before it was sent.
NOT_ATTEMPTS = (PENDING, REFUSED)


def _check(name: str, value: str, valid: Iterable[str]) -> None:
    options = list(valid)
    if value not in options:
        raise ValidationError(
            f"{name} {value!r} is not valid; use one of {', '.join(options)}", field=name, value=value, valid=options
        )


def period_start(at: datetime, period: str) -> date:
    """The first day of the daily/weekly (Monday)/monthly bucket holding ``at``."""
    _check("period", period, PERIODS)
    day = at.date()
    if period == "weekly":
        return day - timedelta(days=day.weekday())
    if period == "monthly":
        return day.replace(day=1)
    return day


def row_usage(row: Mapping[str, Any]) -> Usage:
    return Usage(
        input_tokens=row.get("input_tokens") or 0,
        output_tokens=row.get("output_tokens") or 0,
        cached_input_tokens=row.get("cached_input_tokens") or 0,
        reasoning_tokens=row.get("reasoning_tokens") or 0,
    )


@dataclass(slots=True)
class ReportLine:
    """Spend of one group in one period."""

    period: date | None
    group: str
    calls: int = 0
    errors: int = 0
    cache_hits: int = 0
    unpriced: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = ZERO
    baseline_cost_usd: Decimal | None = None

    @property
    def savings_usd(self) -> Decimal | None:
        return None if self.baseline_cost_usd is None else self.baseline_cost_usd - self.cost_usd

    @property
    def savings_pct(self) -> float | None:
        if self.baseline_cost_usd is None or self.baseline_cost_usd == 0:
            return None
        return float((self.baseline_cost_usd - self.cost_usd) / self.baseline_cost_usd * 100)

    def add(self, row: Mapping[str, Any], baseline: ModelSpec | None) -> None:
        self.calls += 1
        self.errors += row["status"] in (ERROR, RECOVERED)
        self.cache_hits += row["status"] == CACHE_HIT
        self.input_tokens += row.get("input_tokens") or 0
        self.output_tokens += row.get("output_tokens") or 0
        if row.get("cost_usd") is None:
            self.unpriced += 1
        else:
            self.cost_usd += row["cost_usd"]
        if baseline is not None:
            base = baseline.cost(row_usage(row)) or ZERO
            self.baseline_cost_usd = (self.baseline_cost_usd or ZERO) + base

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": None if self.period is None else self.period.isoformat(),
            "group": self.group,
            "calls": self.calls,
            "errors": self.errors,
            "cache_hits": self.cache_hits,
            "unpriced": self.unpriced,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": str(self.cost_usd),
            "baseline_cost_usd": None if self.baseline_cost_usd is None else str(self.baseline_cost_usd),
            "savings_usd": None if self.savings_usd is None else str(self.savings_usd),
            "savings_pct": None if self.savings_pct is None else round(self.savings_pct, 2),
        }


@dataclass(slots=True)
class CostReport:
    period: str
    by: str
    baseline: str | None
    lines: list[ReportLine] = field(default_factory=list)
    total: ReportLine = field(default_factory=lambda: ReportLine(None, "total"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "by": self.by,
            "baseline": self.baseline,
            "lines": [line.to_dict() for line in self.lines],
            "total": self.total.to_dict(),
        }


def build_report(
    rows: Iterable[Mapping[str, Any]], *, period: str = "daily", by: str = "model", baseline: ModelSpec | None = None
) -> CostReport:
    """Group finished attempts by period and ``by``; price their tokens on ``baseline`` for the savings column."""
    _check("period", period, PERIODS)
    _check("by", by, GROUPS)
    column = GROUPS[by]
    report = CostReport(period, by, None if baseline is None else baseline.id)
    buckets: dict[tuple[date, str], ReportLine] = {}
    for row in rows:
        if row["status"] in NOT_ATTEMPTS:
            continue
        start = period_start(row["started_at"], period)
        for group in _groups(row, by, column):
            line = buckets.get((start, group))
            if line is None:
                line = buckets[(start, group)] = ReportLine(start, group)
            line.add(row, baseline)
        report.total.add(row, baseline)  # once: a row with two tags is in two lines but paid for once
    report.lines = [buckets[k] for k in sorted(buckets)]
    return report


def _groups(row: Mapping[str, Any], by: str, column: str) -> list[str]:
    if by == "tag":
        return [f"{k}={v}" for k, v in sorted(row_tags(row).items())] or ["-"]
    if by == "category":
        return [row_category(row)]
    return [str(row.get(column) or "-")]


@dataclass(slots=True)
class StatsLine:
    """Activity in one period: calls by outcome, tokens, spend and latency."""

    period: date
    calls: int = 0
    ok: int = 0
    errors: int = 0
    cache_hits: int = 0
    refused: int = 0
    recovered: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = ZERO
    latencies: list[float] = field(default_factory=list)

    @property
    def avg_cost_usd(self) -> Decimal:
        attempts = self.calls - self.refused
        return self.cost_usd / attempts if attempts else ZERO

    def latency_ms(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.isoformat(),
            "calls": self.calls,
            "ok": self.ok,
            "errors": self.errors,
            "cache_hits": self.cache_hits,
            "refused": self.refused,
            "recovered": self.recovered,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": str(self.cost_usd),
            "avg_cost_usd": str(self.avg_cost_usd),
            "p50_latency_ms": self.latency_ms(0.5),
            "p95_latency_ms": self.latency_ms(0.95),
        }


def build_stats(rows: Iterable[Mapping[str, Any]], *, period: str = "daily") -> list[StatsLine]:
    _check("period", period, PERIODS)
    buckets: dict[date, StatsLine] = {}
    for row in rows:
        status = row["status"]
        if status == PENDING:
            continue
        start = period_start(row["started_at"], period)
        line = buckets.setdefault(start, StatsLine(start))
        line.calls += 1
        line.ok += status == OK
        line.errors += status == ERROR
        line.cache_hits += status == CACHE_HIT
        line.refused += status == REFUSED
        line.recovered += status == RECOVERED
        line.input_tokens += row.get("input_tokens") or 0
        line.output_tokens += row.get("output_tokens") or 0
        line.cost_usd += row.get("cost_usd") or ZERO
        if row.get("latency_ms") is not None and status not in NOT_ATTEMPTS:
            line.latencies.append(float(row["latency_ms"]))
    return [buckets[k] for k in sorted(buckets)]
