"""PODIUM_* environment variables that override podium.yaml.

Named variables cover the settings people change per environment (the orchestration tool's TTA_* names and the
task-router tool's OPENROUTER_ENABLED, DAILY_BUDGET_USD, PREFER_OPENSOURCE and QUALITY_THRESHOLD are accepted too,
so existing deployments keep working; a PODIUM_* name for the same key wins). OpenTelemetry's
OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_SERVICE_NAME and OPENTELEMETRY_ENABLED set telemetry keys below every PODIUM_*
variable. Any other field is reachable as
``PODIUM__SECTION__KEY=value``.
Values stay strings (pydantic converts them and reports bad ones) except ``[...]`` / ``{...}``, which are
parsed as YAML so lists and mappings can be set.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from podium.config.orchestration import canonical_provider
from podium.config.telemetry import telemetry_env_overrides
from podium.core.errors import ConfigError
from podium.core.json_types import JSONValue

GENERIC_PREFIX = "PODIUM__"

NAMED_OVERRIDES: dict[str, str] = {
    "PODIUM_ORCHESTRATION_ENABLED": "orchestration.enabled",
    "PODIUM_PREFER_FREE_MODELS": "orchestration.prefer_free_models",
    "PODIUM_QUALITY_THRESHOLD": "orchestration.quality_threshold",
    "PODIUM_ORCHESTRATOR_MODEL": "orchestration.orchestrator.model",
    "PODIUM_BUDGET_LIMIT_USD": "orchestration.cost_tracking.budget_limit_usd",
    "PODIUM_ALERT_THRESHOLD": "orchestration.cost_tracking.alert_threshold",
    "PODIUM_MODE": "mode",
    "PODIUM_DEFAULT_MODEL": "default_model",
}

# The orchestration tool's TTA_* variable names; a PODIUM_* variable for the same key wins.
LEGACY_OVERRIDES: dict[str, str] = {
    "TTA_ORCHESTRATION_ENABLED": "orchestration.enabled",
    "TTA_PREFER_FREE_MODELS": "orchestration.prefer_free_models",
    "TTA_QUALITY_THRESHOLD": "orchestration.quality_threshold",
    "TTA_ORCHESTRATOR_MODEL": "orchestration.orchestrator.model",
    "TTA_BUDGET_LIMIT_USD": "orchestration.cost_tracking.budget_limit_usd",
}

# The task-router tool's variable names; they apply before the TTA_* and PODIUM_* names for the same key (those win).
SEED_OVERRIDES: dict[str, str] = {
    "OPENROUTER_ENABLED": "providers.openrouter.enabled",
    "DAILY_BUDGET_USD": "ledger.daily_budget_usd",
    "PREFER_OPENSOURCE": "routing.prefer_open_weights",
    "QUALITY_THRESHOLD": "orchestration.quality_threshold",
}

LEDGER_URL_VAR = "PODIUM_LEDGER_URL"
# The ledger section's owner picks the field name; the first of these that exists receives PODIUM_LEDGER_URL.
_LEDGER_URL_FIELDS: tuple[str, ...] = ("url", "database_url", "db_url")


@dataclass(frozen=True, slots=True)
class EnvOverride:
    """One environment variable setting one dotted config key."""

    var: str
    key: str
    value: JSONValue  # the variable's text, or the YAML/JSON it holds ([...] or {...})


def _parse(var: str, raw: str) -> Any:
    text = raw.strip()
    if not text.startswith(("[", "{")):
        return raw
    import yaml  # only a list or mapping value needs the parser: a plain run never loads it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"environment variable {var}: {raw!r} is not a valid list or mapping: {exc}",
            field=var,
            value=raw,
            valid="a YAML/JSON list such as [a, b] or mapping such as {k: v}",
        ) from None


_BOOL_WORDS = ("true", "false", "1", "0", "yes", "no", "on", "off")
# What each task-router variable accepts: its values are checked here so the error names the variable people typed.
_SEED_VALID = {
    "providers.openrouter.enabled": "true or false (also 1/0, yes/no, on/off)",
    "routing.prefer_open_weights": "true or false (also 1/0, yes/no, on/off)",
    "ledger.daily_budget_usd": "a non-negative USD amount, such as 50.0",
    "orchestration.quality_threshold": "a number from 0 to 1, such as 0.8",
}


def check_seed_value(var: str, key: str, value: object) -> object:
    """A task-router variable's value, or one ConfigError naming the variable, the key it sets and the valid values."""
    text = str(value).strip()
    number = _number(text)
    if key in ("providers.openrouter.enabled", "routing.prefer_open_weights"):
        text = text.lower()
        ok = text in _BOOL_WORDS
    elif key == "orchestration.quality_threshold":
        ok = number is not None and 0 <= number <= 1
    else:
        ok = number is not None and number >= 0
    if not ok:
        valid = _SEED_VALID[key]
        raise ConfigError(
            f"environment variable {var}={value!r} is not valid for {key}; use {valid}", field=var, value=value,
            valid=valid,
        )
    return text


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _generic_key(var: str) -> str | None:
    parts = [p.lower() for p in var[len(GENERIC_PREFIX) :].split("__")]
    if not all(parts):
        return None
    if parts[0] == "providers" and len(parts) > 1:
        parts[1] = canonical_provider(parts[1])  # PODIUM__PROVIDERS__GOOGLE__... edits the gemini entry
    return ".".join(parts)


