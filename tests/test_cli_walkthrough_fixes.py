"""What a first-time user met in `podium ask`, `serve` and `testgen`, end to end through the real CLI.

Help texts that tell the truth about --replay and list every strategy; the table strategy staying among the
candidate models (replay's recorded models, or the reachable ones); --model with --strategy; a note when another
model answered for the one asked; --explain naming why the candidate list was narrowed; testgen's advice when no
model can be reached and its dry-run executor line. Live calls go to the fake upstream on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.pipeline import CallMeta
from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

runner = CliRunner()
KEY = "test-key-0123456789"
CODE_PROMPT = "Write a function to filter odd numbers."  # a recorded prompt
MINI, HAIKU = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"
WIDE = {"COLUMNS": "400"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def write_config(path: Path, base: str, extra: str = "") -> None:
    """podium.yaml with openai, anthropic and openrouter at the fake, no retries, plus ``extra`` sections."""
    path.write_text(
        f"providers:\n  openai: {{base_url: '{base}/v1'}}\n  anthropic: {{base_url: '{base}'}}\n"
        f"  openrouter: {{base_url: '{base}/v1'}}\nresilience:\n  retry: {{max_attempts: 1}}\n" + extra
    )


@pytest.fixture()
def fake(upstream: tuple[FakeUpstream, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeUpstream:
    fake, base = upstream
    fake.reset()
    fake.base_url = base  # type: ignore[attr-defined]
    monkeypatch.chdir(tmp_path)
    return fake


# -- help texts and strategy names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["ask", "serve"])
def test_replay_help_says_answers_are_charged_not_free(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env=WIDE)
    assert result.exit_code == 0
    replay = next(line for line in result.stdout.splitlines() if "--replay" in line)
    assert "$0" not in result.stdout
    assert "Each answer is charged its recorded cost to the ledger and budgets." in " ".join(replay.split())


def test_ask_help_lists_every_accepted_strategy_name() -> None:
    result = runner.invoke(app, ["ask", "--help"], env=WIDE)
    line = " ".join(next(x for x in result.stdout.splitlines() if "--strategy" in x).split())
    assert "cheapest, cascade, fallback (same as cascade), ensemble, auto, table." in line


def test_fallback_strategy_runs_as_the_cascade() -> None:
    result = runner.invoke(app, ["ask", CODE_PROMPT, "--strategy", "fallback", "--replay", "--json"], env={})
    assert result.exit_code == 0, result.output
    routing = json.loads(result.stdout)["routing"]
    assert routing["strategy"] == "cascade" and routing["calls"] >= 1


# -- table stays among the candidates --------------------------------------------------------------------------------


def test_table_in_replay_chooses_among_the_recorded_models_and_says_so() -> None:
    result = runner.invoke(app, ["ask", CODE_PROMPT, "--strategy", "table", "--replay", "--json", "--explain"],
                           env=WIDE)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # The code row names anthropic:claude-sonnet-4-5 and openai:gpt-4.1, neither of which has recorded answers.
    assert data["model"] == "openai:gpt-4-1106-preview" and data["text"]
    assert [t["model"] for t in data["routing"]["tried"]] == ["openai:gpt-4-1106-preview"]
    explained = " ".join(result.stderr.split())
    assert (
        "task type 'code' (premium): the row's models (anthropic:claude-sonnet-4-5, openai:gpt-4.1) are not among "
        "the candidate models, so choosing among the candidates, best predicted quality first: "
        "openai:gpt-4-1106-preview (predicted quality"
    ) in explained


def test_table_skips_row_models_that_cannot_be_reached(fake: FakeUpstream, tmp_path: Path) -> None:
    row = f"routing:\n  task_table:\n    problem_generation: {{primary: {HAIKU}, fallback: {MINI}}}\n"
    write_config(tmp_path / "podium.yaml", fake.base_url, "orchestration: {enabled: false}\n" + row)  # type: ignore[attr-defined]
    fake.script("gpt-4o-mini", "A problem.", usage=Usage(10, 3))
    args = ["ask", "hi", "--strategy", "table", "--task-type", "problem_generation", "--json", "--explain"]
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": KEY, **WIDE})  # no ANTHROPIC_API_KEY
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["model"] == MINI
    assert fake.count("claude-haiku-4-5") == 0 and fake.count("gpt-4o-mini") == 1
    explained = " ".join(result.stderr.split())
    assert f"skipped {HAIKU}: not among the candidate models" in explained


# -- a fallback answered for the model asked for -------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["plain", "json"])
def test_ask_notes_when_another_model_answered(fake: FakeUpstream, tmp_path: Path, as_json: bool) -> None:
    write_config(tmp_path / "podium.yaml", fake.base_url,  # type: ignore[attr-defined]
                 f"orchestration:\n  fallback_strategy: {{models: [{HAIKU}]}}\n")
    fake.fail("gpt-4o-mini", status=500, times=None)
    fake.script(Catalog.bundled().get(HAIKU).api_model, "Paris.", usage=Usage(10, 2))
    args = ["ask", "Capital of France?", "--model", MINI] + (["--json"] if as_json else [])
    result = runner.invoke(app, args, env={"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"note: {MINI} failed (ServerError); answered by {HAIKU}"
    if as_json:
        data = json.loads(result.stdout)
        assert data["model"] == HAIKU and data["fallback"] == {
            "requested": MINI, "failed": [{"model": MINI, "error": "ServerError"}], "answered_by": HAIKU,
        }
    else:
        assert result.stdout == "Paris.\n"


def test_ask_adds_nothing_when_the_model_asked_for_answered(fake: FakeUpstream, tmp_path: Path) -> None:
    write_config(tmp_path / "podium.yaml", fake.base_url)  # type: ignore[attr-defined]
    fake.script("gpt-4o-mini", "Paris.", usage=Usage(10, 2))
    result = runner.invoke(app, ["ask", "Capital of France?", "--model", MINI, "--json"], env={"OPENAI_API_KEY": KEY})
    assert result.exit_code == 0 and "fallback" not in json.loads(result.stdout)
    assert "note:" not in result.stderr


# -- --explain says why the candidates were narrowed -----------------------------------------------------------------

EXECUTORS = """\
orchestration:
  executors:
    - {model: gpt-4o-mini, provider: openai, api_key_env: OPENAI_API_KEY, use_cases: [simple]}
    - {model: claude-haiku-4-5, provider: anthropic, api_key_env: ANTHROPIC_API_KEY, use_cases: [complex]}
