"""OpenAI wire translation, no HTTP: request -> JSON body, JSON -> Completion, SSE events -> chunks."""

from __future__ import annotations

import pytest

from podium.core.errors import MalformedResponseError, RateLimitError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, ImagePart, Message, TextPart, Usage
from podium.providers import openai_wire
from podium.providers.sse import parse_sse_text

GPT = ModelSpec(id="openai:gpt-4o-mini", provider="openai", api_model="gpt-4o-mini")
GROQ = ModelSpec(id="groq:llama-3.3-70b", provider="groq", api_model="llama-3.3-70b-versatile")
TOOLS = ({"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}},)


def test_build_request_maps_every_field() -> None:
    req = ChatRequest(
        messages=(Message.system("be brief"), Message.user("hi")),
        temperature=0.2, top_p=0.9, max_tokens=50, stop=("END",), seed=7, user="u1",
        response_format={"type": "json_object"}, tools=TOOLS, tool_choice="auto", extra={"logprobs": True},
    )
    body = openai_wire.build_request(req, GPT, stream=False)
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "temperature": 0.2, "top_p": 0.9, "stop": ["END"], "seed": 7, "user": "u1",
        "response_format": {"type": "json_object"}, "tools": list(TOOLS), "tool_choice": "auto",
        "max_completion_tokens": 50, "logprobs": True,
    }


def test_compatible_servers_get_max_tokens_and_streaming_asks_for_usage() -> None:
    body = openai_wire.build_request(ChatRequest.from_prompt("hi", max_tokens=9), GROQ, stream=True)
    assert body["max_tokens"] == 9 and "max_completion_tokens" not in body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "temperature" not in body


def test_images_tool_calls_and_tool_results() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    req = ChatRequest(messages=(
        Message("user", (TextPart("what is this"), ImagePart("https://x/cat.png"))),
        Message("assistant", "", tool_calls=(call,)),
        Message("tool", "sunny", tool_call_id="c1"),
    ))
    msgs = openai_wire.build_request(req, GPT, stream=False)["messages"]
    assert msgs[0]["content"] == [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png"}},
    ]
    assert msgs[1] == {"role": "assistant", "content": None, "tool_calls": [call]}
    assert msgs[2] == {"role": "tool", "content": "sunny", "tool_call_id": "c1"}


def test_parse_response_maps_usage_with_cached_and_reasoning_tokens() -> None:
    body = {
        "id": "chatcmpl-1", "model": "gpt-4o-mini-2024",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "length"}],
        "usage": {
            "prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
            "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 30},
        },
    }
    c = openai_wire.parse_response(body, GPT)
    assert (c.text, c.model, c.provider, c.finish_reason, c.request_id) == ("Hi!", "openai:gpt-4o-mini", "openai", "length", "chatcmpl-1")
    assert c.usage == Usage(input_tokens=100, output_tokens=40, cached_input_tokens=64, reasoning_tokens=30)
    assert c.cost_usd is None


def test_parse_response_with_tool_calls_and_null_details() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}
    body = {
        "choices": [{"message": {"content": None, "tool_calls": [call]}, "finish_reason": "function_call"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "prompt_tokens_details": None},
    }
    c = openai_wire.parse_response(body, GPT)
    assert c.text == "" and c.tool_calls == (call,) and c.finish_reason == "tool_calls"
    assert c.usage == Usage(5, 2)


def test_parse_response_without_choices_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="choices"):
        openai_wire.parse_response({"object": "chat.completion"}, GPT)


STREAM = (
    'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
    'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    ": keep-alive comment\n\n"
    'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}\n\n'
    'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,'
    '"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":1}}}\n\n'
    "data: [DONE]\n\n"
)


def test_stream_parser_assembles_text_and_reads_the_final_usage_chunk() -> None:
    parser = openai_wire.OpenAIStreamParser(GPT)
    chunks = [c for e in parse_sse_text(STREAM) for c in parser.feed(e)]
    assert "".join(c.delta for c in chunks) == "Hello"
    last = parser.finish()
    assert last.finish_reason == "stop"
    assert last.usage == Usage(input_tokens=7, output_tokens=2, cached_input_tokens=3, reasoning_tokens=1)


def test_stream_without_done_is_cut() -> None:
    parser = openai_wire.OpenAIStreamParser(GPT)
    for e in parse_sse_text(STREAM.replace("data: [DONE]\n\n", "")):
        parser.feed(e)
    with pytest.raises(MalformedResponseError, match=r"\[DONE\]"):
        parser.finish()


def test_stream_error_event_is_mapped() -> None:
    parser = openai_wire.OpenAIStreamParser(GPT)
    (event,) = parse_sse_text('data: {"error":{"message":"boom","type":"server_error"}}\n\n')
    with pytest.raises(Exception, match="boom") as info:
        parser.feed(event)
    assert not isinstance(info.value, RateLimitError) and info.value.status == 500
