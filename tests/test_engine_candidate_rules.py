"""Orchestration knobs that shape routed calls, loaded from real config files and variables, called over loopback.

prefer_free_models, executors/use_cases, PREFER_OPENSOURCE and providers.<p>.enabled (OPENROUTER_ENABLED).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app
from podium.config import load_config
from podium.core.errors import BudgetExceededError, ConfigError, NoCandidateError
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.engine.candidates import is_free
from podium.testing import FakeUpstream, serve

KEY = "sk-test-candidates-0123456789"
CATALOG = Catalog.bundled()
EXPLAIN_WHY = "Explain why the sky is blue, in detail."
SIMPLE = "hello there, thanks!"
COMPLEX = (
    "Analyze and compare, step by step and in detail, why a lock-free concurrent queue can outperform a "
    "mutex-based one, and prove the trade-offs."
)
EXECUTORS = """\
orchestration:
  executors:
    - {model: gpt-4o-mini, provider: openai, api_key_env: OPENAI_API_KEY, use_cases: [simple, speed-critical]}
    - {model: deepseek/deepseek-r1:free, provider: openrouter, api_key_env: OPENROUTER_API_KEY,
       use_cases: [complex, reasoning]}
    - {model: gemini-2.5-pro, provider: google-ai-studio, api_key_env: GOOGLE_API_KEY, use_cases: [moderate]}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        fake.base_url = base_url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture()
def fake(upstream: FakeUpstream) -> FakeUpstream:
    upstream.reset()
    return upstream


def providers_yaml(fake: FakeUpstream) -> str:
    """openai and openrouter both point at the fake, each under its own path prefix so requests tell them apart."""
    base = fake.base_url  # type: ignore[attr-defined]
    return f"providers:\n  openai: {{base_url: '{base}/openai/v1'}}\n  openrouter: {{base_url: '{base}/openrouter/v1'}}\n"


def client(tmp_path: Path, fake: FakeUpstream, yaml_text: str, env: dict[str, str], *, layers: bool = False) -> Podium:
    """Write podium.yaml in a fresh working directory and build the client through the real loader."""
    cwd = tmp_path / "project"
    cwd.mkdir(exist_ok=True)
    (cwd / "podium.yaml").write_text(yaml_text + providers_yaml(fake))
    loaded = load_config(env=env, cwd=cwd, home=tmp_path / "home")
    assert loaded.path == cwd / "podium.yaml"
    return Podium.from_config(loaded.config, env=env, home=tmp_path / "podium-home", layers=layers)


def sent_to(fake: FakeUpstream, provider: str) -> list[str]:
    return [r.model for r in fake.requests if r.path.startswith(f"/{provider}/")]


async def candidate_ids(c: Podium, prompt: str | ChatRequest, strategy: str = "cheapest", **kw) -> set[str]:
    decision = await c.explain(prompt, strategy=strategy, **kw)
    return {cand.id for cand in decision.candidates}


# -- (a) prefer_free_models ---------------------------------------------------------------------------------------


async def test_prefer_free_models_routes_to_a_qualifying_free_model(tmp_path, fake) -> None:
    env = {"OPENROUTER_API_KEY": KEY}
    async with client(tmp_path, fake, "orchestration: {prefer_free_models: false}\n", env) as c:
        paid = await c.route(EXPLAIN_WHY, strategy="auto")
    async with client(tmp_path, fake, "orchestration: {prefer_free_models: true}\n", env) as c:
        free = await c.route(EXPLAIN_WHY, strategy="auto")
        considered = await candidate_ids(c, EXPLAIN_WHY, "auto")
    # auto weighs quality against cost: on its own it pays for a frontier model ...
    assert not is_free(CATALOG.get(paid.completion.model))
    # ... told to prefer free models, it takes a $0 model predicted to reach the quality threshold (0.7)
    spec = CATALOG.get(free.completion.model)
    assert is_free(spec) and spec.id in considered
    assert considered and all(is_free(CATALOG.get(m)) for m in considered)
    assert sent_to(fake, "openrouter") == [CATALOG.get(paid.completion.model).api_model, spec.api_model]
    assert free.total_cost_usd == 0


async def test_prefer_free_models_keeps_paid_models_when_no_free_one_qualifies(tmp_path, fake) -> None:
    env = {"OPENROUTER_API_KEY": KEY}
    # Free models are predicted at most about 0.93 for this prompt: a 0.95 threshold leaves none qualifying.
    strict = "orchestration: {prefer_free_models: true, quality_threshold: 0.95}\n"
    async with client(tmp_path, fake, strict, env) as c:
        result = await c.route(EXPLAIN_WHY, strategy="auto")
        considered = await candidate_ids(c, EXPLAIN_WHY, "auto")
    assert not is_free(CATALOG.get(result.completion.model))
    assert any(is_free(CATALOG.get(m)) for m in considered)  # the free ones stayed candidates, ranked as usual
    # A request needing tools: the free models with tools are predicted below 0.95 and deepseek-r1:free has no
    # tools, so the preference must not pick any of them.
    tools = ChatRequest.from_prompt(
        EXPLAIN_WHY, tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    )
    async with client(tmp_path, fake, strict, env) as c:
        with_tools = await c.route(tools, strategy="auto")
    chosen = CATALOG.get(with_tools.completion.model)
    assert "tools" in chosen.capabilities and not is_free(chosen)


