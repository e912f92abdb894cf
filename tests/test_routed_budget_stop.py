"""A routed call that a budget cuts short keeps the answer it already paid for, and every face says so.

The cascade's cheap step fits the budget and is charged; the strong step's worst case does not, so the ledger
refuses it before anything is sent. The call then answers with the cheap model's answer (it used to fail and waste
that money). Through the CLI in replay mode, the gateway with a key budget (real SQLite ledger), and the library
against the fake upstream on loopback. Also: the gateway's request ids agree between header and stream.
"""

from __future__ import annotations

import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.errors import BudgetExceededError
from podium.core.money import fmt_usd
from podium.core.pipeline import CallMeta
from podium.core.tokens import request_token_bound
from podium.core.types import ChatRequest, Usage
from podium.server import create_app, sha256_hex
from podium.testing import FakeUpstream, serve

runner = CliRunner()
CODE_PROMPT = "Write a function to filter odd numbers."  # recorded: the learned plan is gpt-3.5 -> gpt-4
CHEAP, STRONG = "openai:gpt-3.5-turbo-1106", "openai:gpt-4-1106-preview"
CATALOG = Catalog.bundled()
KEY = "pk-budget-test-0123456789"


def worst_case(model: str, prompt: str = CODE_PROMPT) -> Decimal:
    """What the ledger reserves for one call of ``model`` (the prompt, and the model's whole output window)."""
    request = ChatRequest.from_prompt(prompt)
    worst = CATALOG.get(model).worst_case_cost(request_token_bound(request), request.max_tokens)
    assert worst is not None
    return worst


def rows(db: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("select * from ledger_calls order by id")]
    finally:
        con.close()


def cli_rows() -> list[dict[str, Any]]:
    return rows(Path(os.environ["PODIUM_HOME"]) / "ledger.db")


# -- podium ask --replay --max-cost ------------------------------------------------------------------------------------


def test_cli_cascade_under_a_tight_cap_answers_with_the_cheap_answer_it_paid_for() -> None:
    assert worst_case(CHEAP) < Decimal("0.01") < worst_case(STRONG)
    result = runner.invoke(
        app, ["ask", CODE_PROMPT, "--strategy", "cascade", "--max-cost", "0.01", "--replay", "--json"], env={}
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    ledger = cli_rows()
    assert [(r["model"], r["status"]) for r in ledger] == [(CHEAP, "ok"), (STRONG, "refused")]
    paid = Decimal(str(ledger[0]["cost_usd"]))
    assert Decimal(str(ledger[1]["cost_usd"])) == 0 and paid > 0
    assert data["model"] == CHEAP and Decimal(data["cost_usd"]) == paid
    routing = data["routing"]
    assert routing["budget_limited"] is True
    assert routing["budget_stop"] == {
        "model": STRONG, "scope": "call", "limit_usd": "0.01", "requested_usd": str(worst_case(STRONG)),
    }
    assert [(t["model"], t["outcome"], t["chosen"]) for t in routing["tried"]] == [
        (CHEAP, "kept", True), (STRONG, "refused", False),
    ]
    assert routing["tried"][1]["reason"] == (
        f"the per-call budget ($0.01) would be exceeded: it could cost up to ${worst_case(STRONG)}"
    )
    assert routing["tried"][0]["reason"].startswith(f"budget-limited: keeping the answer of {CHEAP}")
    assert routing["tried"][0]["request_id"] == ledger[0]["request_id"] == routing["request_id"] + ".1"
    # stdout is the one JSON object; the note is on stderr
    assert result.stderr.splitlines()[-1] == (
        f"note: budget-limited: the per-call budget ($0.01) refused {STRONG} (up to ${worst_case(STRONG)}); "
        f"answered by {CHEAP}, the best answer already paid for"
    )


def test_cli_explain_lists_the_refusal_after_the_paid_step() -> None:
    args = ["ask", CODE_PROMPT, "--strategy", "cascade", "--max-cost", "0.01", "--replay", "--explain"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    paid = Decimal(str(cli_rows()[0]["cost_usd"]))
    routed = result.stderr[result.stderr.index("routed by cascade"):].splitlines()
    assert routed[0] == f"routed by cascade, task type 'code': 1 call, total {fmt_usd(paid)}"
    assert routed[1].startswith(f"  1. {CHEAP} {fmt_usd(paid)} kept: budget-limited: keeping the answer of {CHEAP}")
    assert routed[1].endswith("<- answer")
    assert routed[2] == (
        f"  2. {STRONG} - refused: the per-call budget ($0.01) would be exceeded: it could cost up to "
        f"${worst_case(STRONG)}"
    )
    assert routed[3] == (
        f"  budget-limited: the per-call budget ($0.01) refused {STRONG} (up to ${worst_case(STRONG)}); "
        f"answered by {CHEAP}, the best answer already paid for"
    )
    assert "note: " not in result.stderr  # --explain already said it


def test_cli_first_step_refused_still_fails_in_plain_english() -> None:
    cap = Decimal("0.0001")
    args = ["ask", CODE_PROMPT, "--strategy", "cascade", "--max-cost", str(cap), "--replay"]
    result = runner.invoke(app, args, env={})
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --max-cost (${cap}) refused {CHEAP}: its worst case, ${worst_case(CHEAP)}, assumes it writes its "
        "full output allowance (4,096 tokens); add --max-tokens 14 (or fewer) to fit, or raise --max-cost\n"
    )
    assert [(r["model"], r["status"]) for r in cli_rows()] == [(CHEAP, "refused")]


# -- the gateway: a key budget and podium/cascade ----------------------------------------------------------------------


def replay_gateway(tmp_path: Path, budget: str) -> Any:
    config = PodiumConfig.from_mapping({"mode": "replay", "orchestration": {"enabled": False}})
    keys = ({"id": "tight", "key_sha256": sha256_hex(KEY), "budget_usd": budget},)
    return create_app(None, ServerSettings(keys=keys), config=config, env={}, home=tmp_path, mode="replay")


def post(base_url: str, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "podium/cascade", "messages": [{"role": "user", "content": CODE_PROMPT}], **body},
        timeout=30,
    )


