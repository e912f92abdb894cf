"""The one place where pydantic's ValidationError becomes a ConfigError a person can act on."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
from pydantic import BaseModel

from podium.core.errors import ConfigError

if TYPE_CHECKING:  # yaml is imported where a file is read: a run without podium.yaml never loads it
    import yaml

_MAX_VALUE_CHARS = 80


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values; lists and empty mappings are leaves."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, dotted))
        else:
            out[dotted] = value
    return out


def dotted_key(loc: tuple[int | str, ...]) -> str:
    """``('orchestration', 'executors', 0, 'model')`` -> ``orchestration.executors[0].model``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def yaml_key_lines(path: Path) -> dict[str, int]:
    """The 1-based line of every key in a YAML file, by dotted key; empty when the file cannot be composed."""
    import yaml

    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    lines: dict[str, int] = {}
    _walk(node, "", lines)
    return lines


def _walk(node: yaml.Node | None, prefix: str, lines: dict[str, int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[dotted] = key_node.start_mark.line + 1
            _walk(value_node, dotted, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            dotted = f"{prefix}[{i}]"
            lines[dotted] = item.start_mark.line + 1
            _walk(item, dotted, lines)


def _prefixes(dotted: str) -> list[str]:
    """``a.b[0].c`` -> ``['a.b[0].c', 'a.b[0]', 'a.b', 'a']``, longest first."""
    out = [dotted]
    cut = dotted
    while True:
        i = max(cut.rfind("."), cut.rfind("["))
        if i <= 0:
            return out
        cut = cut[:i]
        out.append(cut)


def _where(dotted: str, path: Path | None, sources: Mapping[str, str], lines: Mapping[str, int]) -> str:
    """Name where a bad value came from: the environment variable, or the file and line."""
    for prefix in _prefixes(dotted) if dotted else []:
        source = sources.get(prefix)
        if source and source.startswith("env:"):
            return f"environment variable {source[4:]}"
        if source:
            break
    if path is None:
        return "config"
    line = next((lines[p] for p in (_prefixes(dotted) if dotted else []) if p in lines), None)
    return f"{path} line {line}" if line is not None else str(path)


def _unwrap(tp: object) -> object:
    """Strip Annotated / Optional / Union down to the model or container type inside."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        else:
            return tp


def _type_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    tp: object = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) in (list, tuple, dict, set, frozenset):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            tp = args[-1] if args else None
        else:
            return None
    return _unwrap(tp)


def _unknown_key(root: type[BaseModel], loc: tuple[int | str, ...], where: str) -> str:
    name = str(loc[-1])
    parent = dotted_key(loc[:-1])
    model = _type_at(root, loc[:-1])
    valid = sorted(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
    section = f"section {parent}" if parent else "the top level"
    msg = f"{where}: unknown key {name!r} in {section}"
    if valid:
        close = difflib.get_close_matches(name, valid, n=1)
        msg += f" (did you mean {close[0]!r}?)" if close else ""
        msg += f"; valid keys: {', '.join(valid)}"
    else:
        msg += "; this section takes no keys yet"
    return msg


def _show(value: object) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _reason(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg[:1].lower() + msg[1:]


def config_error_from(
    exc: pydantic.ValidationError,
    root: type[BaseModel],
    *,
    path: Path | None,
    sources: Mapping[str, str],
    lines: Mapping[str, int],
) -> ConfigError:
    """Translate every pydantic error into one line each, joined; the first one fills field/value/valid."""
    problems: list[str] = []
    first: dict[str, Any] = {}
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        dotted = dotted_key(loc)
        where = _where(dotted, path, sources, lines)
        if err["type"] == "extra_forbidden":
            problems.append(_unknown_key(root, loc, where))
        elif err["type"] == "missing":
            parent = dotted_key(loc[:-1]) or "the top level"
            problems.append(f"{where}: {parent} is missing the required key {str(loc[-1])!r}")
        elif not loc:
            # Cross-field checks name their key first ("orchestration.executors[0].provider ..."): locate by it.
            reason = _reason(err["msg"])
            where = _where(reason.split(" ", 1)[0], path, sources, lines)
            problems.append(f"{where}: {reason}")
        else:
            problems.append(f"{where}: {dotted} = {_show(err.get('input'))} is not valid: {_reason(err['msg'])}")
        if not first:
            ctx = err.get("ctx") or {}
            first = {"field": dotted or None, "value": err.get("input"), "valid": ctx.get("expected") or err["msg"]}
    return ConfigError("; ".join(problems), **first)


def safe_load_yaml(text: str, path: object) -> Any:
    """``yaml.safe_load`` whose syntax errors become one ConfigError naming the file, line and column."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{path}{where}: YAML syntax error: {problem}", field="path", value=str(path), valid="valid YAML"
        ) from None


def read_text_file(path: Path, *, what: str, field: str, missing_hint: str = "") -> str:
    """A config-like file's text; a missing or unreadable file is one ConfigError naming ``what`` and the path."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist{missing_hint}", field=field, value=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc}", field=field, value=str(path)) from None
