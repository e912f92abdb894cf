"""``AgentPool``: several orchestrator configurations run the same spec in parallel under one
budget; the best result wins by checks passed, then quality, then cost.

pool = AgentPool(config)
pool.add_agent("pareto", selection="pareto")
pool.add_agent("greedy", selection="greedy")
result = await pool.run(spec, output_dir=Path("out"))      # out/pareto, out/greedy
print(result.best, result.telemetry["spent_usd"])

Each agent is its own project (``<pool id>-<agent>``), so it checkpoints and resumes like any project. The budget is
one hard ``team`` budget in the ledger that every agent's calls count against, so together they never pass it.
A selection backend (greedy, weighted, pareto) runs with the ``cheapest`` strategy, the one that ranks by it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from podium.config.ledger import BudgetSettings
from podium.core.errors import PodiumError, ValidationError
from podium.core.events import EventType
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.workflows.project.orchestrator import ProjectOrchestrator, new_project_id
from podium.workflows.project.runner import RunSettings
from podium.workflows.project.spec import ProjectSpec
from podium.workflows.project.state import COMPLETED, DONE, ProjectState
from podium.workflows.project.store import ProjectStore
from podium.workflows.records import FAILED, PAUSED, RunRecord, RunStore

if TYPE_CHECKING:
    from podium.config import PodiumConfig
    from podium.telemetry import EventBus
    from podium.telemetry.events import Hook

WORKFLOW = "pool"
SELECTIONS = ("greedy", "weighted", "pareto")


class _AgentInput(TypedDict):
    name: str
    strategy: str | None
    selection: str | None


class _PoolInputs(TypedDict):
    """A pool run's ``inputs``, as ``AgentPool.run`` records them."""

    agents: list[_AgentInput]
    output_dir: str


@dataclass(frozen=True, slots=True)
class PoolAgent:
    """One configuration: a name, the strategy its tasks are routed by, and the selection backend."""

    name: str
    strategy: str | None = None
    selection: str | None = None

    def to_dict(self) -> JSONObject:
        return {"name": self.name, "strategy": self.strategy, "selection": self.selection}


@dataclass(slots=True)
class AgentOutcome:
    name: str
    project_id: str
    state: ProjectState | None = None
    error: str | None = None

    @property
    def checks_passed(self) -> int:
        if self.state is None:
            return 0
        return sum(1 for t in self.state.tasks.values() for c in t.checks if c.status == "passed")

    @property
    def quality(self) -> float:
        """The mean score of the agent's tasks (0 for a task without one)."""
        if self.state is None or not self.state.tasks:
            return 0.0
        return sum(t.score or 0.0 for t in self.state.tasks.values()) / len(self.state.tasks)

    @property
    def cost_usd(self) -> Decimal:
        return ZERO if self.state is None else self.state.spent_usd

    def rank_key(self) -> tuple[int, int, float, Decimal]:
        done = 0 if self.state is None else self.state.count(DONE)
        return (self.checks_passed, done, self.quality, -self.cost_usd)

    def to_dict(self) -> JSONObject:
        state = self.state
        return {
            "name": self.name,
            "project_id": self.project_id,
            "status": "failed" if state is None else state.status,
            "stop_reason": self.error if state is None else state.stop_reason,
            "checks_passed": self.checks_passed,
            "tasks_done": 0 if state is None else state.count(DONE),
            "tasks_total": 0 if state is None else len(state.tasks),
            "quality": round(self.quality, 4),
            "cost_usd": str(self.cost_usd),
        }


@dataclass(slots=True)
class PoolResult:
    pool_id: str
    max_usd: Decimal
    outcomes: list[AgentOutcome] = field(default_factory=list)

    @property
    def best(self) -> str | None:
        return best_result(self.outcomes)

    @property
    def best_state(self) -> ProjectState | None:
        return next((o.state for o in self.outcomes if o.name == self.best), None)

    @property
    def telemetry(self) -> JSONObject:
        return merge_telemetry(self.outcomes)

    @property
    def status(self) -> str:
        best = self.best_state
        return best.status if best is not None else FAILED

    def to_dict(self) -> JSONObject:
        return {
            "pool_id": self.pool_id,
            "status": self.status,
            "best": self.best,
            "max_usd": str(self.max_usd),
            "agents": [o.to_dict() for o in self.outcomes],
            "telemetry": self.telemetry,
        }


def best_result(outcomes: list[AgentOutcome]) -> str | None:
    """The agent with the most checks passed, then tasks done, then the best mean score, then the lowest cost."""
    ranked = [o for o in outcomes if o.state is not None]
    return max(ranked, key=lambda o: o.rank_key()).name if ranked else None


def merge_telemetry(outcomes: list[AgentOutcome]) -> JSONObject:
    """Every agent's spend, tokens, tasks, checks and calls per model, summed."""
    models: dict[str, int] = {}
    tokens = tasks = done = 0
    for o in outcomes:
        for t in o.state.tasks.values() if o.state is not None else ():
            tasks += 1
            done += t.status == DONE
            tokens += t.tokens
            if t.model:
                models[t.model] = models.get(t.model, 0) + t.runs
        tokens += o.state.plan_tokens if o.state is not None else 0
    return {
        "agents": len(outcomes),
        "spent_usd": str(sum((o.cost_usd for o in outcomes), ZERO)),
        "tokens": tokens,
        "tasks_done": done,
        "tasks_total": tasks,
        "checks_passed": sum(o.checks_passed for o in outcomes),
        "task_runs_by_model": dict(sorted(models.items())),
    }


