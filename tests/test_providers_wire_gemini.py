"""Gemini wire translation, no HTTP."""

from __future__ import annotations

import pytest

from podium.core.errors import ContentPolicyError, MalformedResponseError, RateLimitError
from podium.core.model_spec import ModelSpec
from podium.core.types import ChatRequest, ImagePart, Message, TextPart, Usage
from podium.providers import gemini_wire
from podium.providers.sse import parse_sse_text

FLASH = ModelSpec(id="gemini:gemini-2.5-flash", provider="gemini", api_model="gemini-2.5-flash")


def test_paths_for_plain_and_streaming_calls() -> None:
    assert gemini_wire.request_path(FLASH, stream=False) == "models/gemini-2.5-flash:generateContent"
    assert gemini_wire.request_path(FLASH, stream=True) == "models/gemini-2.5-flash:streamGenerateContent?alt=sse"


def test_build_request_maps_system_generation_config_and_json_schema() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "string"}}}
    req = ChatRequest(
        messages=(Message.system("be brief"), Message.user("hi"), Message.assistant("hello"), Message.user("json")),
        temperature=0.3, top_p=0.8, max_tokens=100, stop=("END",), seed=1,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    )
    body = gemini_wire.build_request(req, FLASH, stream=False)
    assert body == {
        "contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "json"}]},
        ],
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "generationConfig": {
            "temperature": 0.3, "topP": 0.8, "maxOutputTokens": 100, "stopSequences": ["END"], "seed": 1,
            "responseMimeType": "application/json",
            "responseSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
    }


def test_images_tools_and_function_responses() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "w", "arguments": '{"city":"Oslo"}'}}
    req = ChatRequest(
        messages=(
            Message("user", (TextPart("see"), ImagePart("data:image/jpeg;base64,/9j/"), ImagePart("https://x/a.png"))),
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", '{"temp": 3}', tool_call_id="c1"),
        ),
        tools=({"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}},),
        tool_choice={"type": "function", "function": {"name": "w"}},
    )
    body = gemini_wire.build_request(req, FLASH, stream=True)
    assert body["contents"][0]["parts"] == [
        {"text": "see"},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/"}},
        {"fileData": {"mimeType": "image/png", "fileUri": "https://x/a.png"}},
    ]
    assert body["contents"][1] == {"role": "model", "parts": [{"functionCall": {"name": "w", "args": {"city": "Oslo"}}}]}
    assert body["contents"][2] == {"role": "user", "parts": [{"functionResponse": {"name": "w", "response": {"temp": 3}}}]}
    assert body["tools"] == [{"functionDeclarations": [{"name": "w", "description": "", "parameters": {"type": "object"}}]}]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["w"]}}


def test_parse_response_adds_thoughts_to_output_tokens() -> None:
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "plan", "thought": True}, {"text": "Answer"}]},
                        "finishReason": "MAX_TOKENS"}],
        "usageMetadata": {"promptTokenCount": 50, "candidatesTokenCount": 10, "cachedContentTokenCount": 32,
                          "thoughtsTokenCount": 25, "totalTokenCount": 85},
        "modelVersion": "gemini-2.5-flash", "responseId": "r1",
    }
    c = gemini_wire.parse_response(body, FLASH)
    assert (c.text, c.finish_reason, c.request_id) == ("Answer", "length", "r1")
    assert c.usage == Usage(input_tokens=50, output_tokens=35, cached_input_tokens=32, reasoning_tokens=25)


def test_function_call_sets_tool_calls_finish_reason() -> None:
    body = {"candidates": [{"content": {"parts": [{"functionCall": {"name": "w", "args": {"a": 1}}}]}, "finishReason": "STOP"}]}
    c = gemini_wire.parse_response(body, FLASH)
    assert c.finish_reason == "tool_calls"
    assert c.tool_calls == ({"id": "call_0", "type": "function", "function": {"name": "w", "arguments": '{"a":1}'}},)


def test_blocked_prompt_and_empty_body() -> None:
    with pytest.raises(ContentPolicyError, match="SAFETY"):
        gemini_wire.parse_response({"promptFeedback": {"blockReason": "SAFETY"}}, FLASH)
    with pytest.raises(MalformedResponseError, match="candidates"):
        gemini_wire.parse_response({}, FLASH)


STREAM = (
    'data: {"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}]}\r\n\r\n'
    'data: {"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],'
    '"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":2,"thoughtsTokenCount":3}}\r\n\r\n'
)


def test_stream_reads_usage_from_the_last_chunk() -> None:
    parser = gemini_wire.GeminiStreamParser(FLASH)
    chunks = [c for e in parse_sse_text(STREAM) for c in parser.feed(e)]
    assert "".join(c.delta for c in chunks) == "Hello"
    last = parser.finish()
    assert last.finish_reason == "stop" and last.usage == Usage(4, 5, 0, 3)


def test_stream_without_finish_reason_is_cut_and_error_chunks_are_mapped() -> None:
    parser = gemini_wire.GeminiStreamParser(FLASH)
    parser.feed(parse_sse_text(STREAM)[0])
    with pytest.raises(MalformedResponseError, match="finishReason"):
        parser.finish()
    (err,) = parse_sse_text('data: {"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}\n\n')
    with pytest.raises(RateLimitError, match="quota"):
        gemini_wire.GeminiStreamParser(FLASH).feed(err)
