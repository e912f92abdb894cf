"""``AppBuilder``: architecture advice first, then the project orchestrator builds the app under that constraint.

builder = AppBuilder(config)
result = await builder.build("REST API with JWT auth", criteria="pytest passes, ruff clean", output_dir=Path("api"))
print(result.success, result.profile.structural_pattern, len(result.files_written), result.cost_usd)

The advice is priced under the project's own hard budget (same ledger scope as the tasks), recorded with the
project, and never asked again on resume: ``builder.resume(project_id)`` continues the tasks not yet done.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from podium.core.json_types import JSONObject
from podium.workflows.app.advisor import (
    ArchitectureAdvisor,
    ArchitectureDecision,
    app_type_name,
    check_description,
    detect_app_type,
)
from podium.workflows.app.prompts import APP_TYPE_CRITERIA
from podium.workflows.project.orchestrator import ProjectOrchestrator, new_project_id
from podium.workflows.project.spec import build_spec
from podium.workflows.project.state import COMPLETED, ProjectState
from podium.workflows.records import RunRecord
from podium.workflows.session import UsdAmount, WorkflowSession, positive_usd

if TYPE_CHECKING:
    from podium.config import PodiumConfig

WORKFLOW = "app"


class _AppInputs(TypedDict):
    """An app build's run ``inputs``, as ``AppBuilder.build`` records them."""

    description: str
    criteria: str
    app_type: str
    output_dir: str


@dataclass(frozen=True, slots=True)
class AppBuildResult:
    """What a build produced: the architecture, the project's final state, files, checks and the total cost."""

    profile: ArchitectureDecision
    state: ProjectState

    @property
    def success(self) -> bool:
        return self.state.status == COMPLETED

    @property
    def project_id(self) -> str:
        return self.state.id

    @property
    def files_written(self) -> list[str]:
        out: list[str] = []
        for task in self.state.tasks.values():
            for name in (*task.files, *([task.output_path] if task.output_path else [])):
                if name not in out:
                    out.append(name)
        return out

    @property
    def checks(self) -> tuple[int, int]:
        """(passed, run) over every check run on the tasks' files (skipped checks are not counted)."""
        ran = [c for t in self.state.tasks.values() for c in t.checks if c.status in ("passed", "failed")]
        return sum(1 for c in ran if c.status == "passed"), len(ran)

    @property
    def cost_usd(self) -> Decimal:
        return self.profile.cost_usd + self.state.spent_usd

    def to_dict(self) -> JSONObject:
        passed, ran = self.checks
        return {
            "success": self.success,
            "project_id": self.project_id,
            "architecture": self.profile.to_dict(),
            "files_written": self.files_written,
            "checks": {"passed": passed, "run": ran},
            "cost_usd": str(self.cost_usd),
            "project": self.state.to_dict(),
        }


class AppBuilder:
    """Builds an app as a project: ``ArchitectureAdvisor`` decides, the orchestrator plans, generates and checks."""

    def __init__(
        self,
        config: PodiumConfig | None = None,
        *,
        orchestrator: ProjectOrchestrator | None = None,
        advisor_model: str | None = None,
        log_prompts: bool = False,
        **kwargs: Any,
    ) -> None:
        self.orchestrator = orchestrator or ProjectOrchestrator(config, **kwargs)
        self._owns_orchestrator = orchestrator is None
        orch = self.orchestrator
        self.session = WorkflowSession(
            orch.config,
            env=orch.env,
            home=orch.home,
            http_client=orch.http_client,
            clock=orch.clock,
            log_prompts=log_prompts,
        )
        self.advisor = ArchitectureAdvisor(session=self.session, model=advisor_model)

    async def build(
        self,
        description: str,
        criteria: str = "",
        *,
        output_dir: Path,
        app_type: str | None = None,
        max_usd: UsdAmount | None = None,
        project_id: str | None = None,
    ) -> AppBuildResult:
        """Advise, then run the project; an existing ``project_id`` is resumed (its advice is not asked again)."""
        text = check_description(description)
        kind = app_type_name(app_type) if app_type else detect_app_type(text)
        if project_id is not None and self.session.store.exists(project_id):
            return await self.resume(project_id, max_usd=max_usd)
        spec = build_spec(description=text, criteria=criteria, max_usd=max_usd)  # checks the inputs first
        pid = project_id or new_project_id(spec.title)
        run = RunRecord(
            id=pid,
            workflow=WORKFLOW,
            title=spec.title,
            max_usd=spec.budget.max_usd,
            inputs={
                "description": text,
                "criteria": criteria,
                "app_type": kind,
                "output_dir": str(Path(output_dir).expanduser().resolve()),
            },
        )
        self.session.store.save(run)
        return await self._advise_and_run(run, max_usd=None)

    async def resume(self, project_id: str, *, max_usd: UsdAmount | None = None) -> AppBuildResult:
        """Continue an interrupted or budget-stopped build from its last checkpoint (advice included)."""
        run = self.session.store.load(project_id, workflow=WORKFLOW)
        return await self._advise_and_run(run, max_usd=max_usd)

    async def _advise_and_run(self, run: RunRecord, *, max_usd: UsdAmount | None) -> AppBuildResult:
        inputs = cast(_AppInputs, run.inputs)
        if max_usd is not None:
            run.max_usd = positive_usd(max_usd, "--budget")
        if run.result is None:  # no advice yet (a budget stop or a bad reply ended the first try)
            async with self.session.client(run.id, run.max_usd) as client:
                await self.advisor.decide(client, run, inputs["description"], inputs["criteria"], inputs["app_type"])
        profile = ArchitectureDecision.from_dict(cast(JSONObject, run.result))  # saved by ``decide``
        known = {p["id"] for p in self.orchestrator.list()}
        if run.id in known:
            state = await self.orchestrator.resume(run.id, max_usd=run.max_usd if max_usd is not None else None)
        else:
            project = build_spec(
                description=f"{inputs['description']}\n\n{profile.constraint()}",
                criteria=_criteria(inputs["criteria"], inputs["app_type"]),
                title=run.title,
                max_usd=run.max_usd,
            )
            state = await self.orchestrator.run(project, output_dir=Path(inputs["output_dir"]), project_id=run.id)
        return AppBuildResult(profile, state)

    def close(self) -> None:
        self.session.close()
        if self._owns_orchestrator:
            self.orchestrator.close()


def _criteria(criteria: str, app_type: str) -> str:
    extra = APP_TYPE_CRITERIA.get(app_type)
    parts = [c for c in (criteria.strip(), extra) if c]
    return ", ".join(parts)


__all__ = ["AppBuildResult", "AppBuilder"]
