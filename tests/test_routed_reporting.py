"""Routed calls report what they cost and how they routed, and agree with the ledger (real SQLite).

Through the CLI in replay mode, the library against the fake upstream on loopback, and the gateway: the total of
every attempt, the models tried in call order, caller-given task types (custom task-table rows, seed 004's
``fallback:``) and the task type on every routed ledger row. `podium ask --task-type` against the fake upstream
is in test_cli_ask.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.config.routing import DEFAULT_TASK_TABLE, RoutingSettings
from podium.core.model_spec import ModelSpec
from podium.core.money import fmt_usd
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest, Completion, Usage
from podium.routing.plans import GENERAL, CascadePlan, PlanPoint, PlanTable
from podium.routing.strategies import build_strategy
from podium.server import create_app
from podium.testing import FakeUpstream, serve

runner = CliRunner()
CODE_PROMPT = "Write a function to filter odd numbers."  # a recorded prompt: the replay cascade escalates once
KEY = "test-key-0123456789"
KEYS = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
MINI, HAIKU = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"


def ledger_rows(db: Path, request_id: str | None = None) -> list[dict[str, Any]]:
    """Ledger rows in write order; those of one routed request when ``request_id`` is given."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in con.execute("select * from ledger_calls order by id")]
    finally:
        con.close()
    if request_id is not None:
        rows = [r for r in rows if r["request_id"].startswith(request_id + ".")]
    return rows


def cli_ledger() -> Path:
    return Path(os.environ["PODIUM_HOME"]) / "ledger.db"


def total(rows: Sequence[dict[str, Any]]) -> Decimal:
    return sum((Decimal(str(r["cost_usd"])) for r in rows), Decimal(0))


def ask_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = runner.invoke(app, ["ask", *args, "--json"], env=env or {})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- the CLI in replay mode ------------------------------------------------------------------------------------------


def test_cascade_json_carries_the_total_and_every_model_tried_as_the_ledger_recorded() -> None:
    data = ask_json(CODE_PROMPT, "--strategy", "cascade", "--replay")
    routing = data["routing"]
    rows = ledger_rows(cli_ledger(), routing["request_id"])
    assert len(rows) >= 2  # the audit's case: the cheap model was escalated
    assert Decimal(data["cost_usd"]) == Decimal(routing["total_cost_usd"]) == total(rows)
    assert [t["model"] for t in routing["tried"]] == [r["model"] for r in rows]
    assert [Decimal(t["cost_usd"]) for t in routing["tried"]] == [Decimal(str(r["cost_usd"])) for r in rows]
    assert [t["request_id"] for t in routing["tried"]] == [r["request_id"] for r in rows]
    assert routing["strategy"] == "cascade" and routing["calls"] == len(rows)
    assert routing["tried"][0]["outcome"] == "escalated" and routing["tried"][0]["reason"]
    assert [t["model"] for t in routing["tried"] if t["chosen"]] == [routing["chosen"]] == [data["model"]]
    assert data["usage"]["output_tokens"] == sum(r["output_tokens"] for r in rows)
    assert {r["task_type"] for r in rows} == {routing["task_type"]} == {"code"}


def test_explain_output_states_the_same_costs_as_the_ledger() -> None:
    result = runner.invoke(app, ["ask", CODE_PROMPT, "--strategy", "cascade", "--replay", "--explain"], env={})
    assert result.exit_code == 0, result.output
    rows = ledger_rows(cli_ledger())
    assert len(rows) >= 2
    routed = result.stderr[result.stderr.index("routed by cascade"):].splitlines()
    assert routed[0] == f"routed by cascade, task type 'code': {len(rows)} calls, total {fmt_usd(total(rows))}"
    for line, row in zip(routed[1:], rows, strict=False):
        assert row["model"] in line and fmt_usd(Decimal(str(row["cost_usd"]))) in line
    stats = next(line for line in result.stderr.splitlines() if " ms" in line and "calls" in line)
    assert fmt_usd(total(rows)) in stats and f"{len(rows)} calls" in stats


def test_ensemble_json_reports_agreement_and_the_sum_of_its_members() -> None:
    data = ask_json(CODE_PROMPT, "--strategy", "ensemble", "--replay")
    routing = data["routing"]
    rows = ledger_rows(cli_ledger(), routing["request_id"])
    assert len(rows) >= 2 and Decimal(routing["total_cost_usd"]) == total(rows) == Decimal(data["cost_usd"])
    assert [t["model"] for t in routing["tried"]] == [r["model"] for r in rows]
    assert {t["outcome"] for t in routing["tried"]} == {"voted"}
    assert "agreement" in routing and 0.0 <= routing["confidence"] <= 1.0


def test_costs_report_by_task_shows_the_task_type_of_a_cascade_call() -> None:
    ask_json(CODE_PROMPT, "--strategy", "cascade", "--replay")
    report = runner.invoke(app, ["costs", "report", "--by", "task", "--json"], env={})
    assert report.exit_code == 0, report.output
    lines = json.loads(report.stdout)["lines"]
    assert [line["group"] for line in lines] == ["code"] and lines[0]["calls"] == len(ledger_rows(cli_ledger()))
    table = runner.invoke(app, ["costs", "report", "--by", "task"], env={"COLUMNS": "200"})
    assert "│ code " in table.stdout and "│ - " not in table.stdout


def test_custom_rows_merge_over_the_default_table() -> None:
    settings = PodiumConfig.from_mapping({"routing": {"task_table": {
        "problem_generation": {"primary": HAIKU, "fallback": [MINI, "openai:gpt-4o"]},
        "code": {"primary": MINI, "fallback": HAIKU},
    }}}).routing
    table = settings.task_table
    assert table["problem_generation"].fallbacks == (MINI, "openai:gpt-4o")
    assert table["code"].primary == MINI and table["code"].fallbacks == (HAIKU,)
    assert table["math"] == DEFAULT_TASK_TABLE["math"]  # rows not given keep their defaults
    assert set(table) == set(DEFAULT_TASK_TABLE) | {"problem_generation"}