async def test_prefer_free_models_left_at_its_default_changes_nothing(tmp_path, fake) -> None:
    env = {"OPENROUTER_API_KEY": KEY}
    async with client(tmp_path, fake, "orchestration: {enabled: true}\n", env) as c:
        result = await c.route(EXPLAIN_WHY, strategy="auto")
    assert not is_free(CATALOG.get(result.completion.model))


# -- (b) executors and use_cases ------------------------------------------------------------------------------------


async def test_executors_are_the_candidates_and_use_cases_steer_by_task(tmp_path, fake) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY}  # no GOOGLE_API_KEY: the gemini executor is out
    async with client(tmp_path, fake, EXECUTORS, env) as c:
        assert await candidate_ids(c, SIMPLE) == {"openai:gpt-4o-mini"}
        assert await candidate_ids(c, COMPLEX) == {"openrouter:deepseek/deepseek-r1:free"}
        # A known use case (CallMeta.complexity, as workflows pass it) beats task analysis.
        assert await candidate_ids(c, COMPLEX, meta=CallMeta(complexity="simple")) == {"openai:gpt-4o-mini"}
        # No reachable executor handles "moderate": every reachable executor is a candidate.
        assert await candidate_ids(c, SIMPLE, meta=CallMeta(complexity="moderate")) == {
            "openai:gpt-4o-mini", "openrouter:deepseek/deepseek-r1:free"
        }
        simple = await c.route(SIMPLE, strategy="cheapest")
        hard = await c.route(COMPLEX, strategy="cheapest")
    # cheapest would take a $0 model for the simple prompt too; the executor list says gpt-4o-mini does simple work
    assert simple.completion.model == "openai:gpt-4o-mini"
    assert hard.completion.model == "openrouter:deepseek/deepseek-r1:free"
    assert sent_to(fake, "openai") == ["gpt-4o-mini"]
    assert sent_to(fake, "openrouter") == ["deepseek/deepseek-r1:free"]


async def test_executors_apply_to_the_default_strategy_and_step_aside_when_unreachable(tmp_path, fake) -> None:
    async with client(tmp_path, fake, EXECUTORS, {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY}) as c:
        answer = await c.complete(SIMPLE)  # no model, no strategy: the default strategy routes
    assert answer.model == "openai:gpt-4o-mini"
    # Only a key none of the executors uses: no executor is reachable, so every reachable model is a candidate.
    async with client(tmp_path, fake, EXECUTORS, {"ANTHROPIC_API_KEY": KEY}) as c:
        ids = await candidate_ids(c, SIMPLE)
    assert len(ids) > 3 and all(m.startswith("anthropic:") for m in ids)


async def test_executors_are_ignored_when_orchestration_is_disabled_or_explicit_models_are_given(
    tmp_path, fake
) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY}
    async with client(tmp_path, fake, EXECUTORS.replace("orchestration:\n", "orchestration:\n  enabled: false\n"),
                      env) as c:
        ids = await candidate_ids(c, SIMPLE)
    assert {"openai:gpt-4.1", "openrouter:google/gemini-2.5-pro"} <= ids
    async with client(tmp_path, fake, EXECUTORS, env) as c:
        assert await candidate_ids(c, SIMPLE, candidates=["openai:gpt-4.1"]) == {"openai:gpt-4.1"}


async def test_an_executor_naming_an_unknown_model_fails_in_one_line(tmp_path, fake) -> None:
    bad = EXECUTORS.replace("model: gpt-4o-mini,", "model: gpt-4o-mni,")
    async with client(tmp_path, fake, bad, {"OPENAI_API_KEY": KEY}) as c:
        with pytest.raises(ConfigError) as info:
            await c.route(SIMPLE, strategy="cheapest")
    message = str(info.value)
    assert "orchestration.executors[0].model = 'gpt-4o-mni'" in message and "\n" not in message
    assert fake.count() == 0


def test_the_gateway_routes_virtual_models_to_the_executors(tmp_path, fake) -> None:
    from podium.server import create_app
    from podium.telemetry import Telemetry

    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY}
    (tmp_path / "podium.yaml").write_text(EXECUTORS + providers_yaml(fake))
    config = load_config(env=env, cwd=tmp_path, home=tmp_path / "home").config
    app = create_app(config=config, telemetry=Telemetry(config.telemetry), env=env, home=tmp_path / "podium-home")
    with serve(app, lifespan="on") as base_url:
        picked = [
            httpx.post(
                f"{base_url}/v1/chat/completions",
                json={"model": "podium/cheapest", "messages": [{"role": "user", "content": prompt}]},
                timeout=30,
            )
            for prompt in (SIMPLE, COMPLEX)
        ]
    assert [r.status_code for r in picked] == [200, 200]
    assert [r.headers["x-podium-model"] for r in picked] == ["openai:gpt-4o-mini", "openrouter:deepseek/deepseek-r1:free"]


