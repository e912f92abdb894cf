"""``POST /v1/embeddings`` over real HTTP: the official openai SDK against the gateway on loopback, the fake upstream
behind it, the real SQLite ledger; and chat routing never choosing an embedding model."""

from __future__ import annotations

import base64
import struct
from decimal import Decimal

import openai
import pytest
from test_server_gateway import TEAM_KEY, UPSTREAM_KEY, gateway, team_key

from podium.catalog import Catalog
from podium.core.clock import SYSTEM_CLOCK
from podium.core.embeddings import embedding_inputs
from podium.core.errors import ValidationError
from podium.engine.candidates import reachable_models
from podium.engine.providers import ProviderPool
from podium.ledger.budgets import UsageKey
from podium.providers import openai_wire
from podium.server.embeddings_api import embeddings_json, parse_embeddings_request
from podium.testing import FakeUpstream
from podium.testing.fake_upstream_wire import embedding_vector

SMALL, LARGE = "openai:text-embedding-3-small", "openai:text-embedding-3-large"
TEXTS = ["hello world", "podium gateway embeds"]  # 11 and 21 characters: the fake bills 3 + 6 tokens


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


# -- the catalog ------------------------------------------------------------------------------------------------------


def test_embedding_models_are_priced_from_litellm_and_marked_embedding():
    catalog = Catalog.bundled()
    small, large = catalog.get(SMALL), catalog.get(LARGE)
    assert (small.kind, large.kind) == ("embedding", "embedding")
    assert (small.input_per_million, large.input_per_million) == (Decimal("0.02"), Decimal("0.13"))
    assert small.output_per_million == 0 and str(small.price_as_of) == "2025-11-01"
    assert "'text-embedding-3-small'" in small.price_source and "litellm 1.109.1" in small.price_source
    assert catalog.get("openai:gpt-4o-mini").kind == "chat"


# -- the SDK over the gateway -----------------------------------------------------------------------------------------


async def test_sdk_embeddings_return_vectors_with_exact_cost_in_header_and_ledger(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(budget_usd="1"),)) as gw, gw.sdk() as client:
        raw = await client.embeddings.with_raw_response.create(model=SMALL, input=TEXTS)  # the SDK asks for base64
        answer = raw.parse()
        floats = await client.embeddings.create(model=SMALL, input=TEXTS, encoding_format="float", dimensions=4)
    cost = Decimal(3 + 6) * Decimal("0.02") / 10**6  # 9 tokens at $0.02 per 1M (LiteLLM 1.109.1)
    assert [d.index for d in answer.data] == [0, 1] and answer.model == SMALL
    assert answer.data[0].embedding == pytest.approx(embedding_vector(TEXTS[0], 8), abs=1e-6)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == 9
    assert Decimal(raw.headers["x-podium-cost-usd"]) == cost
    assert raw.headers["x-podium-model"] == SMALL
    rid = raw.headers["x-podium-request-id"]
    assert floats.data[1].embedding == pytest.approx(embedding_vector(TEXTS[1], 4), abs=1e-6)
    assert upstream.last.path == "/v1/embeddings" and upstream.last.json["model"] == "text-embedding-3-small"
    assert upstream.last.json["dimensions"] == 4 and upstream.last.json["encoding_format"] == "float"
    reader = gw.ledger()
    row = reader.row(rid)
    totals = reader.totals(UsageKey("key", "team-a", "none"))
    reader.close()
    assert row is not None and row["status"] == "ok" and row["model"] == SMALL and row["key"] == "team-a"
    assert Decimal(str(row["cost_usd"])) == cost and row["input_tokens"] == 9 and row["output_tokens"] == 0
    assert row["task_type"] == "embedding"
    assert totals.spent == 2 * Decimal(9) * Decimal("0.02") / 10**6 and totals.reserved == 0


async def test_key_budget_refuses_embeddings_with_402_before_the_upstream(upstream, tmp_path):
    keys = (team_key(budget_usd="0.0000001"),)  # below the worst case of one call
    async with gateway(upstream, tmp_path, keys=keys) as gw, gw.sdk() as client:
        with pytest.raises(openai.APIStatusError) as refused:
            await client.embeddings.create(model=SMALL, input=TEXTS)
    assert refused.value.status_code == 402 and refused.value.code == "budget_exceeded"
    assert "key team-a" in refused.value.message
    assert upstream.count() == 0


