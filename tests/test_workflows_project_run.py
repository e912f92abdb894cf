"""`ProjectOrchestrator` end to end: real engine, ledger on SQLite and HTTP to the fake upstream on loopback.

The planner is openai:gpt-4o-mini and every task runs through a one-model cascade chain (openai:gpt-4o), so the
fake tells planner and executor calls apart by model name.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from podium.config.root import PodiumConfig
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import PolicyViolationError
from podium.core.events import EventType
from podium.core.types import Usage
from podium.testing import FakeClock, FakeUpstream, serve
from podium.workflows.project import (
    ProjectOrchestrator,
    ProjectPolicy,
    ProjectStore,
    RunSettings,
    UnusablePlanError,
    build_spec,
)

KEY = "sk-test-project-0123456789"
PLANNER, EXECUTOR = "gpt-4o-mini", "gpt-4o"
GOOD = "Done. README updated.\n```python\nclass Item:\n    name: str = 'x'\n```\n"


def chain_plan(n: int) -> str:
    """t1 <- t2 <- ... <- tn: each task needs the one before."""
    tasks = [
        {
            "id": f"t{i}",
            "title": f"Step {i}",
            "prompt": f"Write part {i} of the package.",
            "task_type": "code",
            "depends_on": [f"t{i - 1}"] if i > 1 else [],
            "output_file": f"pkg/part{i}.py",
            "acceptance": ["class"],
        }
        for i in range(1, n + 1)
    ]
    return json.dumps({"tasks": tasks})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


class Rig:
    """One orchestrator on a fresh home, with every event it emits kept in ``events``."""

    def __init__(self, fake: FakeUpstream, base_url: str, tmp: Path, clock: Any = None, **settings: Any) -> None:
        self.fake, self.tmp, self.clock = fake, tmp, clock or SYSTEM_CLOCK
        self.config = PodiumConfig.from_mapping(
            {
                "providers": {"openai": {"base_url": base_url + "/v1"}},
                "orchestration": {"orchestrator": {"model": f"openai:{PLANNER}"}, "fallback_strategy": {"models": []}},
                "routing": {"chains": {"solo": [f"openai:{EXECUTOR}"]}, "chain": "solo"},
                "resilience": {"retry": {"max_attempts": 1}},
            }
        )
        self.home, self.out = tmp / "home", tmp / "out"
        self.settings = RunSettings(**{"task_max_tokens": 1000, **settings})
        self.events: list[tuple[EventType, dict[str, Any]]] = []
        self.orch = self.new()

    def new(self) -> ProjectOrchestrator:
        """A fresh orchestrator on the same home: what a new process running `resume` would build."""
        orch = ProjectOrchestrator(
            self.config, env={"OPENAI_API_KEY": KEY}, home=self.home, settings=self.settings, clock=self.clock
        )
        orch.bus.add_sink(lambda e: self.events.append((e.type, e.data)))
        return orch

    def of(self, kind: EventType) -> list[dict[str, Any]]:
        return [d for t, d in self.events if t == kind]

    def task_requests(self, task_id: str) -> int:
        """Executor requests whose prompt is the given task's."""
        return sum(
            1 for r in self.fake.requests if r.model == EXECUTOR and f"Your task ({task_id})" in json.dumps(r.json)
        )


@pytest.fixture()
def rig(served: tuple[FakeUpstream, str], tmp_path: Path) -> Iterator[Rig]:
    fake, base_url = served
    fake.reset()
    r = Rig(fake, base_url, tmp_path)
    yield r
    r.orch.close()


def spec(max_usd: str = "1", **kw: Any) -> Any:
    return build_spec(description="Build a small package", criteria="every part parses", max_usd=max_usd, **kw)