"""


async def test_explain_names_the_executor_narrowing(fake: FakeUpstream, tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
    config = PodiumConfig.from_mapping({
        "orchestration": {"executors": [
            {"model": "gpt-4o-mini", "provider": "openai", "api_key_env": "OPENAI_API_KEY", "use_cases": ["simple"]},
            {"model": "claude-haiku-4-5", "provider": "anthropic", "api_key_env": "ANTHROPIC_API_KEY",
             "use_cases": ["complex"]},
        ]},
    })
    async with Podium.from_config(config, env=env, home=tmp_path, layers=False) as client:
        simple = await client.explain("hello there", strategy="cheapest", meta=CallMeta(complexity="simple"))
        moderate = await client.explain("hello there", strategy="cascade", meta=CallMeta(complexity="moderate"))
    assert simple.explanation[0] == (
        f"candidates narrowed to the reachable executors for simple tasks (orchestration.executors): {MINI}"
    )
    assert moderate.explanation[0] == (
        "candidates narrowed to every reachable executor (none lists moderate tasks) (orchestration.executors): "
        f"{MINI}, {HAIKU}"
    )


FREE_R1, FREE_V3 = "openrouter:deepseek/deepseek-r1:free", "openrouter:deepseek/deepseek-chat-v3-0324:free"


def test_cli_explain_names_the_free_model_preference(fake: FakeUpstream, tmp_path: Path) -> None:
    write_config(tmp_path / "podium.yaml", fake.base_url, "orchestration: {prefer_free_models: true}\n"  # type: ignore[attr-defined]
                 f"routing:\n  candidates: [{MINI}, {FREE_R1}, {FREE_V3}, ollama:llama3.2]\n")
    fake.script("*", "ok", usage=Usage(5, 1))
    env = {"OPENAI_API_KEY": KEY, "OPENROUTER_API_KEY": KEY, **WIDE}
    result = runner.invoke(app, ["ask", "Explain why the sky is blue.", "--strategy", "cheapest", "--explain"], env=env)
    assert result.exit_code == 0, result.output
    explained = " ".join(result.stderr.split())
    assert (
        "candidates narrowed to $0 models predicted to reach quality 0.70 (orchestration.prefer_free_models): "
        f"{FREE_R1}, {FREE_V3}"
    ) in explained
    assert fake.count("gpt-4o-mini") == 0


async def test_explain_says_when_a_preference_narrowed_nothing(tmp_path: Path) -> None:
    config = PodiumConfig.from_mapping({
        "orchestration": {"prefer_free_models": True},
        "routing": {"candidates": [MINI, "ollama:llama3.2"]},
    })
    async with Podium.from_config(config, env={"OPENAI_API_KEY": KEY}, home=tmp_path, layers=False) as client:
        # A small local model is not predicted to write a good proof.
        decision = await client.explain("Prove that the square root of 2 is irrational.", strategy="cheapest")
    assert decision.explanation[0] == (
        "orchestration.prefer_free_models is on, but no $0 model is predicted to reach quality 0.70 for this "
        "request, so it narrowed nothing"
    )


# -- testgen: advice that fits testgen, and a readable dry-run executor line ------------------------------------------

GROQ_REASON = "the configured executor groq:llama-3.3-70b-versatile needs GROQ_API_KEY, which is not set"


@pytest.fixture()
def calc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    return source


def test_testgen_without_a_reachable_model_suggests_what_testgen_accepts(calc: Path) -> None:
    result = runner.invoke(app, ["testgen", "calc.py", "--no-plan"], env={})
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"error: no model can be reached to write the tests ({GROQ_REASON}, and no provider key is set): set one "
        "such as OPENAI_API_KEY or ANTHROPIC_API_KEY (or in a .env file), or pass --executor with a local "
        "server's model such as ollama:llama3.2"
    )
    assert "--replay" not in result.output and not (calc.parent / "calc_test.py").exists()


def test_testgen_dry_run_names_the_executor_plainly(calc: Path) -> None:
    result = runner.invoke(app, ["testgen", "calc.py", "--dry-run"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"Executor: chosen at run time by strategy cheapest ({GROQ_REASON})" in result.stdout.splitlines()


async def test_a_policy_filter_keeps_the_executor_narrowing_in_explain(fake: FakeUpstream, tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY}
    config = PodiumConfig.from_mapping({
        "orchestration": {"executors": [
            {"model": "gpt-4o-mini", "provider": "openai", "api_key_env": "OPENAI_API_KEY", "use_cases": ["simple"]},
            {"model": "claude-haiku-4-5", "provider": "anthropic", "api_key_env": "ANTHROPIC_API_KEY",
             "use_cases": ["simple"]},
        ]},
        "policy": {"global": [{"name": "no_anthropic", "denied_providers": ["anthropic"]}]},
    })
    async with Podium.from_config(config, env=env, home=tmp_path, layers=False) as client:
        decision = await client.explain("hello there", strategy="cheapest", meta=CallMeta(complexity="simple"))
    assert decision.explanation[0] == (
        f"candidates narrowed to the reachable executors for simple tasks (orchestration.executors): {MINI}, {HAIKU}"
    )
    assert MINI in decision.explanation[1] and HAIKU not in decision.explanation[1]  # the policy still removed it
