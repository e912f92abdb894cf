"""Tool calls in one shape for every provider: OpenAI's ``{"id", "type": "function", "function": {...}}``."""

from __future__ import annotations

import json
from typing import Any


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    """One tool call with ``arguments`` as a JSON string, as OpenAI sends it."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments or {}, separators=(",", ":"))
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


def call_name(call: dict[str, Any]) -> str:
    return str(call.get("function", {}).get("name") or call.get("name") or "")


def call_arguments(call: dict[str, Any]) -> dict[str, Any]:
    """A tool call's arguments as an object (Anthropic ``input``, Gemini ``args``)."""
    raw = call.get("function", {}).get("arguments", call.get("arguments"))
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def function_tools(tools: tuple[dict[str, Any], ...] | None) -> list[dict[str, Any]]:
    """The ``function`` objects of OpenAI-shaped tools (``{"type": "function", "function": {...}}``)."""
    out = []
    for tool in tools or ():
        fn = tool.get("function", tool)
        out.append(
            {
                "name": fn["name"],
                "description": fn.get("description", ""),
                "parameters": fn.get("parameters") or {"type": "object", "properties": {}},
            }
        )
    return out


def merge_tool_call_delta(calls: dict[int, dict[str, Any]], delta: dict[str, Any]) -> None:
    """Fold one streamed tool-call delta into ``calls`` (by ``index``), concatenating argument fragments."""
    index = int(delta.get("index", 0))
    call = calls.setdefault(index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    if delta.get("id"):
        call["id"] = delta["id"]
    fn = delta.get("function") or {}
    if fn.get("name"):
        call["function"]["name"] = fn["name"]
    if fn.get("arguments"):
        call["function"]["arguments"] += fn["arguments"]