def sse_objects(text: str) -> list[dict[str, Any]]:
    frames = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    return [json.loads(f) for f in frames[:-1]]


def test_gateway_cascade_under_a_key_budget_returns_the_paid_answer_and_says_so(tmp_path: Path) -> None:
    with serve(replay_gateway(tmp_path, "0.01"), lifespan="on") as base_url:
        whole = post(base_url)
        streamed = post(base_url, stream=True, stream_options={"include_usage": True})
    assert whole.status_code == 200, whole.text
    ledger = rows(tmp_path / "ledger.db")
    first = [r for r in ledger if r["request_id"].startswith(whole.headers["x-podium-request-id"] + ".")]
    assert [(r["model"], r["status"], r["key"]) for r in first] == [(CHEAP, "ok", "tight"), (STRONG, "refused", "tight")]
    assert whole.headers["x-podium-budget-limited"] == "true"
    assert whole.headers["x-podium-model"] == CHEAP == whole.json()["model"]
    assert Decimal(whole.headers["x-podium-cost-usd"]) == Decimal(str(first[0]["cost_usd"])) > 0
    # The header is the call's id; the answering attempt's ledger row is named beside it.
    assert whole.headers["x-podium-attempt-request-id"] == first[0]["request_id"]
    assert whole.json()["id"] == "chatcmpl-" + whole.headers["x-podium-request-id"]

    assert streamed.status_code == 200 and streamed.headers["x-podium-budget-limited"] == "true"
    chunks = sse_objects(streamed.text)
    podium = chunks[-1]["podium"]
    parent = streamed.headers["x-podium-request-id"]
    assert podium["request_id"] == parent and podium["budget_limited"] is True
    assert podium["attempt_request_id"] == parent + ".1"
    assert {c["id"] for c in chunks} == {"chatcmpl-" + parent}
    second = [r for r in rows(tmp_path / "ledger.db") if r["request_id"].startswith(parent + ".")]
    assert [(r["request_id"], r["model"], r["status"]) for r in second] == [
        (parent + ".1", CHEAP, "ok"), (parent + ".2", STRONG, "refused"),
    ]
    assert Decimal(podium["cost_usd"]) == Decimal(str(second[0]["cost_usd"]))


