"""The Grafana dashboard: the nine orchestration workflow panels plus Podium's per-call panels.

The panel list below is plain data (title, kind, PromQL); ``build_dashboard()`` renders it with grafanalib, a
development dependency, into the JSON committed at ``dashboards/grafana/orchestration-metrics.json``.
Regenerate with ``python -m podium.telemetry.dashboard [path]``; a test fails when the file is stale.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from podium.core.errors import ConfigError

if TYPE_CHECKING:
    from grafanalib.core import GridPos, Panel

PanelKind = Literal["stat", "pie", "timeseries", "gauge", "stacked_bars"]
DASHBOARD_UID = "podium-orchestration"
DASHBOARD_FILE = Path("dashboards/grafana/orchestration-metrics.json")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True, slots=True)
class PanelDef:
    title: str
    kind: PanelKind
    queries: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "none"
    description: str = ""


def _q(expr: str, legend: str = "") -> tuple[str, str]:
    return (expr, legend)


def _quantiles(bucket: str, qs: tuple[float, ...] = (0.5, 0.95, 0.99)) -> tuple[tuple[str, str], ...]:
    return tuple(_q(f"histogram_quantile({q}, sum by (le) (rate({bucket}[5m])))", f"p{int(q * 100)}") for q in qs)


# The orchestration workflow panels, in the order their users know.
ORCHESTRATION_PANELS: tuple[PanelDef, ...] = (
    PanelDef("Cost Savings Overview", "stat", (_q("max(orchestration_cost_savings_percent)", "savings"),), "percent"),
    PanelDef(
        "Total Cost Last 24h", "stat", (_q("sum(increase(orchestration_total_cost_usd_total[24h]))", "cost"),), "currencyUSD"
    ),
    PanelDef(
        "Task Classification Distribution",
        "pie",
        (_q("sum by (complexity) (orchestration_tasks_total)", "{{complexity}}"),),
    ),
    PanelDef(
        "Executor Model Usage",
        "pie",
        (_q("sum by (executor_model) (orchestration_delegations_total)", "{{executor_model}}"),),
    ),
    PanelDef(
        "Orchestrator vs Executor Tokens",
        "timeseries",
        (
            _q("sum(rate(orchestration_orchestrator_tokens_total[5m]))", "orchestrator"),
            _q("sum(rate(orchestration_executor_tokens_total[5m]))", "executor"),
        ),
        "short",
    ),
    PanelDef(
        "Delegation Success Rate",
        "gauge",
        (
            _q(
                "100 * sum(orchestration_delegations_success_total)"
                " / clamp_min(sum(orchestration_delegations_total), 1)",
                "success",
            ),
        ),
        "percent",
    ),
    PanelDef(
        "Validation Pass Rate",
        "gauge",
        (
            _q(
                "100 * sum(orchestration_validations_passed_total) / clamp_min(sum(orchestration_validations_total), 1)",
                "passed",
            ),
        ),
        "percent",
    ),
    PanelDef(
        "Cost Breakdown",
        "stacked_bars",
        (
            _q("sum(increase(orchestration_orchestrator_cost_usd_total[1h]))", "orchestrator"),
            _q("sum(increase(orchestration_executor_cost_usd_total[1h]))", "executor"),
        ),
        "currencyUSD",
    ),
    PanelDef(
        "Workflow Duration P50/P95/P99", "timeseries", _quantiles("orchestration_workflow_duration_ms_bucket"), "ms"
    ),
)

PODIUM_PANELS: tuple[PanelDef, ...] = (
    PanelDef("Workflows (last hour)", "stat", (_q("sum(increase(orchestration_workflows_total[1h]))", "workflows"),)),
    PanelDef(
        "Requests by Status",
        "timeseries",
        (_q("sum by (status) (rate(podium_requests_total[5m]))", "{{status}}"),),
        "reqps",
    ),
    PanelDef(
        "Spend by Model (per hour)",
        "stacked_bars",
        (_q("sum by (model) (increase(podium_cost_usd_total[1h]))", "{{model}}"),),
        "currencyUSD",
    ),
    PanelDef(
        "Tokens by Direction",
        "timeseries",
        (_q("sum by (direction) (rate(podium_tokens_total[5m]))", "{{direction}}"),),
        "short",
    ),
    PanelDef("Request Latency", "timeseries", _quantiles("podium_request_latency_seconds_bucket", (0.5, 0.95)), "s"),
    PanelDef(
        "Time to First Token", "timeseries", _quantiles("podium_time_to_first_token_seconds_bucket", (0.5, 0.95)), "s"
    ),
    PanelDef(
        "Cache Hits, Retries, Fallbacks",
        "timeseries",
        (
            _q("sum(rate(podium_cache_hits_total[5m]))", "cache hits"),
            _q("sum(rate(podium_retries_total[5m]))", "retries"),
            _q("sum(rate(podium_fallbacks_total[5m]))", "fallbacks"),
        ),
        "ops",
    ),
    PanelDef(
        "Circuit Breakers (0 closed, 1 half-open, 2 open)",
        "stat",
        (_q("max by (provider, model) (podium_breaker_state)", "{{provider}} {{model}}"),),
    ),
    PanelDef(
        "Budget Remaining", "stat", (_q("min by (scope) (podium_budget_remaining_usd)", "{{scope}}"),), "currencyUSD"
    ),
    PanelDef("Gateway Overhead", "timeseries", _quantiles("podium_gateway_overhead_seconds_bucket", (0.5, 0.99)), "s"),
)

PANELS: tuple[PanelDef, ...] = ORCHESTRATION_PANELS + PODIUM_PANELS


def _grafanalib() -> ModuleType:
    try:
        import grafanalib.core as g
    except ImportError as exc:
        raise ConfigError(
            "generating the dashboard needs grafanalib (a development dependency): pip install grafanalib",
            field="grafanalib",
        ) from exc
    return g


def _panel(g: ModuleType, p: PanelDef, grid: GridPos) -> Panel:
    targets = [
        g.Target(expr=expr, legendFormat=legend, refId=chr(ord("A") + i), datasource=DATASOURCE)
        for i, (expr, legend) in enumerate(p.queries)
    ]
    common = {
        "title": p.title,
        "dataSource": DATASOURCE,
        "targets": targets,
        "gridPos": grid,
        "description": p.description,
    }
    if p.kind == "stat":
        return g.Stat(format=p.unit, reduceCalc="lastNotNull", thresholds=[g.Threshold("green", 0, 0.0)], **common)
    if p.kind == "gauge":
        # Rates in percent: red below 80, orange to 95, green above.
        steps = [g.Threshold("red", 0, 0.0), g.Threshold("orange", 1, 80.0), g.Threshold("green", 2, 95.0)]
        return g.GaugePanel(format=p.unit, calc="lastNotNull", min=0, max=100, thresholds=steps, **common)
    if p.kind == "pie":
        return g.PieChartv2(unit=p.unit, reduceOptionsCalcs=["lastNotNull"], **common)
    if p.kind == "stacked_bars":
        return g.TimeSeries(unit=p.unit, drawStyle="bars", fillOpacity=80, stacking={"mode": "normal"}, **common)
    return g.TimeSeries(unit=p.unit, **common)


def _grid(g: ModuleType) -> Iterator[GridPos]:
    """Two panels per 24-column row, 8 units high."""
    i = 0
    while True:
        yield g.GridPos(h=8, w=12, x=(i % 2) * 12, y=(i // 2) * 8)
        i += 1


def build_dashboard() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (a dict), rendered with grafanalib."""
    g = _grafanalib()
    from grafanalib._gen import DashboardEncoder

    grid = _grid(g)
    dashboard = g.Dashboard(
        title="Podium: Multi-Model Orchestration",
        uid=DASHBOARD_UID,
        description="Cost, savings, quality and latency of Podium orchestration and per-call traffic",
        tags=["podium", "llm", "orchestration"],
        timezone="browser",
        refresh="10s",
        schemaVersion=36,  # Grafana 9+: the panel types below need no migration on import
        time=g.Time("now-6h", "now"),
        templating=g.Templating(
            list=[g.Template(name="datasource", label="Prometheus", query="prometheus", type="datasource")]
        ),
        panels=[_panel(g, p, next(grid)) for p in PANELS],
    ).auto_panel_ids()
    # Round-trip through grafanalib's encoder so the dict holds only JSON types.
    return json.loads(json.dumps(dashboard.to_json_data(), cls=DashboardEncoder))


def dashboard_json() -> str:
    return json.dumps(build_dashboard(), indent=2, sort_keys=True) + "\n"


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression in a Grafana dashboard JSON model, in panel order."""
    out: list[str] = []
    for panel in dashboard.get("panels", []):
        for sub in [panel, *panel.get("panels", [])]:
            out.extend(t["expr"] for t in sub.get("targets", []) if t.get("expr"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard JSON to the given path (default: the committed file)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DASHBOARD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dashboard_json(), encoding="utf-8")
    print(f"wrote {path} ({len(PANELS)} panels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