# -- the library and the gateway over loopback -----------------------------------------------------------------------


def wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


def library_config(base: str, **routing: Any) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": routing,
    })


async def test_library_complete_with_a_strategy_exposes_the_total_of_every_attempt(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(wire(MINI), "I'm not sure, I don't know.", usage=Usage(20, 8))  # fails the hedging gate
    fake.script(wire(HAIKU), "Paris is the capital of France.", usage=Usage(22, 9))
    async with serve(fake.app) as base:
        config = library_config(base, chain="two", chains={"two": [MINI, HAIKU]}, gates=["hedging"])
        async with Podium.from_config(config, env=KEYS, home=tmp_path) as client:
            completion = await client.complete("What is the capital of France?", strategy="cascade")
    routed = completion.routed
    rows = ledger_rows(tmp_path / "ledger.db", routed.request_id)
    assert completion.model == HAIKU and completion.cost_usd == Decimal(str(rows[1]["cost_usd"]))
    assert routed.total_cost_usd == total(rows) > completion.cost_usd
    assert [s.model for s in routed.tried()] == [r["model"] for r in rows] == [MINI, HAIKU]
    summary = routed.summary()
    assert [t["outcome"] for t in summary["tried"]] == ["escalated", "end of chain"]
    assert summary["total_cost_usd"] == str(routed.total_cost_usd) and routed.usage == Usage(42, 17)
    assert {r["task_type"] for r in rows} == {summary["task_type"]} and summary["task_type"] is not None


async def test_library_explain_and_route_honour_a_caller_task_type(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(wire(HAIKU), "A problem.", usage=Usage(5, 5))
    table = {"problem_generation": {"primary": HAIKU, "fallback": MINI}}
    meta = CallMeta(task_type="problem_generation", project="p1")
    async with serve(fake.app) as base:
        config = library_config(base, task_table=table)
        async with Podium.from_config(config, env=KEYS, home=tmp_path) as client:
            decision = await client.explain("What is 2 + 2?", strategy="table", meta=meta)
            routed = await client.route("What is 2 + 2?", strategy="table", meta=meta)
    assert decision.chosen == [HAIKU] and decision.task_type == "problem_generation"
    assert routed.completion.model == HAIKU and meta.task_type == "problem_generation"  # caller's meta untouched
    rows = ledger_rows(tmp_path / "ledger.db")
    assert [(r["model"], r["task_type"], r["project"]) for r in rows] == [(HAIKU, "problem_generation", "p1")]


def test_gateway_cost_header_is_the_ledger_total_of_a_routed_call(tmp_path: Path) -> None:
    config = PodiumConfig.from_mapping({"mode": "replay", "orchestration": {"enabled": False}})
    gateway = create_app(None, config=config, env={}, home=tmp_path, mode="replay")
    with serve(gateway, lifespan="on") as base_url:
        response = httpx.post(f"{base_url}/v1/chat/completions", timeout=30, json={
            "model": "podium/cascade", "messages": [{"role": "user", "content": CODE_PROMPT}],
        })
    assert response.status_code == 200, response.text
    rows = ledger_rows(tmp_path / "ledger.db")
    assert len(rows) >= 2 and Decimal(response.headers["x-podium-cost-usd"]) == total(rows)
    assert response.json()["usage"]["completion_tokens"] == sum(r["output_tokens"] for r in rows)
    assert {r["task_type"] for r in rows} == {"code"}


# -- strategies through an injected caller: a caller's task type beats task analysis ---------------------------------


def _spec(name: str, price: str) -> ModelSpec:
    return ModelSpec(id=f"t:{name}", provider="t", api_model=name, input_per_million=Decimal(price),
                     output_per_million=Decimal(price), context_window=100_000)


class _PlannedRouter:
    models = ("t:a", "t:big")
    plans = PlanTable({"knowledge_qa": (PlanPoint(CascadePlan(("t:a",)), 0.9, 0.02, 100),),
                       GENERAL: (PlanPoint(CascadePlan(("t:big",)), 0.9, 1.0, 100),)}, "t:big")

    def predict(self, prompt: str, models: Sequence[str] | None = None) -> dict[str, float]:
        return {m: 0.8 for m in (models or self.models)}

    def task_type(self, prompt: str) -> str:
        return "chat"


async def test_learned_cascade_uses_the_plan_of_the_callers_task_type() -> None:
    catalog = Catalog([_spec("a", "0.1"), _spec("big", "10")])
    cascade = build_strategy("cascade", settings=RoutingSettings(), catalog=catalog, router=_PlannedRouter())
    seen: list[tuple[str, str | None]] = []

    async def caller(model: str, request: ChatRequest, meta: CallMeta) -> Completion:
        seen.append((model, meta.task_type))
        return Completion(text="B", model=model, provider="t", cost_usd=Decimal("0.01"))

    request = ChatRequest.from_prompt("hello there, how many is 3 plus 4?")  # a closed question: plans apply
    analysed = await cascade.run(request, caller=caller, meta=CallMeta())
    given = await cascade.run(request, caller=caller, meta=CallMeta(task_type="knowledge_qa"))
    assert seen == [("t:big", "chat"), ("t:a", "knowledge_qa")]
    assert (analysed.decision.task_type, given.decision.task_type) == ("chat", "knowledge_qa")
    explained = await cascade.explain(request, meta=CallMeta(task_type="knowledge_qa"))
    assert explained.chosen == ["t:a"]
