"""Anthropic wire translation, no HTTP."""

from __future__ import annotations

import json

import pytest

from podium.core.errors import MalformedResponseError, ServerError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, ImagePart, Message, TextPart, Usage
from podium.providers import anthropic_wire
from podium.providers.sse import parse_sse_text

HAIKU = ModelSpec(id="anthropic:claude-haiku-4-5", provider="anthropic", api_model="claude-haiku-4-5", max_output_tokens=64000)
SMALL = ModelSpec(id="anthropic:tiny", provider="anthropic", api_model="tiny", max_output_tokens=1024)


def test_system_goes_top_level_and_max_tokens_is_always_set() -> None:
    req = ChatRequest(messages=(Message.system("be brief"), Message.user("hi")), temperature=1.7, stop=("X",), user="u")
    body = anthropic_wire.build_request(req, HAIKU, stream=True)
    assert body == {
        "model": "claude-haiku-4-5", "max_tokens": 4096, "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 1.0, "stop_sequences": ["X"], "metadata": {"user_id": "u"}, "stream": True,
    }
    assert anthropic_wire.build_request(ChatRequest.from_prompt("hi"), SMALL, stream=False)["max_tokens"] == 1024
    assert anthropic_wire.build_request(ChatRequest.from_prompt("hi", max_tokens=5), HAIKU, stream=False)["max_tokens"] == 5


def test_images_from_data_urls_and_plain_urls() -> None:
    req = ChatRequest(messages=(Message("user", (
        TextPart("compare"), ImagePart("data:image/png;base64,iVBORw0K"), ImagePart("https://x/y.jpg"),
    )),))
    content = anthropic_wire.build_request(req, HAIKU, stream=False)["messages"][0]["content"]
    assert content == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0K"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
    ]


def test_tools_tool_use_and_merged_tool_results() -> None:
    tools = ({"type": "function", "function": {"name": "w", "description": "d", "parameters": {"type": "object"}}},)
    calls = tuple(
        {"id": f"t{i}", "type": "function", "function": {"name": "w", "arguments": json.dumps({"i": i})}} for i in (1, 2)
    )
    req = ChatRequest(
        messages=(Message.user("go"), Message("assistant", "ok", tool_calls=calls),
                  Message("tool", "r1", tool_call_id="t1"), Message("tool", "r2", tool_call_id="t2")),
        tools=tools, tool_choice="required",
    )
    body = anthropic_wire.build_request(req, HAIKU, stream=False)
    assert body["tools"] == [{"name": "w", "description": "d", "input_schema": {"type": "object"}}]
    assert body["tool_choice"] == {"type": "any"}
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "ok"},
        {"type": "tool_use", "id": "t1", "name": "w", "input": {"i": 1}},
        {"type": "tool_use", "id": "t2", "name": "w", "input": {"i": 2}},
    ]
    assert body["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "r1"},
        {"type": "tool_result", "tool_use_id": "t2", "content": "r2"},
    ]}


def test_json_schema_becomes_a_system_instruction() -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "required": ["a"]}}}
    body = anthropic_wire.build_request(ChatRequest.from_prompt("hi", system="sys", response_format=fmt), HAIKU, stream=False)
    assert body["system"].startswith("sys\n\nReply with only a JSON object")
    assert '"required": ["a"]' in body["system"]


def test_parse_response_usage_counts_cache_reads_and_writes_in_input() -> None:
    body = {
        "id": "msg_1", "type": "message", "model": "claude-haiku-4-5",
        "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Hi"},
                    {"type": "tool_use", "id": "t1", "name": "w", "input": {"city": "Oslo"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20, "output_tokens": 7},
    }
    c = anthropic_wire.parse_response(body, HAIKU)
    assert c.text == "Hi" and c.finish_reason == "tool_calls" and c.request_id == "msg_1"
    assert c.usage == Usage(input_tokens=130, output_tokens=7, cached_input_tokens=100, cache_write_tokens=20)
    assert c.tool_calls == ({"id": "t1", "type": "function", "function": {"name": "w", "arguments": '{"city":"Oslo"}'}},)


@pytest.mark.parametrize(("wire", "ours"), [("end_turn", "stop"), ("max_tokens", "length"), ("refusal", "content_filter")])
def test_stop_reasons_are_normalized(wire: str, ours: str) -> None:
    body = {"content": [], "stop_reason": wire, "usage": {}}
    assert anthropic_wire.parse_response(body, HAIKU).finish_reason == ours


def test_parse_response_without_content_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        anthropic_wire.parse_response({"type": "message"}, HAIKU)


STREAM = """event: message_start
data: {"type":"message_start","message":{"id":"msg_1","content":[],"usage":{"input_tokens":12,"cache_read_input_tokens":30,"cache_creation_input_tokens":0,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" there"}}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t1","name":"w","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"1}"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}

event: message_stop
data: {"type":"message_stop"}

"""


def test_stream_usage_comes_from_message_start_and_message_delta() -> None:
    parser = anthropic_wire.AnthropicStreamParser(HAIKU)
    chunks = [c for e in parse_sse_text(STREAM) for c in parser.feed(e)]
    assert "".join(c.delta for c in chunks) == "Hello there"
    tool = [c.tool_call_delta for c in chunks if c.tool_call_delta]
    assert tool[0]["index"] == 0 and tool[0]["function"]["name"] == "w"
    assert "".join(t["function"].get("arguments", "") for t in tool) == '{"a":1}'
    last = parser.finish()
    assert last.finish_reason == "stop"
    assert last.usage == Usage(input_tokens=42, output_tokens=15, cached_input_tokens=30)


def test_stream_without_message_stop_is_cut_and_error_event_is_mapped() -> None:
    parser = anthropic_wire.AnthropicStreamParser(HAIKU)
    for e in parse_sse_text(STREAM.split("event: message_delta")[0]):
        parser.feed(e)
    with pytest.raises(MalformedResponseError, match="message_stop"):
        parser.finish()
    (err,) = parse_sse_text('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    with pytest.raises(ServerError, match="Overloaded") as info:
        anthropic_wire.AnthropicStreamParser(HAIKU).feed(err)
    assert info.value.status == 529
