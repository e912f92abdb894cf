"""The task-router tool's flat ``orchestration_config.yaml``, read as Podium sections at load time.

Its keys and where they go:

- ``openrouter_enabled`` -> ``providers.openrouter.enabled``
- ``daily_budget_usd`` -> ``ledger.daily_budget_usd``
- ``cost_tracking_enabled`` -> ``ledger.enabled``
- ``task_<type>: {quality_priority, cost_sensitive}`` -> ``routing.task_table.<type>``: the row of that task type
  (the ``general`` row for a type Podium has none for) with cost tier ``premium`` for quality priority and
  ``budget`` for cost sensitivity.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podium.config.routing import DEFAULT_TASK_TABLE
from podium.core.errors import ConfigError

FLAT_KEYS: tuple[str, ...] = ("openrouter_enabled", "daily_budget_usd", "cost_tracking_enabled")
TASK_PREFIX = "task_"
_TASK_FLAGS = ("quality_priority", "cost_sensitive")


def is_flat(data: Mapping[str, Any]) -> bool:
    """Does this file use the task-router tool's flat keys?"""
    return any(k in FLAT_KEYS or (str(k).startswith(TASK_PREFIX) and isinstance(v, Mapping)) for k, v in data.items())


def from_flat(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the flat keys moved into Podium's sections (other keys are left as they are)."""
    out: dict[str, Any] = {k: v for k, v in data.items() if k not in FLAT_KEYS and not _task_key(k, v)}
    if "openrouter_enabled" in data:
        _section(out, "providers").setdefault("openrouter", {})["enabled"] = data["openrouter_enabled"]
    if "daily_budget_usd" in data:
        _section(out, "ledger")["daily_budget_usd"] = data["daily_budget_usd"]
    if "cost_tracking_enabled" in data:
        _section(out, "ledger")["enabled"] = data["cost_tracking_enabled"]
    table = _section(_section(out, "routing"), "task_table")
    for key, value in data.items():
        if _task_key(key, value):
            task = str(key)[len(TASK_PREFIX):]
            table.setdefault(task, _row(task, value))
    return out


def _task_key(key: object, value: object) -> bool:
    return str(key).startswith(TASK_PREFIX) and isinstance(value, Mapping)


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    current = data.get(name)
    section = dict(current) if isinstance(current, Mapping) else {}
    data[name] = section
    return section


def _row(task: str, flags: Mapping[str, Any]) -> dict[str, Any]:
    unknown = [k for k in flags if k not in _TASK_FLAGS]
    if unknown:
        raise ConfigError(
            f"task_{task}.{unknown[0]} is not a task setting; use {' or '.join(_TASK_FLAGS)} (true/false)",
            field=f"task_{task}.{unknown[0]}", value=flags[unknown[0]], valid=list(_TASK_FLAGS),
        )
    for name in _TASK_FLAGS:
        if name in flags and not isinstance(flags[name], bool):
            raise ConfigError(f"task_{task}.{name} = {flags[name]!r} is not valid; use true or false",
                              field=f"task_{task}.{name}", value=flags[name], valid=["true", "false"])
    if flags.get("quality_priority") and flags.get("cost_sensitive"):
        raise ConfigError(f"task_{task}: quality_priority and cost_sensitive are both true; choose one",
                          field=f"task_{task}", value=dict(flags))
    base = DEFAULT_TASK_TABLE.get(task) or DEFAULT_TASK_TABLE["general"]
    tier = "premium" if flags.get("quality_priority") else "budget" if flags.get("cost_sensitive") else base.cost_tier
    return {"primary": base.primary, "fallbacks": list(base.fallbacks), "temperature": base.temperature,
            "cost_tier": tier}