def test_gateway_cascade_whose_first_step_is_refused_is_402(tmp_path: Path) -> None:
    with serve(replay_gateway(tmp_path, "0.0001"), lifespan="on") as base_url:
        refused = post(base_url)
    assert refused.status_code == 402
    assert refused.json()["error"]["message"] == (
        f"the budget of key tight ($0.0001) would be exceeded: $0 spent and $0 held for calls in flight, and this "
        f"call could cost up to ${worst_case(CHEAP)}; raise the limit or lower max_tokens"
    )
    assert "x-podium-budget-limited" not in refused.headers


def test_gateway_stream_ids_match_the_header_for_a_direct_model(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key="sk-upstream-0123456789")
    fake.script("gpt-4o-mini", text="Paris.", usage=Usage(10, 2))
    with serve(fake.app) as upstream:
        config = PodiumConfig.from_mapping({
            "providers": {"openai": {"base_url": f"{upstream}/v1"}}, "orchestration": {"enabled": False},
        })
        gateway = create_app(None, config=config, env={"OPENAI_API_KEY": "sk-upstream-0123456789"}, home=tmp_path)
        with serve(gateway, lifespan="on") as base_url:
            response = httpx.post(f"{base_url}/v1/chat/completions", timeout=30, json={
                "model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "Capital of France?"}],
                "stream": True, "stream_options": {"include_usage": True},
            })
    podium = sse_objects(response.text)[-1]["podium"]
    (row,) = rows(tmp_path / "ledger.db")
    assert podium["request_id"] == response.headers["x-podium-request-id"] == row["request_id"]  # one id throughout
    assert podium["attempt_request_id"] == row["request_id"] and podium["budget_limited"] is False
    assert "x-podium-budget-limited" not in response.headers


# -- the library: ensemble members and the aggregator under a per-call cap ----------------------------------------------

MINI, HAIKU, GPT4O = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "openai:gpt-4o"


async def test_ensemble_votes_among_the_members_the_budget_let_through(tmp_path: Path) -> None:
    keys = {"OPENAI_API_KEY": "sk-test-0123456789", "ANTHROPIC_API_KEY": "sk-test-0123456789"}
    fake = FakeUpstream(api_key="sk-test-0123456789")
    fake.script("gpt-4o-mini", text="The answer is 4.", usage=Usage(20, 5))
    fake.script("claude-haiku-4-5", text="The answer is 4.", usage=Usage(20, 5))
    request = ChatRequest.from_prompt("What is 2 + 2?", max_tokens=1000)
    cap = Decimal("0.008")  # mini and haiku fit; gpt-4o (member and aggregator) could cost more
    assert CATALOG.get(HAIKU).worst_case_cost(request_token_bound(request), 1000) < cap
    gpt4o_worst = CATALOG.get(GPT4O).worst_case_cost(request_token_bound(request), 1000)
    assert gpt4o_worst is not None and gpt4o_worst > cap
    async with serve(fake.app) as base:
        config = PodiumConfig.from_mapping({
            "orchestration": {"enabled": False},
            "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
            "resilience": {"retry": {"max_attempts": 1}},
            "routing": {"ensemble_models": [MINI, HAIKU, GPT4O], "ensemble_method": "synthesize",
                        "aggregator_model": GPT4O},
        })
        async with Podium.from_config(config, env=keys, home=tmp_path) as client:
            result = await client.route(request, strategy="ensemble", meta=CallMeta(max_cost_usd=cap))
            with pytest.raises(BudgetExceededError):  # no member fits: nothing was paid for, so it fails
                await client.route(request, strategy="ensemble", meta=CallMeta(max_cost_usd=Decimal("0.0000001")))
    assert fake.count("gpt-4o") == 0 and fake.count() == 2
    tried = [(t["model"], t["role"], t["outcome"]) for t in result.summary()["tried"]]
    assert tried == [(MINI, "answer", "voted"), (HAIKU, "answer", "voted"), (GPT4O, "answer", "refused"),
                     (GPT4O, "aggregator", "refused")]
    assert result.decision.budget_limited and result.completion.model in (MINI, HAIKU)
    assert result.summary()["budget_stop"] == {
        "model": GPT4O, "scope": "call", "limit_usd": str(cap), "requested_usd": str(gpt4o_worst),
    }
    ledger = rows(tmp_path / "ledger.db")
    ours = [r for r in ledger if r["request_id"].startswith(result.request_id + ".")]
    assert sorted((r["model"], r["status"]) for r in ours) == sorted(
        [(MINI, "ok"), (HAIKU, "ok"), (GPT4O, "refused"), (GPT4O, "refused")]
    )
    assert result.total_cost_usd == sum((Decimal(str(r["cost_usd"])) for r in ours), Decimal(0))


