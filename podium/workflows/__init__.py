"""Workflows: an expensive orchestrator model plans and checks, cheap executor models do the bulk work."""

from podium.workflows.orchestration import (
    DEFAULT_FALLBACK_STRATEGY,
    Delegation,
    ExecutorChoice,
    Orchestration,
    StepRecord,
    WorkflowSummary,
)

__all__ = [
    "DEFAULT_FALLBACK_STRATEGY",
    "Delegation",
    "ExecutorChoice",
    "Orchestration",
    "StepRecord",
    "WorkflowSummary",
]