async def test_plan_execute_write_checkpoint_and_account(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(3), usage=Usage(400, 300))
    rig.fake.script(EXECUTOR, GOOD, usage=Usage(200, 100))
    forecasts: list[Any] = []
    state = await rig.orch.run(spec(), output_dir=rig.out, on_forecast=forecasts.append)

    assert state.status == "completed" and [t.status for t in state.tasks.values()] == ["done"] * 3
    assert rig.fake.count(PLANNER) == 1 and rig.fake.count(EXECUTOR) == 3
    assert (rig.out / "pkg" / "part2.py").read_text() == "class Item:\n    name: str = 'x'\n"
    assert "README updated" in (rig.out / "tasks" / "t3.md").read_text()
    # t2's prompt carries t1's answer, read back from the output directory
    t2 = next(r for r in rig.fake.requests if "Your task (t2)" in json.dumps(r.json))
    assert "Result of earlier task 'Step 1' (t1)" in json.dumps(t2.json)
    # costs: exact catalog prices, and the same figures in the checkpoint store and the ledger
    plan_cost = Decimal(400) * Decimal("0.15") / 10**6 + Decimal(300) * Decimal("0.6") / 10**6
    task_cost = Decimal(200) * Decimal("2.5") / 10**6 + Decimal(100) * Decimal(10) / 10**6
    assert state.plan_cost_usd == plan_cost and all(t.cost_usd == task_cost for t in state.tasks.values())
    assert state.spent_usd == plan_cost + 3 * task_cost
    reloaded = ProjectStore.in_home(rig.home).load(state.id)
    assert reloaded.to_dict() == state.to_dict()
    rows = (
        sqlite3.connect(rig.home / "ledger.db")
        .execute("select project, task_type, cost_usd from ledger_calls where status = 'ok'")
        .fetchall()
    )
    assert {r[0] for r in rows} == {state.id} and sum(Decimal(r[2]) for r in rows) == state.spent_usd
    assert sorted(r[1] for r in rows) == ["code", "code", "code", "planning"]
    # forecast before the tasks ran, with a risk level
    assert len(forecasts) == 1 and forecasts[0].risk_level.value == "low" and len(forecasts[0].per_task) == 3
    assert state.forecast is not None and state.forecast["risk_level"] == "low"


async def test_events_and_workflow_metrics(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(2))
    rig.fake.script(EXECUTOR, GOOD, usage=Usage(50, 50))
    seen: list[tuple[str, float]] = []
    rig.orch.add_hook(EventType.TASK_COMPLETED, lambda task_id, result, **_: seen.append((task_id, result.score)))
    state = await rig.orch.run(spec(), output_dir=rig.out)

    assert seen == [("t1", 1.0), ("t2", 1.0)]
    assert [d["task_id"] for d in rig.of(EventType.TASK_STARTED)] == ["t1", "t2"]
    assert len(rig.of(EventType.VALIDATION_PASSED)) == 2 and not rig.of(EventType.TASK_FAILED)
    assert rig.of(EventType.WORKFLOW_COMPLETED)[-1]["status"] == "completed"
    sample = rig.orch.telemetry.registry.get_sample_value
    assert sample("orchestration_workflows_total") == 1
    assert sample("orchestration_delegations_total", {"executor_model": f"openai:{EXECUTOR}"}) == 2
    assert sample("orchestration_delegations_success_total", {"executor_model": f"openai:{EXECUTOR}"}) == 2
    assert sample("orchestration_validations_total") == 2 and sample("orchestration_validations_passed_total") == 2
    assert sample("orchestration_executor_tokens_total") == 200
    assert (
        sum(
            s.value
            for m in rig.orch.telemetry.registry.collect()
            if m.name == "orchestration_tasks"
            for s in m.samples
            if s.name.endswith("_total")
        )
        == 2
    )
    assert sample("orchestration_total_cost_usd_total") == pytest.approx(float(state.spent_usd))


async def test_interrupted_run_resumes_without_repeating_done_tasks(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(3))
    rig.fake.script(EXECUTOR, GOOD)
    run = asyncio.ensure_future(rig.orch.run(spec(), output_dir=rig.out, project_id="interrupted"))
    checkpointed: list[str] = []

    def on_start(task_id: str, **_: Any) -> None:
        if task_id == "t2":
            # what another process sees right now: t1's checkpoint is already committed
            with ProjectStore.in_home(rig.home) as other:
                checkpointed.extend(t.id for t in other.load("interrupted").tasks.values() if t.status == "done")
            rig.fake.delay(EXECUTOR, 30, times=1)  # t2's call hangs until the "kill"
            asyncio.get_running_loop().call_later(0.2, run.cancel)

    rig.orch.add_hook(EventType.TASK_STARTED, on_start)
    with pytest.raises(asyncio.CancelledError):
        await run
    assert checkpointed == ["t1"]
    stopped = ProjectStore.in_home(rig.home).load("interrupted")
    assert stopped.status == "paused" and stopped.stop_reason == "interrupted"
    assert [t.status for t in stopped.tasks.values()] == ["done", "pending", "pending"]

    resumed = await rig.new().resume("interrupted")
    assert resumed.status == "completed"
    assert rig.task_requests("t1") == 1  # never asked again
    assert rig.task_requests("t3") == 1 and rig.fake.count(PLANNER) == 1