async def test_key_allow_list_refuses_embedding_model_with_403(upstream, tmp_path):
    keys = (team_key(allowed_models=["openai:gpt-4o-mini", LARGE]),)
    async with gateway(upstream, tmp_path, keys=keys) as gw, gw.sdk() as client:
        with pytest.raises(openai.PermissionDeniedError) as denied:
            await client.embeddings.create(model=SMALL, input="hi")
        allowed = await client.embeddings.create(model=LARGE, input="hi")
    assert denied.value.code == "model_not_allowed" and "team-a" in denied.value.message
    assert len(allowed.data) == 1 and upstream.count() == 1


async def test_bad_embedding_requests_are_400_naming_the_field(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk() as client:
        with pytest.raises(openai.BadRequestError) as chat_model:
            await client.embeddings.create(model="openai:gpt-4o-mini", input="hi")
        with pytest.raises(openai.BadRequestError) as empty:
            await client.embeddings.create(model=SMALL, input=[])
        with pytest.raises(openai.BadRequestError) as routed:
            await client.embeddings.create(model="podium/cheapest", input="hi")
    assert chat_model.value.param == "model" and "not an embedding model" in chat_model.value.message
    assert empty.value.param == "input" and routed.value.param == "model"
    assert upstream.count() == 0


# -- chat never reaches an embedding model ----------------------------------------------------------------------------


async def test_chat_naming_an_embedding_model_gets_a_one_line_400(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk() as client:
        with pytest.raises(openai.BadRequestError) as refused:
            await client.chat.completions.create(model=SMALL, messages=[{"role": "user", "content": "hi"}])
    assert refused.value.param == "model" and "\n" not in refused.value.message
    assert f"{SMALL} is an embedding model" in refused.value.message and upstream.count() == 0


async def test_routed_chat_never_chooses_an_embedding_model(upstream, tmp_path):
    async with gateway(upstream, tmp_path, keys=(team_key(),)) as gw, gw.sdk(TEAM_KEY) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="podium/cheapest", messages=[{"role": "user", "content": "hi"}])
    assert Catalog.bundled().get(raw.headers["x-podium-model"]).kind == "chat"
    assert all(not r.path.endswith("/embeddings") for r in upstream.requests)
    pool = ProviderPool(env={"OPENAI_API_KEY": UPSTREAM_KEY}, clock=SYSTEM_CLOCK)
    reachable = reachable_models(Catalog.bundled(), pool)
    assert reachable and SMALL not in reachable and LARGE not in reachable


# -- pure translation -------------------------------------------------------------------------------------------------


def test_wire_translation_and_base64_vectors():
    spec = Catalog.bundled().get(SMALL)
    body = openai_wire.build_embedding_request(embedding_inputs([[1, 2, 3], "hi"]), spec, dimensions=2)
    assert body == {"model": "text-embedding-3-small", "input": [[1, 2, 3], "hi"], "encoding_format": "float",
                    "dimensions": 2}
    wire = {"object": "list", "model": "text-embedding-3-small", "usage": {"prompt_tokens": 4, "total_tokens": 4},
            "data": [{"object": "embedding", "index": 1, "embedding": [0.5, 0.25]},
                     {"object": "embedding", "index": 0, "embedding": [1, 0]}]}
    result = openai_wire.parse_embedding_response(wire, spec, count=2)
    assert result.vectors == ((1.0, 0.0), (0.5, 0.25)) and result.usage.input_tokens == 4
    encoded = embeddings_json(result, "base64")["data"][1]["embedding"]
    assert struct.unpack("<2f", base64.b64decode(encoded)) == (0.5, 0.25)
    with pytest.raises(ValidationError) as bad:
        parse_embeddings_request({"model": SMALL, "input": "hi", "encoding_format": "int8"})
    assert bad.value.field == "encoding_format"
