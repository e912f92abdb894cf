"""``ProjectOrchestrator``: run, resume, list and show projects (``Orchestrator.run_project`` in the project orchestrator's API).

orch = ProjectOrchestrator(config)
orch.add_hook(EventType.TASK_COMPLETED, lambda task_id, result, **_: print(task_id, result.score))
state = await orch.run(build_spec(description="Build a rate limiter", max_usd=5), output_dir=Path("out"))
state = await orch.resume(state.id)          # after a budget stop or an interruption
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ValidationError
from podium.core.events import EventType
from podium.core.json_types import JSONObject
from podium.core.money import usd
from podium.workflows.project.budget import ProjectSpend, with_project_budget
from podium.workflows.project.policy import check_planner, check_rules, reachable_models, routing_candidates
from podium.workflows.project.runner import ForecastHook, ProjectRunner, RunSettings
from podium.workflows.project.spec import ProjectSpec
from podium.workflows.project.state import COMPLETED, COMPLETED_UNVERIFIED, ProjectState
from podium.workflows.project.store import ProjectStore
from podium.workflows.session import UsdAmount, workflow_environment

if TYPE_CHECKING:
    import httpx

    from podium.config import PodiumConfig
    from podium.config.policy import Policy
    from podium.engine import Podium
    from podium.policy import PolicyHierarchy
    from podium.telemetry import EventBus, Telemetry
    from podium.telemetry.events import Hook

_SLUG = re.compile(r"[^a-z0-9]+")


def new_project_id(title: str, suffix: str | None = None) -> str:
    """``rate-limiter-library-3f9a1c``: readable, and unique enough to type on the command line."""
    slug = _SLUG.sub("-", title.lower()).strip("-")[:32].strip("-") or "project"
    return f"{slug}-{suffix or secrets.token_hex(3)}"


class ProjectOrchestrator:
    """Plans and runs projects through the engine, checkpointing in ``$PODIUM_HOME/projects.db``."""

    def __init__(
        self,
        config: PodiumConfig | None = None,
        *,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock = SYSTEM_CLOCK,
        telemetry: Telemetry | None = None,
        store: ProjectStore | None = None,
        settings: RunSettings | None = None,
    ) -> None:
        from podium.telemetry import Telemetry

        self.env, self.config, self.home = workflow_environment(config, env, home)
        self.http_client = http_client
        self.clock = clock
        self._owns_telemetry = telemetry is None
        self.telemetry = telemetry or Telemetry(self.config.telemetry, clock=clock)
        self.store = store or ProjectStore.in_home(self.home, clock=clock)
        self.settings = settings or RunSettings(strategy=self.config.routing.default_strategy)
        self.warnings: list[str] = []

    @property
    def bus(self) -> EventBus:
        """The event bus: hooks, sinks and ``subscribe()`` (task, validation and budget events)."""
        return self.telemetry.bus

    def add_hook(self, event: EventType | str, fn: Hook) -> Callable[[], None]:
        return self.telemetry.bus.add_hook(event, fn)

    async def run(
        self,
        spec: ProjectSpec,
        *,
        output_dir: Path,
        project_id: str | None = None,
        on_forecast: ForecastHook | None = None,
    ) -> ProjectState:
        """Start a project (an existing ``project_id`` is resumed instead, as the project orchestrator does)."""
        if project_id is not None and project_id in {p["id"] for p in self.store.summaries()}:
            return await self.resume(project_id, on_forecast=on_forecast)
        pid = project_id or new_project_id(spec.title)
        state = ProjectState(
            id=pid, spec=spec, output_dir=Path(output_dir).expanduser().resolve(), strategy=self.settings.strategy
        )
        state.output_dir.mkdir(parents=True, exist_ok=True)
        await self.store.acreate(state)
        return await self._execute(state, on_forecast)

    async def resume(
        self, project_id: str, *, max_usd: UsdAmount | None = None, on_forecast: ForecastHook | None = None
    ) -> ProjectState:
        """Continue from the last checkpoint; done tasks are never sent again. ``max_usd`` raises the budget."""
        state = self.store.load(project_id)
        if state.status in (COMPLETED, COMPLETED_UNVERIFIED):  # every task is done: nothing would run again
            return state
        if max_usd is not None:
            state.max_usd = _positive_usd(max_usd)
        state.output_dir.mkdir(parents=True, exist_ok=True)
        return await self._execute(state, on_forecast)

    def show(self, project_id: str) -> ProjectState:
        return self.store.load(project_id)

    def list(self) -> list[JSONObject]:
        return self.store.summaries()

    def close(self) -> None:
        """Close the store, and stop the metrics server and flush spans when the telemetry was built here."""
        self.store.close()
        if self._owns_telemetry:
            self.telemetry.shutdown()

    async def _execute(self, state: ProjectState, on_forecast: ForecastHook | None) -> ProjectState:
        from podium.engine import Podium
        from podium.telemetry.tracing import TRACER_NAME

        config = with_project_budget(self.config, state.id, state.budget_usd)
        client = Podium.from_config(
            config,
            env=self.env,
            http_client=self.http_client,
            home=self.home,
            clock=self.clock,
            telemetry=self.telemetry,
            policies=_with_rules(config, state.spec.policy.rules),
        )
        spend = ProjectSpend(config, self.home, state.id)
        try:
            settings = self._settings_for(state, client)
            provider = self.telemetry.tracer_provider
            runner = ProjectRunner(
                client,
                self.store,
                spend,
                settings,
                clock=self.clock,
                emit=self.telemetry.bus,
                metrics=self.telemetry.workflows,
                on_forecast=on_forecast,
                tracer=provider.get_tracer(TRACER_NAME) if provider is not None else None,
            )
            return await runner.run(state)
        finally:
            spend.close()
            await client.aclose()

    def _settings_for(self, state: ProjectState, client: Podium) -> RunSettings:
        """Resolve the planner model, the policy's candidates and the reviewers. This is the control-plane check:
        hard violations (allowed providers, the policy file's rules) raise before any call is sent."""
        policy = state.spec.policy
        decision = routing_candidates(
            policy, config=self.config, catalog=client.catalog, env=self.env, clock=self.clock
        )
        model = self.settings.orchestrator_model or self.config.orchestration.orchestrator.model
        planner = client.catalog.get(model)
        warnings = list(decision.warnings)
        needs_plan = state.spec.tasks is None and not state.tasks
        if needs_plan:
            warnings += check_planner(policy, planner)
        self.warnings.extend(warnings)
        candidates = decision.candidates if decision.candidates is not None else self.settings.candidates
        reviewing = self.settings.review != "off" and not self.settings.review_candidates
        if not policy.rules and not reviewing:
            return replace(self.settings, orchestrator_model=planner.id, candidates=candidates)
        models = (
            [client.catalog.get(m) for m in candidates]
            if candidates is not None
            else reachable_models(config=self.config, catalog=client.catalog, env=self.env, clock=self.clock)
        )
        if policy.rules:
            candidates = check_rules(policy, models, planner if needs_plan else None).candidates
            models = [client.catalog.get(m) for m in candidates or ()]
        reviewers = tuple(m.id for m in models) if reviewing else self.settings.review_candidates
        return replace(self.settings, orchestrator_model=planner.id, candidates=candidates, review_candidates=reviewers)


def _with_rules(config: PodiumConfig, rules: tuple[Policy, ...]) -> PolicyHierarchy | None:
    """The config's policies plus the project's own rules (None: the engine reads the config's as usual)."""
    if not rules:
        return None
    from podium.policy import PolicyHierarchy
    from podium.policy.hierarchy import document

    return PolicyHierarchy.from_settings(config.policy).merged(PolicyHierarchy(document(rules)))


def _positive_usd(value: UsdAmount) -> Decimal:
    amount = usd(value)
    if amount <= 0:
        raise ValidationError(
            f"budget {value!r} is not valid; give a positive amount in USD", field="max_usd", value=value
        )
    return amount