async def test_checkpoint_waiting_for_the_database_does_not_block_the_event_loop(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(2))
    rig.fake.script(EXECUTOR, GOOD)
    other = sqlite3.connect(rig.home / "projects.db", isolation_level=None)  # another process, say
    t1_answered = asyncio.Event()

    def on_completed(task_id: str, **_: Any) -> None:
        if task_id == "t1":
            other.execute("BEGIN IMMEDIATE")  # hold the write lock: t1's checkpoint must wait for it
            t1_answered.set()

    rig.orch.add_hook(EventType.TASK_COMPLETED, on_completed)
    run = asyncio.ensure_future(rig.orch.run(spec(), output_dir=rig.out, project_id="offloop"))
    await asyncio.wait_for(t1_answered.wait(), timeout=10)
    started = time.monotonic()
    for _ in range(20):
        await asyncio.sleep(0.01)  # the loop keeps turning while the checkpoint waits
    lag = time.monotonic() - started
    waiting = dict(other.execute("SELECT task_id, status FROM project_tasks WHERE project_id = 'offloop'").fetchall())
    other.execute("COMMIT")
    state = await asyncio.wait_for(run, timeout=20)
    other.close()
    assert lag < 2.0
    assert waiting["t1"] != "done"  # t1's checkpoint had not been written yet: it was waiting for the lock
    assert state.status == "completed"
    assert [t.status for t in ProjectStore.in_home(rig.home).load("offloop").tasks.values()] == ["done", "done"]


async def test_injected_failure_blocks_dependants_then_resume_runs_only_the_rest(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(3))
    rig.fake.script(EXECUTOR, GOOD)
    rig.orch.add_hook(
        EventType.TASK_COMPLETED, lambda task_id, **_: rig.fake.fail(EXECUTOR, 500) if task_id == "t1" else None
    )
    state = await rig.orch.run(spec(), output_dir=rig.out)
    assert state.status == "failed"
    assert [t.status for t in state.tasks.values()] == ["done", "failed", "blocked"]
    assert "500" in (state.tasks["t2"].error or "") or "Server" in (state.tasks["t2"].error or "")
    assert rig.of(EventType.TASK_FAILED)[0]["task_id"] == "t2"

    resumed = await rig.new().resume(state.id)
    assert resumed.status == "completed"
    assert rig.task_requests("t1") == 1 and rig.task_requests("t2") == 2 and rig.task_requests("t3") == 1


async def test_budget_stop_refuses_further_tasks_and_stays_resumable(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(5), usage=Usage(200, 300))
    # About $0.00925 a task; the worst case held (the prompt's UTF-8 bound and the whole output allowance) is a
    # little over $0.011: two tasks fit in $0.023, the second crosses the 80% alert, the third is refused.
    rig.fake.script(EXECUTOR, GOOD, usage=Usage(100, 900))
    state = await rig.orch.run(spec(max_usd="0.023"), output_dir=rig.out, project_id="tight")

    assert state.status == "paused" and (state.stop_reason or "").startswith("budget")
    done = [t.id for t in state.tasks.values() if t.status == "done"]
    not_done = [t.id for t in state.tasks.values() if t.status != "done"]
    assert done and not_done and all(state.tasks[t].status == "pending" for t in not_done)
    assert state.spent_usd <= Decimal("0.023")
    assert all(rig.task_requests(t) == 0 for t in not_done)  # refused before anything was sent
    assert rig.of(EventType.BUDGET_WARNING) and rig.of(EventType.BUDGET_WARNING)[0]["scope"] == "project:tight"

    again = await rig.new().resume("tight")  # same budget: still refused, nothing sent
    assert again.status == "paused" and rig.fake.count(EXECUTOR) == len(done)

    resumed = await rig.new().resume("tight", max_usd="1")
    assert resumed.status == "completed" and resumed.budget_usd == Decimal(1)
    assert all(rig.task_requests(t.id) == 1 for t in resumed.tasks.values())


