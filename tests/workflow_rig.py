"""Shared rig of the workflow tests: the engine config that points at the fake upstream (``served`` in conftest)."""

from __future__ import annotations

from typing import Any


def config_map(
    base: str,
    executor: str,
    *,
    orchestrator: str | None = None,
    anthropic: bool = False,
    routing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """OpenAI (and Anthropic) on the fake, one attempt per call, no fallback; tasks go to ``executor``."""
    providers: dict[str, Any] = {"openai": {"base_url": base + "/v1"}}
    if anthropic:
        providers["anthropic"] = {"base_url": base}
    orchestration: dict[str, Any] = {"fallback_strategy": {"models": []}}
    if orchestrator is not None:
        orchestration = {"orchestrator": {"model": f"openai:{orchestrator}"}, **orchestration}
    return {
        "providers": providers,
        "orchestration": orchestration,
        "routing": routing or {"chains": {"solo": [f"openai:{executor}"]}, "chain": "solo"},
        "resilience": {"retry": {"max_attempts": 1}},
    }