# -- PREFER_OPENSOURCE ------------------------------------------------------------------------------------------------


def test_the_catalog_marks_open_weights_models() -> None:
    open_ids = {s.id for s in CATALOG.all() if s.open_weights}
    for family in ("llama", "mixtral", "qwen", "deepseek", "gemma", "yi-34b", "gpt-oss"):
        assert any(family in i.lower() for i in open_ids), family
    for closed in ("openai:gpt-4o", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-pro",
                   "openrouter:google/gemini-2.0-flash-exp:free", "mistral:mistral-medium-latest"):
        assert closed not in open_ids
    listed = CliRunner().invoke(app, ["models", "--provider", "ollama"], env={"COLUMNS": "220"})
    assert listed.exit_code == 0 and listed.stdout.count("open-weights") == 5


async def test_prefer_opensource_routes_to_a_qualifying_open_weights_model(tmp_path, fake) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY, "PREFER_OPENSOURCE": "true"}
    async with client(tmp_path, fake, "", env) as c:
        result = await c.route(EXPLAIN_WHY, strategy="auto")
        considered = await candidate_ids(c, EXPLAIN_WHY, "auto")
    chosen = CATALOG.get(result.completion.model)
    assert chosen.open_weights and chosen.provider == "openrouter"
    assert considered and all(CATALOG.get(m).open_weights for m in considered)
    async with client(tmp_path, fake, "", {**env, "PREFER_OPENSOURCE": "false"}) as c:
        plain = await candidate_ids(c, EXPLAIN_WHY, "auto")
    assert any(not CATALOG.get(m).open_weights for m in plain)  # without the preference nothing was narrowed


# -- (e) providers.<p>.enabled / OPENROUTER_ENABLED ---------------------------------------------------------------


async def test_a_disabled_provider_is_never_a_candidate_nor_called(tmp_path, fake) -> None:
    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY, "OPENROUTER_ENABLED": "false"}
    text = EXECUTORS + "  prefer_free_models: true\n  fallback_strategy: {models: [openrouter:deepseek/deepseek-r1:free, openai:gpt-4o]}\n"
    async with client(tmp_path, fake, text, env) as c:
        assert await candidate_ids(c, COMPLEX) == {"openai:gpt-4o-mini"}  # the openrouter executor is out
        routed = await c.route(COMPLEX, strategy="cascade")
        fake.fail("gpt-4o-mini", status=500, times=1)
        rescued = await c.complete(SIMPLE, model="openai:gpt-4o-mini")  # falls back past the openrouter model
        with pytest.raises(ConfigError) as info:
            await c.complete(SIMPLE, model="openrouter:deepseek/deepseek-r1:free")
        with pytest.raises(ConfigError, match=r"providers\.openrouter\.enabled"):
            await c.route(SIMPLE, strategy="cheapest", candidates=["openrouter:deepseek/deepseek-chat"])
    assert routed.completion.model == "openai:gpt-4o-mini" and rescued.model == "openai:gpt-4o"
    assert str(info.value) == (
        "provider 'openrouter' is disabled (providers.openrouter.enabled = false); "
        "set it to true to call openrouter:deepseek/deepseek-r1:free"
    )
    assert sent_to(fake, "openrouter") == []
    assert sent_to(fake, "openai") == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o"]


async def test_a_disabled_provider_drops_out_of_the_live_default_list(tmp_path, fake) -> None:
    env = {"OPENROUTER_API_KEY": KEY, "OPENROUTER_ENABLED": "false"}
    async with client(tmp_path, fake, "orchestration: {enabled: false}\n", env) as c:
        with pytest.raises(NoCandidateError, match="no model can be reached"):
            await c.route(SIMPLE, strategy="cheapest")
    assert fake.count() == 0


def test_podium_ask_to_a_disabled_provider_exits_2_in_one_line(tmp_path, fake, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podium.yaml").write_text(providers_yaml(fake))
    env = {"OPENROUTER_API_KEY": KEY, "OPENROUTER_ENABLED": "false"}
    result = CliRunner().invoke(app, ["ask", "--model", "openrouter:deepseek/deepseek-r1:free", "hi"], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "providers.openrouter.enabled = false" in result.stderr
    assert fake.count() == 0


# -- DAILY_BUDGET_USD through the full stack ----------------------------------------------------------------------


async def test_daily_budget_usd_caps_spend_through_the_ledger(tmp_path, fake) -> None:
    env = {"OPENAI_API_KEY": KEY, "DAILY_BUDGET_USD": "0.000001"}
    async with client(tmp_path, fake, "orchestration: {enabled: false}\n", env, layers=True) as c:
        with pytest.raises(BudgetExceededError):
            await c.complete("Write a long essay about tomatoes.", model="openai:gpt-4o")
    assert fake.count() == 0
    rows = sqlite3.connect(tmp_path / "podium-home" / "ledger.db").execute("select status, cost_usd from ledger_calls")
    assert rows.fetchall() == [("refused", "0")]  # the ledger records the refusal; nothing was spent
