"""The orchestrator -> executor workflow metrics, with the exact names existing dashboards use."""

from __future__ import annotations

import threading
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from podium.core.money import ZERO, usd
from podium.telemetry.labels import LabelGuard
from podium.telemetry.money_metrics import DecimalTotals

DURATION_BUCKETS_MS = (100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0, 60000.0, 120000.0, 300000.0)
HUNDRED = Decimal(100)


class WorkflowMetrics:
    """Counts workflows, tasks, delegations and validations; sums tokens and cost; tracks savings vs a baseline.

    prometheus-client appends ``_total`` to counter names, so ``orchestration_workflows`` is exposed as
    ``orchestration_workflows_total``. The three cost sums are counters too, exposed as
    ``orchestration_{orchestrator,executor,total}_cost_usd_total``; like the task and delegation counts they move
    with each call as it happens, so a scrape in the middle of a run sees what it has spent so far.
    """

    def __init__(
        self, registry: CollectorRegistry, *, guard: LabelGuard | None = None, multiprocess: bool = False
    ) -> None:
        """``multiprocess``: fleet metrics (see ``podium.telemetry.fleet``); the costs become summable floats."""
        r, mp = registry, multiprocess
        self.guard = guard or LabelGuard()
        self.workflows = Counter("orchestration_workflows", "Total workflows executed", registry=r)
        self.tasks = Counter("orchestration_tasks", "Tasks by complexity", ["complexity"], registry=r)
        self.delegations = Counter("orchestration_delegations", "Delegations by model", ["executor_model"], registry=r)
        self.delegations_success = Counter(
            "orchestration_delegations_success", "Successful delegations", ["executor_model"], registry=r
        )
        self.validations = Counter("orchestration_validations", "Total validations", registry=r)
        self.validations_passed = Counter("orchestration_validations_passed", "Passed validations", registry=r)
        self.duration = Histogram(
            "orchestration_workflow_duration_ms", "Workflow duration in ms", buckets=DURATION_BUCKETS_MS, registry=r
        )
        self.orchestrator_tokens = Counter("orchestration_orchestrator_tokens", "Orchestrator tokens", registry=r)
        self.executor_tokens = Counter("orchestration_executor_tokens", "Executor tokens", registry=r)
        self.orchestrator_cost = DecimalTotals(
            "orchestration_orchestrator_cost_usd", "Orchestrator cost in USD", registry=r, multiprocess=mp
        )
        self.executor_cost = DecimalTotals(
            "orchestration_executor_cost_usd", "Executor cost in USD", registry=r, multiprocess=mp
        )
        self.total_cost = DecimalTotals(
            "orchestration_total_cost_usd", "Total cost in USD", registry=r, multiprocess=mp
        )
        # Each worker computes savings from its own workflows; a fleet shows the latest worker's ratio ('mostrecent'),
        # since summing or maximising percentages has no meaning.
        self.savings = Gauge(
            "orchestration_cost_savings_percent", "Cost savings % vs the baseline", registry=r,
            multiprocess_mode="mostrecent",
        )  # fmt: skip
        self._baseline = ZERO
        self._lock = threading.Lock()

    def record_workflow(
        self, duration_ms: float, complexity: str | None = None, *, baseline_cost_usd: Decimal | None = None
    ) -> None:
        """One finished workflow; ``complexity`` also counts one task, ``baseline_cost_usd`` feeds the savings."""
        self.workflows.inc()
        self.duration.observe(max(0.0, float(duration_ms)))
        if complexity is not None:
            self.record_task(complexity)
        if baseline_cost_usd is not None:
            self.record_baseline(baseline_cost_usd)

    def record_task(self, complexity: str) -> None:
        self.tasks.labels(self.guard("complexity", complexity)).inc()

    def record_orchestrator(self, tokens: int, cost_usd: Decimal = ZERO) -> None:
        """Tokens and cost the orchestrator model spent (analysis, planning, validation)."""
        self.orchestrator_tokens.inc(max(0, tokens))
        self._add_cost(self.orchestrator_cost, cost_usd)

    def record_delegation(
        self, executor_model: str, *, success: bool | None, tokens: int = 0, cost_usd: Decimal = ZERO
    ) -> None:
        """One task handed to an executor model, with what it spent, recorded when its answer arrives.

        ``success=None`` when the answer is still to be checked: ``record_delegation_outcome`` counts it later.
        """
        model = self.guard("executor_model", executor_model)
        self.delegations.labels(model).inc()
        self.executor_tokens.inc(max(0, tokens))
        self._add_cost(self.executor_cost, cost_usd)
        self.record_delegation_outcome(executor_model, success=bool(success))

    def record_delegation_outcome(self, executor_model: str, *, success: bool) -> None:
        """A delegation's answer was checked: it counts as a success only if it passed."""
        # Touch the success series even on failure, so the success-rate query has a 0 rather than no data.
        success_counter = self.delegations_success.labels(self.guard("executor_model", executor_model))
        if success:
            success_counter.inc()

    def record_validation(self, passed: bool) -> None:
        self.validations.inc()
        if passed:
            self.validations_passed.inc()

    def record_baseline(self, cost_usd: Decimal) -> None:
        """What the same work would have cost on the baseline (e.g. all-orchestrator) model."""
        with self._lock:
            self._baseline += usd(cost_usd)
        self._update_savings()

    @property
    def savings_percent(self) -> Decimal | None:
        """``(baseline - total) / baseline * 100``; None before any baseline was recorded."""
        with self._lock:
            baseline = self._baseline
        if baseline <= 0:
            return None
        return (baseline - self.total_cost.value()) / baseline * HUNDRED

    def _add_cost(self, totals: DecimalTotals, cost_usd: Decimal) -> None:
        amount = usd(cost_usd)
        totals.add(amount)
        self.total_cost.add(amount)
        self._update_savings()

    def _update_savings(self) -> None:
        pct = self.savings_percent
        if pct is not None:
            self.savings.set(float(pct))
