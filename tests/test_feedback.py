"""Feedback on answers: stored in the real SQLite ledger, through the library, the CLI and the gateway on loopback
(the official openai SDK makes the calls; httpx posts the ratings), and read back as training examples."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app as cli_app
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.errors import ValidationError
from podium.core.types import Usage
from podium.ledger import Ledger, LedgerReader, UnknownRequestError, parse_verdict
from podium.routing.feedback_adjust import examples_from_ledger
from podium.server import create_app, sha256_hex
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve

KEY = "test-key-0123456789"
KEYS = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
MINI, HAIKU = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"
HEDGE = "I'm not sure, I don't know."
TEAM_A, TEAM_B = "pk-team-a-secret-42", "pk-team-b-secret-43"


def _wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


def _config(base: str, **extra: Any) -> PodiumConfig:
    return PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{base}/v1"}, "anthropic": {"base_url": base}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": {"chain": "c", "chains": {"c": [MINI, HAIKU]}, "gates": ["hedging"]},
        **extra,
    })


def _db(home: Path) -> str:
    return PodiumConfig().ledger.database_url(home)


async def _cascade(tmp_path: Path) -> str:
    """One routed call: the mini model hedges (escalated), haiku answers (kept). Returns the routed call's id."""
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), HEDGE, usage=Usage(20, 8))
    fake.script(_wire(HAIKU), "Paris is the capital of France.", usage=Usage(22, 9))
    async with serve(fake.app) as base, Podium.from_config(_config(base), env=KEYS, home=tmp_path) as client:
        routed = await client.route("What is the capital of France?", strategy="cascade")
        stored = await client.feedback(routed.request_id, "bad", note="wrong tone")
        assert (stored.model, stored.call_request_id, stored.replaced) == (HAIKU, f"{routed.request_id}.2", False)
        again = await client.feedback(f"{routed.request_id}.2", 0.8)  # a sub-call's id names the same call
        assert again.request_id == routed.request_id and again.replaced and again.label == "good"
        with pytest.raises(UnknownRequestError, match="not in the ledger"):
            await client.feedback("no-such-request", "good")
    return str(routed.request_id)


async def test_routed_feedback_attaches_to_the_answering_model_and_a_repeat_replaces_it(tmp_path: Path) -> None:
    routed_id = await _cascade(tmp_path)
    reader = LedgerReader(_db(tmp_path))
    rows = reader.feedback_rows()
    assert len(rows) == 1  # replaced, never double-counted
    (row,) = rows
    assert (row["request_id"], row["model"], row["score"], row["label"]) == (routed_id, HAIKU, 0.8, "good")
    assert row["note"] is None and row["prompt"] is None  # prompts are logged only with log_text
    gates = reader.gate_verdicts()
    # The kept answer was rated explicitly, so only the escalated one remains a weak label.
    assert [(g["model"], g["outcome"]) for g in gates] == [(MINI, "escalated")]
    examples = examples_from_ledger(rows, gates, gate_weight=0.3)
    assert [(e.model, e.target, e.weight, e.source) for e in examples] == [
        (HAIKU, 0.8, 1.0, "feedback"), (MINI, 0.0, 0.3, "gate"),
    ]
    reader.close()