def parse_compare(value: str) -> list[PoolAgent]:
    """``pareto,greedy`` (selection backends) or strategy names (``cheapest,cascade``), at least two, distinct."""
    from podium.routing import strategy_name

    names = [n.strip().lower() for n in value.split(",") if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValidationError(
            f"--compare {value!r} is not valid; name at least two different configurations, e.g. pareto,greedy",
            field="compare",
            value=value,
        )
    agents = []
    for name in names:
        if name in SELECTIONS:
            agents.append(PoolAgent(name, strategy="cheapest", selection=name))
            continue
        try:
            agents.append(PoolAgent(name, strategy=strategy_name(name)))
        except ValidationError:
            raise ValidationError(
                f"--compare names unknown configuration {name!r}; use selection backends "
                f"({', '.join(SELECTIONS)}) or strategy names",
                field="compare",
                value=name,
            ) from None
    return agents


def with_team_budget(config: PodiumConfig, team: str, max_usd: Decimal) -> PodiumConfig:
    budget = BudgetSettings(scope="team", id=team, limit_usd=max_usd, mode="hard")
    others = tuple(b for b in config.ledger.budgets if not (b.scope == "team" and b.id == team))
    return config.model_copy(update={"ledger": config.ledger.model_copy(update={"budgets": (*others, budget)})})


class AgentPool:
    """Runs the same spec under several configurations at once, in one budget, and picks the best result."""

    def __init__(
        self, config: PodiumConfig | None = None, *, settings: RunSettings | None = None, **kwargs: Any
    ) -> None:
        self._base = ProjectOrchestrator(config, settings=settings, **kwargs)  # owns config, home, telemetry
        self.agents: list[PoolAgent] = []
        self.runs = RunStore.in_home(self._base.home, clock=self._base.clock)

    @property
    def warnings(self) -> list[str]:
        return self._base.warnings

    def add_agent(self, name: str, *, strategy: str | None = None, selection: str | None = None) -> None:
        if any(a.name == name for a in self.agents):
            raise ValidationError(f"agent {name!r} is already in the pool", field="name", value=name)
        self.agents.append(PoolAgent(name, strategy, selection))

    async def run(self, spec: ProjectSpec, *, output_dir: Path, pool_id: str | None = None) -> PoolResult:
        """Run every agent in parallel; an existing ``pool_id`` is resumed."""
        if pool_id is not None and self.runs.exists(pool_id):
            return await self.resume(pool_id)
        if len(self.agents) < 2:
            raise ValidationError("an agent pool needs at least two agents; add_agent() more", field="agents")
        pid = pool_id or new_project_id(spec.title)
        out = Path(output_dir).expanduser().resolve()
        run = RunRecord(
            id=pid,
            workflow=WORKFLOW,
            title=spec.title,
            max_usd=spec.budget.max_usd,
            inputs={"agents": [a.to_dict() for a in self.agents], "output_dir": str(out)},
        )
        self.runs.save(run)
        return await self._run_all(run, spec, out, max_usd=None)

    async def resume(self, pool_id: str, *, max_usd: Decimal | None = None) -> PoolResult:
        """Continue every agent's project from its checkpoint; ``max_usd`` raises the pool's budget."""
        run = self.runs.load(pool_id, workflow=WORKFLOW)
        inputs = cast(_PoolInputs, run.inputs)
        self.agents = [PoolAgent(**a) for a in inputs["agents"]]
        if max_usd is not None:
            run.max_usd = max_usd
            self.runs.save(run)
        return await self._run_all(run, None, Path(inputs["output_dir"]), max_usd=max_usd)

    async def _run_all(
        self, run: RunRecord, spec: ProjectSpec | None, out: Path, *, max_usd: Decimal | None
    ) -> PoolResult:
        assert run.max_usd is not None
        store = ProjectStore.in_home(self._base.home, clock=self._base.clock)
        orchs = [self._orchestrator(a, run.id, run.max_usd, store) for a in self.agents]
        try:
            jobs = [
                orch.run(spec, output_dir=out / a.name, project_id=f"{run.id}-{a.name}")
                if spec is not None
                else orch.resume(f"{run.id}-{a.name}", max_usd=max_usd)
                for a, orch in zip(self.agents, orchs, strict=True)
            ]
            results = await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            store.close()
        result = PoolResult(run.id, run.max_usd)
        for agent, orch, value in zip(self.agents, orchs, results, strict=True):
            self._base.warnings.extend(w for w in orch.warnings if w not in self._base.warnings)
            if isinstance(value, BaseException) and not isinstance(value, PodiumError):
                raise value
            outcome = AgentOutcome(agent.name, f"{run.id}-{agent.name}")
            if isinstance(value, PodiumError):
                outcome.error = str(value)
            else:
                outcome.state = value
            result.outcomes.append(outcome)
        run.status = COMPLETED if result.status == COMPLETED else PAUSED
        run.result = result.to_dict()
        self.runs.save(run)
        return result

    def _orchestrator(
        self, agent: PoolAgent, pool_id: str, max_usd: Decimal, store: ProjectStore
    ) -> ProjectOrchestrator:
        base = self._base
        config = base.config
        if agent.selection is not None:
            config = config.model_copy(
                update={"routing": config.routing.model_copy(update={"selection": agent.selection})}
            )
        config = with_team_budget(config, pool_id, max_usd)
        settings = replace(base.settings, strategy=agent.strategy or base.settings.strategy, team=pool_id)
        return ProjectOrchestrator(
            config,
            env=base.env,
            home=base.home,
            http_client=base.http_client,
            clock=base.clock,
            telemetry=base.telemetry,
            store=store,
            settings=settings,
        )

    def add_hook(self, event: EventType | str, fn: Hook) -> Callable[[], None]:
        return self._base.add_hook(event, fn)

    @property
    def bus(self) -> EventBus:
        return self._base.bus

    def close(self) -> None:
        self.runs.close()
        self._base.close()
