"""The one owner of "which models may this call use": replay candidates, a caller's allow-list, policies and
legacy models, through the real client and CLI (replay data, no network)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podium import Podium
from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.core.clock import SYSTEM_CLOCK
from podium.core.errors import NoCandidateError, ReplayMissError
from podium.core.pipeline import CallMeta
from podium.core.types import ChatRequest
from podium.engine.candidates import CandidateList, CandidateResolver, reachable_models
from podium.engine.providers import ProviderPool
from podium.routing.selection import Candidate
from podium.routing.strategies.base import CandidatePool, RoutingDecision, call_in_order

runner = CliRunner()
CODE_PROMPT = "Write a function to filter odd numbers."  # a recorded prompt
GPT4, GPT35 = "openai:gpt-4-1106-preview", "openai:gpt-3.5-turbo-1106"
CATALOG = Catalog.bundled()


def test_replay_drops_candidates_without_a_recorded_answer_and_answers_from_the_next() -> None:
    result = runner.invoke(app, ["ask", CODE_PROMPT, "--replay", "--strategy", "auto", "--json",
                                 "--models", f"openai:gpt-5,{GPT4}"], env={})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["model"] == GPT4 and data["text"]
    assert [t["model"] for t in data["routing"]["tried"]] == [GPT4]


def test_replay_with_no_recorded_candidate_fails_in_one_line() -> None:
    result = runner.invoke(app, ["ask", "A prompt nobody recorded.", "--replay", "--strategy", "cheapest"], env={})
    assert result.exit_code == 1
    assert "no recorded answer" in result.stderr and result.stderr.count("\n") == 1


async def test_a_strategy_moves_past_a_replay_miss() -> None:
    calls: list[str] = []

    async def caller(model: str, request: ChatRequest, meta: CallMeta):  # type: ignore[no-untyped-def]
        calls.append(model)
        if model == "openai:gpt-5":
            raise ReplayMissError(model, request.last_user_text)
        from podium.core.types import Completion

        return Completion(text="ok", model=model, provider="openai")

    order = [Candidate(CATALOG.get("openai:gpt-5")), Candidate(CATALOG.get(GPT4))]
    decision = RoutingDecision("cheapest")
    answer = await call_in_order(order, ChatRequest.from_prompt("hi"), caller=caller, meta=CallMeta(),
                                 decision=decision)
    assert answer.model == GPT4 and calls == ["openai:gpt-5", GPT4]
    assert [(s.model, s.outcome) for s in decision.steps] == [("openai:gpt-5", "failed"), (GPT4, "answered")]


def _resolver(env: dict[str, str], home: Path, config: PodiumConfig | None = None, *, replay: bool = False):
    config = config or PodiumConfig()
    pool = ProviderPool(config.providers, env=env, replay=replay, clock=SYSTEM_CLOCK)
    return CandidateResolver(CATALOG, pool, config.routing, router=lambda: None)


def _ids(found: Sequence[str] | None) -> list[str]:
    assert found is not None
    return list(found)


def test_live_candidates_are_current_models_and_legacy_ones_only_when_named(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-test-0123456789"}
    found = _ids(_resolver(env, tmp_path).resolve(ChatRequest.from_prompt("hi"), CallMeta()))
    assert "openai:gpt-5-nano" in found and GPT4 not in found and "openai:gpt-4o" not in found
    assert all(CATALOG.get(m).current for m in found)
    named = PodiumConfig.from_mapping({"routing": {"task_table": {"legacy": {"primary": "openai:gpt-4o"}}}})
    found = _ids(_resolver(env, tmp_path, named).resolve(ChatRequest.from_prompt("hi"), CallMeta()))
    assert "openai:gpt-4o" in found and GPT4 not in found


def test_a_callers_allow_list_narrows_the_candidates_and_says_so(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-test-0123456789"}
    allowed = frozenset({"openai:gpt-4.1-mini", "openai:gpt-5"}).__contains__
    found = _resolver(env, tmp_path).resolve(ChatRequest.from_prompt("hi"), CallMeta(model_allowed=allowed))
    assert isinstance(found, CandidateList) and sorted(found) == ["openai:gpt-4.1-mini", "openai:gpt-5"]
    assert "candidates narrowed to the caller's allowed models" in found.narrowed_by
    nothing = frozenset({"anthropic:claude-haiku-4-5"}).__contains__
    with pytest.raises(NoCandidateError, match="no candidate model is allowed for this caller"):
        _resolver(env, tmp_path).resolve(ChatRequest.from_prompt("hi"), CallMeta(model_allowed=nothing))


def test_replay_candidates_are_the_recorded_models_that_answered_this_prompt(tmp_path: Path) -> None:
    found = _ids(_resolver({}, tmp_path, replay=True).resolve(ChatRequest.from_prompt(CODE_PROMPT), CallMeta()))
    assert GPT4 in found and GPT35 in found and len(found) == 11
    gsm8k = "Janet's ducks lay 16 eggs per day."  # not recorded: every candidate is dropped
    with pytest.raises(ReplayMissError):
        _resolver({}, tmp_path, replay=True).resolve(ChatRequest.from_prompt(gsm8k), CallMeta())


def test_reachable_models_needs_a_key(tmp_path: Path) -> None:
    pool = ProviderPool(PodiumConfig().providers, env={}, clock=SYSTEM_CLOCK)
    with pytest.raises(NoCandidateError, match="OPENAI_API_KEY"):
        reachable_models(CATALOG, pool)


def test_the_client_routes_through_the_resolver(tmp_path: Path) -> None:
    client = Podium.from_config(PodiumConfig(), env={"OPENAI_API_KEY": "sk-test-0123456789"}, home=tmp_path,
                                layers=False)
    strategy = client._strategy("cheapest", None, ChatRequest.from_prompt("What is the capital of France?"),
                                CallMeta())
    assert isinstance(strategy.pool, CandidatePool)
    assert strategy.pool.models is not None and all(CATALOG.get(m).current for m in strategy.pool.models)


def _trial_resolver(draws: list[float], config: PodiumConfig) -> CandidateResolver:
    pool = ProviderPool(config.providers, env={"OPENAI_API_KEY": "sk-test-0123456789"}, clock=SYSTEM_CLOCK)
    return CandidateResolver(CATALOG, pool, config.routing, router=lambda: None, random=iter(draws).__next__)


def test_a_trial_model_gets_its_share_of_routed_calls_and_says_so() -> None:
    config = PodiumConfig.from_mapping({"routing": {"trial_models": ["openai:gpt-4.1-mini"], "trial_share": 0.2}})
    request = ChatRequest.from_prompt("What is the capital of France?")
    drawn = _trial_resolver([0.1, 0.0], config).resolve(request, CallMeta(), trial=True)
    assert isinstance(drawn, CandidateList) and list(drawn) == ["openai:gpt-4.1-mini"]
    assert any("trial share 20%" in r and "openai:gpt-4.1-mini" in r for r in drawn.narrowed_by)
    missed = _trial_resolver([0.5], config).resolve(request, CallMeta(), trial=True)
    assert missed is not None and len(missed) > 1
    explained = _trial_resolver([], config).resolve(request, CallMeta())  # an explanation draws nothing
    assert explained is not None and len(explained) > 1


def test_a_trial_model_outside_the_candidates_is_never_forced_in() -> None:
    config = PodiumConfig.from_mapping({"routing": {"trial_models": ["anthropic:claude-haiku-4-5"],
                                                    "trial_share": 0.5}})
    found = _trial_resolver([0.0, 0.0], config).resolve(ChatRequest.from_prompt("hi"), CallMeta(), trial=True)
    assert found is not None and "anthropic:claude-haiku-4-5" not in found  # no Anthropic key: not a candidate


def test_trial_share_is_bounded() -> None:
    from podium.core.errors import ConfigError

    with pytest.raises((ConfigError, ValueError), match="trial_share"):
        PodiumConfig.from_mapping({"routing": {"trial_share": 0.9}})
