"""Multi-step projects: decompose into tasks, route each to the cheapest suitable model, check each
answer (its success criteria run for real: pytest, ruff, py_compile, JSON Schema), checkpoint after every task, and
resume where a budget stop or an interruption left off."""

from podium.workflows.project.checks import CheckOutcome, CheckResult, check_output, code_blocks
from podium.workflows.project.decompose import Decomposition, UnusablePlanError, decompose
from podium.workflows.project.draft import JobDraft, JobDrafter, read_draft
from podium.workflows.project.orchestrator import ProjectOrchestrator, new_project_id
from podium.workflows.project.pool import AgentPool, PoolResult, parse_compare
from podium.workflows.project.review import REVIEW_MODES, review_mode
from podium.workflows.project.runner import ProjectRunner, RunSettings
from podium.workflows.project.spec import (
    ProjectBudget,
    ProjectChecks,
    ProjectInfo,
    ProjectPolicy,
    ProjectSpec,
    build_spec,
    load_project_file,
)
from podium.workflows.project.state import ProjectState, TaskResult, TaskState
from podium.workflows.project.store import ProjectStore
from podium.workflows.project.tasks import PlanError, TaskPlan, TaskSpec, parse_plan, plan_from_items
from podium.workflows.project.tools import CheckTools

__all__ = [
    "REVIEW_MODES",
    "AgentPool",
    "CheckOutcome",
    "CheckResult",
    "CheckTools",
    "Decomposition",
    "JobDraft",
    "JobDrafter",
    "PlanError",
    "PoolResult",
    "ProjectBudget",
    "ProjectChecks",
    "ProjectInfo",
    "ProjectOrchestrator",
    "ProjectPolicy",
    "ProjectRunner",
    "ProjectSpec",
    "ProjectState",
    "ProjectStore",
    "RunSettings",
    "TaskPlan",
    "TaskResult",
    "TaskSpec",
    "TaskState",
    "UnusablePlanError",
    "build_spec",
    "check_output",
    "code_blocks",
    "decompose",
    "load_project_file",
    "new_project_id",
    "parse_compare",
    "parse_plan",
    "plan_from_items",
    "read_draft",
    "review_mode",
]
