"""Every client's API over real HTTP: the official anthropic and openai SDKs against the gateway on loopback, the fake
upstream behind it speaking each provider's wire format."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from test_server_gateway import _uvicorn

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.types import Usage
from podium.ledger import LedgerReader
from podium.providers.tool_calls import tool_call
from podium.server import create_app
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream

KEY = "sk-upstream-api-tests-0123456789"
MINI, HAIKU, FLASH = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5", "gemini:gemini-2.5-flash"
WEATHER_TOOL = {"name": "get_weather", "description": "Weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(autouse=True)
def _fresh(upstream: FakeUpstream) -> None:
    upstream.reset()


@dataclass
class Gateway:
    base_url: str
    config: PodiumConfig
    home: Path

    def anthropic(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.base_url, api_key="none", max_retries=0)

    def openai(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url + "/v1", api_key="none", max_retries=0)

    def ledger(self) -> LedgerReader:
        return LedgerReader(self.config.ledger.database_url(self.home))


@contextlib.asynccontextmanager
async def gateway(upstream: FakeUpstream, home: Path) -> AsyncIterator[Gateway]:
    providers = {"openai": {"base_url": upstream.base_url + "/v1"}, "anthropic": {"base_url": upstream.base_url},
                 "gemini": {"base_url": upstream.base_url}}
    cfg = PodiumConfig.from_mapping({"providers": providers, "orchestration": {"enabled": False}})
    env = {"OPENAI_API_KEY": KEY, "ANTHROPIC_API_KEY": KEY, "GOOGLE_API_KEY": KEY}
    app = create_app(None, ServerSettings(), config=cfg, telemetry=Telemetry(cfg.telemetry), env=env, home=home)
    async with _uvicorn(app) as base_url:
        yield Gateway(base_url, cfg, home)


def price(model: str, usage: Usage) -> Decimal:
    cost = Catalog.bundled().get(model).cost(usage)
    assert cost is not None
    return cost


# -- /v1/messages: the anthropic SDK -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MINI, HAIKU, FLASH])
async def test_anthropic_sdk_messages_over_every_provider(upstream, tmp_path, model):
    spec = Catalog.bundled().get(model)
    upstream.script(spec.api_model, text="Paris.", usage=Usage(input_tokens=30, output_tokens=3))
    async with gateway(upstream, tmp_path) as gw:
        raw = await gw.anthropic().messages.with_raw_response.create(
            model=model, max_tokens=100, system="Be brief.",
            messages=[{"role": "user", "content": "Capital of France?"}],
        )
    message = await raw.parse()
    assert message.content[0].text == "Paris." and message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (30, 3)
    assert Decimal(raw.headers["x-podium-cost-usd"]) == price(model, Usage(30, 3))
    assert upstream.last.provider == spec.provider


async def test_anthropic_sdk_streaming_example(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="Once upon a time, a gateway.", usage=Usage(input_tokens=12, output_tokens=8))
    async with gateway(upstream, tmp_path) as gw, gw.anthropic().messages.stream(
        model=MINI, max_tokens=200, messages=[{"role": "user", "content": "Tell me a story"}],
    ) as stream:
        text = "".join([t async for t in stream.text_stream])
        final = await stream.get_final_message()
    assert text == "Once upon a time, a gateway."
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 8
    assert upstream.last.stream is True


@pytest.mark.parametrize("streaming", [False, True])
async def test_anthropic_sdk_tool_use_example(upstream, tmp_path, streaming):
    call = tool_call("call_1", "get_weather", {"city": "Paris"})
    upstream.script("gpt-4o-mini", tool_calls=[call], finish_reason="tool_calls", times=1)
    upstream.script("gpt-4o-mini", text="It is sunny in Paris.")
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    async with gateway(upstream, tmp_path) as gw:
        client = gw.anthropic()
        if streaming:
            async with client.messages.stream(model=MINI, max_tokens=200, tools=[WEATHER_TOOL], messages=ask) as s:
                first = await s.get_final_message()
        else:
            first = await client.messages.create(model=MINI, max_tokens=200, tools=[WEATHER_TOOL], messages=ask)
        use = next(b for b in first.content if b.type == "tool_use")
        assert first.stop_reason == "tool_use" and (use.name, use.input, use.id) == ("get_weather", {"city": "Paris"},
                                                                                     "call_1")
        second = await client.messages.create(model=MINI, max_tokens=200, tools=[WEATHER_TOOL], messages=[
            *ask, {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]},
        ])
    assert second.content[0].text == "It is sunny in Paris."
    sent = upstream.last.json
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert sent["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}


async def test_messages_through_a_virtual_model_and_errors_in_anthropic_shape(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw:
        raw = await gw.anthropic().messages.with_raw_response.create(
            model="podium/cheapest", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
        assert (await raw.parse()).content[0].text and "x-podium-cost-usd" in raw.headers
        with pytest.raises(anthropic.BadRequestError) as info:
            await gw.anthropic().messages.create(model=MINI, max_tokens=50, extra_body={"top_k": 5},
                                                 messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert info.value.body["error"]["message"].startswith("top_k:")


# -- /v1/responses: the openai SDK -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [MINI, HAIKU, FLASH])
async def test_openai_sdk_responses_text_over_every_provider(upstream, tmp_path, model):
    spec = Catalog.bundled().get(model)
    upstream.script(spec.api_model, text="Paris.", usage=Usage(input_tokens=20, output_tokens=2))
    async with gateway(upstream, tmp_path) as gw:
        raw = await gw.openai().responses.with_raw_response.create(
            model=model, instructions="Be brief.", input="Capital of France?")
    response = raw.parse()
    assert response.output_text == "Paris." and response.status == "completed" and response.store is False
    assert (response.usage.input_tokens, response.usage.output_tokens) == (20, 2)
    assert Decimal(raw.headers["x-podium-cost-usd"]) == price(model, Usage(20, 2))


async def test_openai_sdk_responses_streaming_example(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="Streaming works fine.", usage=Usage(input_tokens=9, output_tokens=4))
    async with gateway(upstream, tmp_path) as gw:
        stream = await gw.openai().responses.create(model=MINI, input="Say something", stream=True)
        events = [e async for e in stream]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Streaming works fine."
    assert [e.sequence_number for e in events] == list(range(len(events)))
    done = events[-1]
    assert done.type == "response.completed" and done.response.output_text == deltas
    assert done.response.usage.output_tokens == 4


@pytest.mark.parametrize("streaming", [False, True])
async def test_openai_sdk_responses_tool_calling_example(upstream, tmp_path, streaming):
    upstream.script("gpt-4o-mini", tool_calls=[tool_call("call_9", "get_weather", {"city": "Oslo"})],
                    finish_reason="tool_calls", times=1)
    upstream.script("gpt-4o-mini", text="Cold in Oslo.")
    tools = [{"type": "function", "name": "get_weather", "description": "Weather",
              "parameters": WEATHER_TOOL["input_schema"]}]
    async with gateway(upstream, tmp_path) as gw:
        client = gw.openai()
        if streaming:
            async with client.responses.stream(model=MINI, input="Weather in Oslo?", tools=tools) as s:
                first = await s.get_final_response()
        else:
            first = await client.responses.create(model=MINI, input="Weather in Oslo?", tools=tools)
        call = next(o for o in first.output if o.type == "function_call")
        assert (call.name, json.loads(call.arguments), call.call_id) == ("get_weather", {"city": "Oslo"}, "call_9")
        second = await client.responses.create(model=MINI, tools=tools, input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "-5C"},
        ])
    assert second.output_text == "Cold in Oslo."
    sent = upstream.last.json["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_9" and sent[2]["role"] == "tool"


async def test_responses_structured_output_and_the_stateful_api_refused(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text='{"city": "Paris"}')
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    async with gateway(upstream, tmp_path) as gw:
        client = gw.openai()
        response = await client.responses.create(model=MINI, input="Capital of France as JSON", text={
            "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}})
        assert json.loads(response.output_text) == {"city": "Paris"}
        assert upstream.last.json["response_format"]["json_schema"]["schema"] == schema
        with pytest.raises(openai.BadRequestError) as info:
            await client.responses.create(model=MINI, input="more", previous_response_id="resp_1")
        with pytest.raises(openai.NotFoundError):
            await client.responses.retrieve("resp_1")
    assert info.value.body["param"] == "previous_response_id"


async def test_legacy_completions(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text=" world", usage=Usage(input_tokens=2, output_tokens=1))
    async with gateway(upstream, tmp_path) as gw:
        done = await gw.openai().completions.create(model=MINI, prompt="hello", max_tokens=5)
    assert done.choices[0].text == " world" and done.usage.completion_tokens == 1


# -- every Chat Completions field passes through, is translated, or is refused -----------------------------------


async def test_chat_options_reach_openai_and_logprobs_come_back(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="Hi there", logprobs=[-0.1, -0.2])
    options = {"reasoning_effort": "low", "parallel_tool_calls": False, "presence_penalty": 0.5,
               "frequency_penalty": 0.25, "logit_bias": {"50256": -100}, "service_tier": "default", "store": False,
               "prediction": {"type": "content", "content": "Hi"}}
    async with gateway(upstream, tmp_path) as gw:
        done = await gw.openai().chat.completions.create(
            model=MINI, messages=[{"role": "user", "content": "hi"}], logprobs=True, top_logprobs=1,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}], **options)
    sent = upstream.last.json
    assert {k: sent[k] for k in options} == options
    assert (sent["logprobs"], sent["top_logprobs"]) == (True, 1)
    assert [t.logprob for t in done.choices[0].logprobs.content] == [-0.1, -0.2]


async def test_n_answers_come_back_and_are_billed_exactly(upstream, tmp_path):
    upstream.script("gpt-4o-mini", text="one", usage=Usage(input_tokens=10, output_tokens=2), times=1)
    upstream.script("gpt-4o-mini", text="two", usage=Usage(input_tokens=10, output_tokens=3), times=1)
    async with gateway(upstream, tmp_path) as gw:
        raw = await gw.openai().chat.completions.with_raw_response.create(
            model=MINI, messages=[{"role": "user", "content": "count"}], n=2)
    done = raw.parse()
    assert [c.message.content for c in done.choices] == ["one", "two"]
    assert upstream.last.json["n"] == 2
    usage = Usage(input_tokens=done.usage.prompt_tokens, output_tokens=done.usage.completion_tokens)
    assert Decimal(raw.headers["x-podium-cost-usd"]) == price(MINI, usage)


async def test_anthropic_and_gemini_translate_what_has_a_counterpart(upstream, tmp_path):
    ask = [{"role": "user", "content": "hi"}]
    async with gateway(upstream, tmp_path) as gw:
        client = gw.openai()
        await client.chat.completions.create(model=HAIKU, messages=ask, max_tokens=5000, reasoning_effort="medium",
                                             service_tier="default")
        sent = upstream.last.json
        assert sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}
        assert sent["service_tier"] == "standard_only"
        await client.chat.completions.create(model=FLASH, messages=ask, presence_penalty=0.5, reasoning_effort="high")
        config = upstream.last.json["generationConfig"]
        assert (config["presencePenalty"], config["thinkingConfig"]) == (0.5, {"thinkingBudget": 24576})


@pytest.mark.parametrize("model,field,value", [
    (HAIKU, "logit_bias", {"50256": -100}), (HAIKU, "seed", 7), (HAIKU, "n", 2), (HAIKU, "logprobs", True),
    (FLASH, "prediction", {"type": "content", "content": "x"}), (FLASH, "n", 2),
    ("podium/auto", "n", 3), (MINI, "functions", [{"name": "f"}]), (MINI, "bogus_field", 1),
])
async def test_a_field_a_provider_cannot_honour_is_a_400_naming_it(upstream, tmp_path, model, field, value):
    async with gateway(upstream, tmp_path) as gw, httpx.AsyncClient() as http:
        reply = await http.post(gw.base_url + "/v1/chat/completions", timeout=30,
                                json={"model": model, "messages": [{"role": "user", "content": "hi"}], field: value})
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"] == field and field in reply.json()["error"]["message"]
    assert upstream.count() == 0


async def test_unknown_routes_answer_openai_shaped_json(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw, httpx.AsyncClient() as http:
        reply = await http.get(gw.base_url + "/v1/nothing-here")
        wrong_method = await http.get(gw.base_url + "/v1/chat/completions")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "unknown_route"
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["type"] == "invalid_request_error"


# -- who and what: the request's user and tags -------------------------------------------------------------------


async def test_the_requests_user_reaches_the_ledger_row(upstream, tmp_path):
    async with gateway(upstream, tmp_path) as gw:
        raw = await gw.openai().chat.completions.with_raw_response.create(
            model=MINI, messages=[{"role": "user", "content": "hi"}], user="alice",
            metadata={"feature": "search"})
        row = gw.ledger().row(raw.headers["x-podium-request-id"])
    assert row["user_id"] == "alice"
    assert upstream.last.json["user"] == "alice"


async def test_complete_takes_temperature_tools_and_response_format(upstream, tmp_path):
    from podium import Podium

    cfg = PodiumConfig.from_mapping({"providers": {"openai": {"base_url": upstream.base_url + "/v1"}},
                                     "orchestration": {"enabled": False}})
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    async with Podium.from_config(cfg, env={"OPENAI_API_KEY": KEY}, home=tmp_path, layers=False) as client:
        await client.complete("hi", model=MINI, temperature=0.2, tools=tools, response_format={"type": "json_object"})
    sent = upstream.last.json
    assert (sent["temperature"], sent["tools"], sent["response_format"]) == (0.2, tools, {"type": "json_object"})


def test_the_public_api_exports_results_catalog_and_errors():
    import podium

    for name in ("RoutedResult", "RoutingDecision", "Catalog", "BadRequestError", "UpstreamTimeoutError",
                 "CircuitOpenError", "UnknownPriceError", "PolicyViolationError", "NoCandidateError"):
        assert getattr(podium, name).__name__ == name