def test_direct_call_feedback_rates_the_last_answered_attempt_and_scopes_by_key(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Paris.", usage=Usage(10, 2))

    async def call() -> str:
        async with serve(fake.app) as base, Podium.from_config(_config(base), env=KEYS, home=tmp_path) as client:
            return (await client.complete("Capital of France?", model=MINI)).request_id

    request_id = asyncio.run(call())
    with Ledger(_db(tmp_path)) as ledger:
        stored = ledger.add_feedback(request_id, "good")
        assert (stored.model, stored.attempt, stored.score) == (MINI, 1, 1.0)
        with pytest.raises(UnknownRequestError):
            ledger.add_feedback(request_id, "bad", key="someone-else")  # another key's call reads as unknown
        assert [r["label"] for r in ledger.feedback_rows()] == ["good"]


@pytest.mark.parametrize("value", ["great", 1.5, -0.1, True, "nan", None])
def test_a_bad_verdict_is_one_line_naming_the_field_and_the_valid_values(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        parse_verdict(value, field="verdict")
    assert info.value.field == "verdict" and "good, bad, or a score from 0 to 1" in str(info.value)


def test_cli_feedback_stores_a_rating_and_refuses_an_unknown_id(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Paris.", usage=Usage(10, 2))

    async def call() -> str:
        async with serve(fake.app) as base, Podium.from_config(_config(base), env=KEYS, home=tmp_path) as client:
            return (await client.complete("Capital of France?", model=MINI)).request_id

    request_id = asyncio.run(call())
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    ok = runner.invoke(cli_app, ["feedback", request_id, "0.25", "--note", "too long", "--db", db])
    assert ok.exit_code == 0, ok.output
    assert f"rated {request_id}: bad (0.25) for {MINI}" in ok.output
    assert LedgerReader(db).feedback_rows()[0]["note"] == "too long"
    missing = runner.invoke(cli_app, ["feedback", "nope", "good", "--db", db])
    assert missing.exit_code != 0 and "request 'nope' is not in the ledger" in missing.output
    bad = runner.invoke(cli_app, ["feedback", request_id, "meh", "--db", db])
    assert bad.exit_code != 0 and "verdict 'meh' is not valid; use good, bad" in bad.output


# -- the gateway --------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _uvicorn(app: Any) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on", http="h11",
                            loop="asyncio", ws="none")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_gateway_feedback_is_scoped_by_virtual_key_and_names_bad_fields(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(MINI), "Paris.", usage=Usage(10, 2))
    keys = ({"id": "team-a", "key_sha256": sha256_hex(TEAM_A), "team": "eng"},
            {"id": "team-b", "key_sha256": sha256_hex(TEAM_B), "team": "ops"})
    async with serve(fake.app) as upstream:
        cfg = _config(upstream)
        gw = create_app(None, ServerSettings(keys=keys), config=cfg, telemetry=Telemetry(cfg.telemetry), env=KEYS,
                        home=tmp_path)
        async with _uvicorn(gw) as base:
            sdk = openai.AsyncOpenAI(base_url=base + "/v1", api_key=TEAM_A, max_retries=0)
            raw = await sdk.chat.completions.with_raw_response.create(
                model=MINI, messages=[{"role": "user", "content": "Capital of France?"}]
            )
            request_id, response_id = raw.headers["x-podium-request-id"], raw.parse().id
            await sdk.close()

            async with httpx.AsyncClient(base_url=base) as http:
                async def post(body: Any, key: str = TEAM_A) -> httpx.Response:
                    return await http.post("/v1/feedback", json=body, headers={"authorization": f"Bearer {key}"})

                ok = await post({"request_id": request_id, "label": "good", "note": "spot on"})
                assert ok.status_code == 200, ok.text
                assert ok.json()["model"] == MINI and ok.json()["label"] == "good"
                again = await post({"request_id": response_id, "score": 0.3})  # chatcmpl-<id> works too
                assert again.status_code == 200 and again.json()["replaced"] is True
                other = await post({"request_id": request_id, "label": "bad"}, key=TEAM_B)
                assert other.status_code == 404 and other.json()["error"]["param"] == "request_id"
                assert (await post({"request_id": request_id, "label": "bad"}, key="pk-wrong-key-000")).status_code \
                    == 401
                for body, param in (
                    ({"request_id": request_id, "label": "meh"}, "label"),
                    ({"request_id": request_id, "score": 1.5}, "score"),
                    ({"request_id": request_id}, "score"),
                    ({"request_id": request_id, "score": 1, "label": "good"}, "label"),
                    ({"score": 1}, "request_id"),
                    ({"request_id": request_id, "score": 1, "stars": 5}, "stars"),
                ):
                    resp = await post(body)
                    err = resp.json()["error"]
                    assert resp.status_code == 400 and err["param"] == param, (body, err)
                    assert err["type"] == "invalid_request_error" and "\n" not in err["message"]
    rows = LedgerReader(_db(tmp_path)).feedback_rows()
    assert [(r["score"], r["label"], r["key"], r["team"]) for r in rows] == [(0.3, "bad", "team-a", "eng")]