async def test_independent_tasks_run_concurrently_up_to_the_limit(
    served: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    fake, base_url = served
    fake.reset()
    r = Rig(fake, base_url, tmp_path, max_concurrency=2)
    plan = {
        "tasks": [{"id": f"p{i}", "title": f"P{i}", "prompt": "Write a class.", "task_type": "code"} for i in range(3)]
        + [{"id": "join", "title": "Join", "prompt": "Combine.", "task_type": "code", "depends_on": ["p0", "p1", "p2"]}]
    }
    fake.script(PLANNER, json.dumps(plan))
    fake.script(EXECUTOR, GOOD)
    fake.delay(EXECUTOR, 0.05)
    running, peak = set(), [0]

    def start(task_id: str, **_: Any) -> None:
        running.add(task_id)
        peak[0] = max(peak[0], len(running))

    r.orch.add_hook(EventType.TASK_STARTED, start)
    r.orch.add_hook(EventType.TASK_COMPLETED, lambda task_id, **_: running.discard(task_id))
    state = await r.orch.run(spec(), output_dir=r.out)
    r.orch.close()
    assert state.status == "completed_unverified" and peak[0] == 2  # its one criterion is prose, not checked
    order = [(t, d["task_id"]) for t, d in r.events if t in (EventType.TASK_STARTED, EventType.TASK_COMPLETED)]
    assert order[-2:] == [(EventType.TASK_STARTED, "join"), (EventType.TASK_COMPLETED, "join")]


async def test_bad_plan_is_retried_once_with_the_error(rig: Rig) -> None:
    rig.fake.script(PLANNER, '{"tasks": [{"id": "a", "title": "A", "prompt": "x", "depends_on": ["zzz"]}]}', times=1)
    rig.fake.script(PLANNER, chain_plan(1))
    rig.fake.script(EXECUTOR, GOOD)
    state = await rig.orch.run(spec(), output_dir=rig.out)
    assert state.status == "completed" and rig.fake.count(PLANNER) == 2
    retry = json.dumps([r.json for r in rig.fake.requests if r.model == PLANNER][1])
    assert "tasks[0].depends_on names unknown task 'zzz'" in retry


async def test_plan_unusable_twice_fails_the_project_naming_the_key(rig: Rig) -> None:
    rig.fake.script(PLANNER, "Sure! Here is the plan: step one, step two.")
    with pytest.raises(UnusablePlanError, match="not valid JSON"):
        await rig.orch.run(spec(), output_dir=rig.out, project_id="noplan")
    state = ProjectStore.in_home(rig.home).load("noplan")
    assert state.status == "failed" and "unusable task list" in (state.stop_reason or "")
    assert rig.fake.count(PLANNER) == 2 and state.plan_cost_usd > 0


async def test_failed_validation_retries_with_feedback(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(1))
    rig.fake.script(EXECUTOR, "```python\ndef broken(:\n```", times=1)
    rig.fake.script(EXECUTOR, GOOD)
    state = await rig.orch.run(spec(), output_dir=rig.out)
    task = state.tasks["t1"]
    assert state.status == "completed" and task.runs == 2 and task.score == 1.0
    failed = rig.of(EventType.VALIDATION_FAILED)
    assert len(failed) == 1 and "does not parse" in failed[0]["problems"][0]
    assert "did not pass validation" in json.dumps(rig.fake.requests[-1].json)


async def test_hard_policy_refuses_before_any_call(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(1))
    with pytest.raises(PolicyViolationError, match="allowed_providers"):
        await rig.orch.run(spec(allowed_providers=["anthropic"]), output_dir=rig.out)
    assert rig.fake.count() == 0


async def test_policy_limits_routing_candidates_to_allowed_providers(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(1))
    rig.fake.script(EXECUTOR, GOOD)
    state = await rig.orch.run(spec(allowed_providers=["openai"]), output_dir=rig.out)
    assert state.status == "completed" and state.tasks["t1"].model == f"openai:{EXECUTOR}"


async def test_time_limit_stops_starting_tasks(served: tuple[FakeUpstream, str], tmp_path: Path) -> None:
    fake, base_url = served
    fake.reset()
    clock = FakeClock()
    r = Rig(fake, base_url, tmp_path, clock=clock)
    fake.script(PLANNER, chain_plan(3))
    fake.script(EXECUTOR, GOOD)
    r.orch.add_hook(EventType.TASK_COMPLETED, lambda task_id, **_: clock.advance(61))
    state = await r.orch.run(spec(max_time_seconds=100), output_dir=r.out, project_id="slow")
    r.orch.close()
    assert state.status == "paused" and state.stop_reason == "time"
    assert [t.status for t in state.tasks.values()] == ["done", "done", "pending"]
    assert state.elapsed_s == pytest.approx(122)


async def test_soft_policy_warns_and_runs(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(1))
    rig.fake.script(EXECUTOR, GOOD)
    soft = spec().model_copy(
        update={"policy": ProjectPolicy(enforcement_mode="soft", allowed_providers=("anthropic",))}
    )
    state = await rig.orch.run(soft, output_dir=rig.out)
    assert state.status == "completed"
    assert any("soft policy" in w and "anthropic" in w for w in rig.orch.warnings)


async def test_run_with_an_existing_id_resumes_it(rig: Rig) -> None:
    rig.fake.script(PLANNER, chain_plan(2))
    rig.fake.script(EXECUTOR, GOOD)
    first = await rig.orch.run(spec(), output_dir=rig.out, project_id="same")
    again = await rig.new().run(spec(), output_dir=rig.tmp / "elsewhere", project_id="same")
    assert first.status == again.status == "completed" and again.output_dir == rig.out.resolve()
    assert rig.fake.count(PLANNER) == 1 and rig.fake.count(EXECUTOR) == 2