# -- the library: a named chain's escalation and its judge under a per-call cap ----------------------------------------

OPUS = "anthropic:claude-opus-4-1"
TEST_KEYS = {"OPENAI_API_KEY": "sk-test-0123456789", "ANTHROPIC_API_KEY": "sk-test-0123456789"}


def chain_config(base: str, chain: list[str], **routing: Any) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": {"chain": "mine", "chains": {"mine": chain}, **routing},
    })


async def test_a_refused_escalation_keeps_the_hedged_answer_and_says_why_it_was_escalated(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key="sk-test-0123456789")
    fake.script("gpt-4o-mini", text="I'm not sure, I don't know.", usage=Usage(20, 8))
    request = ChatRequest.from_prompt("What is the capital of Australia?", max_tokens=1000)
    cap = Decimal("0.005")  # gpt-4o could cost up to about $0.01 with 1000 output tokens
    async with serve(fake.app) as base:
        config = chain_config(base, [MINI, GPT4O], gates=["hedging"])
        async with Podium.from_config(config, env=TEST_KEYS, home=tmp_path) as client:
            result = await client.route(request, strategy="cascade", meta=CallMeta(max_cost_usd=cap))
    assert fake.count() == 1 and result.completion.model == MINI and result.decision.budget_limited
    first, second = result.summary()["tried"]
    assert (first["model"], first["outcome"], first["chosen"]) == (MINI, "kept", True)
    assert first["reason"].startswith(f"budget-limited: keeping the answer of {MINI}, the latest one paid for (its "
                                      "gate had said: hedging gate failed")
    assert (second["model"], second["outcome"], second["cost_usd"]) == (GPT4O, "refused", None)
    (row,) = [r for r in rows(tmp_path / "ledger.db") if r["status"] == "ok"]
    assert result.total_cost_usd == Decimal(str(row["cost_usd"])) > 0


async def test_a_refused_judge_keeps_the_answer_it_was_asked_to_grade(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key="sk-test-0123456789")
    fake.script("gpt-4o-mini", text="Canberra is the capital of Australia. " * 60, usage=Usage(20, 600))
    request = ChatRequest.from_prompt("What is the capital of Australia?", max_tokens=100)
    async with serve(fake.app) as base:
        config = chain_config(base, [MINI, HAIKU], gates=["judge"], judge_model=OPUS)
        async with Podium.from_config(config, env=TEST_KEYS, home=tmp_path) as client:
            result = await client.route(request, strategy="cascade", meta=CallMeta(max_cost_usd=Decimal("0.001")))
    assert fake.count() == 1 and result.completion.model == MINI
    assert [(t["model"], t["role"], t["outcome"]) for t in result.summary()["tried"]] == [
        (MINI, "answer", "kept"), (OPUS, "judge", "refused"),
    ]
    stop = result.decision.budget_stop
    assert stop is not None and (stop.model, stop.scope, stop.limit_usd) == (OPUS, "call", Decimal("0.001"))
    assert stop.requested_usd > Decimal("0.001")