def collect_env_overrides(env: Mapping[str, str], *, ledger_fields: Iterable[str] = ()) -> list[EnvOverride]:
    """Every override present in ``env``, in the order they apply (later wins)."""
    out = [EnvOverride(var, key, value) for var, key, value in telemetry_env_overrides(env)]  # OTEL_*: lowest
    higher: list[EnvOverride] = []
    for table in (LEGACY_OVERRIDES, NAMED_OVERRIDES):
        for var, key in table.items():
            if env.get(var, "") != "":
                higher.append(EnvOverride(var, key, _parse(var, env[var])))
    url_field = next((f for f in _LEDGER_URL_FIELDS if f in set(ledger_fields)), None)
    if url_field is not None and env.get(LEDGER_URL_VAR, "") != "":
        higher.append(EnvOverride(LEDGER_URL_VAR, f"ledger.{url_field}", env[LEDGER_URL_VAR]))
    generic = {_generic_key(var) for var in env if var.startswith(GENERIC_PREFIX)}
    overridden = {ov.key for ov in higher} | generic
    for var, key in SEED_OVERRIDES.items():  # a seed name loses to a PODIUM_* one: then its value is not read
        if env.get(var, "") != "" and key not in overridden:
            out.append(EnvOverride(var, key, check_seed_value(var, key, env[var])))
    out += higher
    for var in sorted(env):
        if var.startswith(GENERIC_PREFIX):
            key = _generic_key(var)
            if key is None:
                raise ConfigError(
                    f"environment variable {var} is not a valid override; use PODIUM__SECTION__KEY=value, "
                    "for example PODIUM__ORCHESTRATION__QUALITY_THRESHOLD=0.9",
                    field=var,
                    value=env[var],
                )
            out.append(EnvOverride(var, key, _parse(var, env[var])))
    return out


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[EnvOverride]) -> dict[str, Any]:
    """A copy of ``data`` with each override set at its dotted key, creating sections as needed."""
    result: dict[str, Any] = copy.deepcopy(dict(data))
    for ov in overrides:
        *parents, leaf = ov.key.split(".")
        node = result
        for i, part in enumerate(parents):
            child = node.get(part)
            if not isinstance(child, dict):
                if child is not None:
                    raise ConfigError(
                        f"environment variable {ov.var} sets {ov.key}, but {'.'.join(parents[: i + 1])} "
                        f"is {child!r} in the config file, not a section",
                        field=ov.key,
                        value=ov.value,
                    )
                child = {}
                node[part] = child
            node = child
        node[leaf] = ov.value
    return result
