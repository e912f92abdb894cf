"""Smaller gateway and config promises: an n>1 call reserves every answer, OPENAI_BASE_URL and XDG_CONFIG_HOME are
honoured as the SDKs and the XDG spec say, and chat answers carry ``usage.cost`` for OpenRouter/LiteLLM clients."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from test_api_endpoints import KEY, MINI, gateway, price
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import load_config
from podium.core.types import Usage
from podium.engine import Podium
from podium.testing import FakeUpstream

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


# -- 3. an n>1 call reserves n answers ------------------------------------------------------------------------------


async def test_n_answers_reserve_n_times_the_output_allowance(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="x", usage=Usage(10, 1))
    ask = [{"role": "user", "content": "count to three"}]
    async with gateway(upstream, tmp_path) as gw:
        await gw.openai().chat.completions.create(model=MINI, messages=ask, max_tokens=100)
        await gw.openai().chat.completions.create(model=MINI, messages=ask, max_tokens=100, n=3)
        one, three = [r["reserved_usd"] for r in gw.ledger().rows()]
    spec = Catalog.bundled().get(MINI)
    assert three - one == 200 * spec.output_per_million / Decimal(1_000_000)  # two more answers of 100 tokens


# -- 4. OPENAI_BASE_URL and XDG_CONFIG_HOME -------------------------------------------------------------------------


async def test_openai_base_url_is_honoured_unless_the_file_sets_one(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="via env")
    env = {"OPENAI_BASE_URL": upstream.base_url + "/v1", "OPENAI_API_KEY": KEY}
    loaded = load_config(env=env, cwd=tmp_path, home=tmp_path)
    assert loaded.config.providers["openai"].base_url == upstream.base_url + "/v1"
    assert loaded.sources["providers.openai.base_url"] == "env:OPENAI_BASE_URL"
    async with Podium.from_config(loaded.config, env=env, home=tmp_path, layers=False) as client:
        assert (await client.complete("hi", model=MINI)).text == "via env"

    (tmp_path / "podium.yaml").write_text("providers:\n  openai:\n    base_url: http://127.0.0.1:9/v1\n")
    pinned = load_config(env=env, cwd=tmp_path, home=tmp_path)
    assert pinned.config.providers["openai"].base_url == "http://127.0.0.1:9/v1"
    assert pinned.sources["providers.openai.base_url"] == "file"


def test_xdg_config_home_is_searched_and_listed(tmp_path, monkeypatch):
    xdg = tmp_path / "xdg"
    (xdg / "podium").mkdir(parents=True)
    (xdg / "podium" / "config.yaml").write_text("routing:\n  default_strategy: cascade\n")
    work = tmp_path / "work"
    work.mkdir()
    env = {"XDG_CONFIG_HOME": str(xdg)}
    loaded = load_config(env=env, cwd=work, home=tmp_path / "home")
    assert loaded.path == xdg / "podium" / "config.yaml" and loaded.config.routing.default_strategy == "cascade"
    assert load_config(env={"XDG_CONFIG_HOME": "relative/dir"}, cwd=work, home=tmp_path / "home").path is None

    monkeypatch.chdir(work)
    res = runner.invoke(app, ["config", "path"], env={**env, "HOME": str(tmp_path / "home"), "PODIUM_CONFIG": ""})
    assert res.exit_code == 0, res.output
    assert f"* {xdg / 'podium' / 'config.yaml'}" in res.stdout.splitlines()
    assert str(tmp_path / "home" / ".config") not in res.stdout


# -- 5. usage.cost for OpenRouter / LiteLLM clients -----------------------------------------------------------------


async def test_chat_answers_carry_usage_cost_and_the_exact_header(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="hello", usage=Usage(12, 5))
    ask = {"model": MINI, "messages": [{"role": "user", "content": "hi"}]}
    async with gateway(upstream, tmp_path) as gw, httpx.AsyncClient(base_url=gw.base_url, timeout=30) as http:
        whole = await http.post("/v1/chat/completions", json=ask)
        streamed = await http.post("/v1/chat/completions",
                                   json={**ask, "stream": True, "stream_options": {"include_usage": True}})
    expected = price(MINI, Usage(12, 5))
    assert Decimal(whole.headers["x-podium-cost-usd"]) == expected
    assert whole.json()["usage"]["cost"] == float(expected)
    frames = [json.loads(line[6:]) for line in streamed.text.splitlines()
              if line.startswith("data: {")]
    (closing,) = [f for f in frames if f.get("usage")]
    assert closing["usage"]["cost"] == float(expected) and closing["podium"]["cost_usd"] == str(expected)
