"""Reading success criteria: which phrases Podium checks by running something, and which stay prompt guidance.

``"pytest passes, ruff clean, README complete"`` reads as three criteria: one asks for the tests check, one for the
lint check, and "README complete" is not machine-checked (it stays in the prompts only). A criterion naming a JSON
Schema (``"output matches schema report"``) refers to ``checks.schemas.report`` in the project file, or to a schema
file by path; ``resolve_schemas`` loads every such file when the spec is read, so a checkpoint carries its schemas.
Other prose with the word ("the database schema is normalized") is a schema check only if it names a defined schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from podium.core.errors import ValidationError
from podium.core.json_types import JSONValue

JSONSchema = Mapping[str, JSONValue] | bool  # a JSON Schema: an object, or true (anything fits) / false (nothing does)

# The checks a criterion can ask for (also the ``check`` names of their outcomes).
TESTS, LINT, SYNTAX, JSON_CHECK, SCHEMA = "pytest", "ruff", "py_compile", "json", "schema"

_SPLIT = re.compile(r"[,;\n]+")
_TESTS = re.compile(
    r"\bpytest\b|\b(?:unit |all |the )?tests? (?:pass|passes|passing|succeed|are green)\b|\btest suite\b", re.IGNORECASE
)
_LINT = re.compile(r"\bruff\b|\blint(?:s|ing|er|-free)?\b|\blinted\b", re.IGNORECASE)
_SYNTAX = re.compile(
    r"\b(?:parses|compiles|valid python|syntax(?:ically)? (?:valid|correct|clean)|no syntax errors|py_compile)\b",
    re.IGNORECASE,
)
_JSON = re.compile(r"\bvalid json\b|\bjson (?:parses|is valid)\b", re.IGNORECASE)
# "schema NAME": the word after "schema" (a space or a colon between them) is a schema check only when it is a
# name under checks.schemas or a schema file's path; otherwise ("the database schema is normalized") it is prose.
_SCHEMA = re.compile(r"\bschema(?:\s*[:=]\s*|\s+)[`'\"]?(?P<ref>\w[\w./-]*)", re.IGNORECASE)
# "matches schema NAME" / "output matches the schema": always a schema check, so a misspelt NAME is an error.
_MATCHES_SCHEMA = re.compile(
    r"\bmatch(?:es|ing)?\s+(?:the\s+|a\s+|its\s+)?(?:json\s+)?schema\b(?:(?:\s*[:=]\s*|\s+)[`'\"]?(?P<ref>\w[\w./-]*))?",
    re.IGNORECASE,
)
# Words that follow "schema" in ordinary prose ("the schema is respected"): not a schema's name.
_NOT_A_NAME = frozenset(
    [
        "is",
        "are",
        "must",
        "should",
        "and",
        "or",
        "of",
        "for",
        "in",
        "on",
        "from",
        "given",
        "defined",
        "above",
        "below",
        "validation",
        "valid",
        "check",
        "checks",
    ]
)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion and the checks it asks for; ``checks`` is empty when it is not machine-checked."""

    text: str
    checks: tuple[str, ...]
    schema: str | None = None  # for SCHEMA: the name under checks.schemas (None: the only schema there is)
    explicit: bool = False  # the task's own criterion (must apply) rather than the project's (applies where it can)


def split_criteria(value: str | Sequence[str] | None) -> list[str]:
    """The separate criteria in a criteria string (comma, semicolon or line separated) or list."""
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        out += [p.strip(" \t-*•.") for p in _SPLIT.split(item)]
    return [p for p in out if p]


def parse_criteria(
    value: str | Sequence[str] | None, *, explicit: bool = False, schemas: Iterable[str] = ()
) -> list[Criterion]:
    """The criteria in ``value``; ``schemas`` are the names under checks.schemas ("schema NAME" refers to one)."""
    names = frozenset(schemas)
    return [_criterion(text, explicit, names) for text in split_criteria(value)]


def _criterion(text: str, explicit: bool, schemas: frozenset[str]) -> Criterion:
    checks = []
    schema = None
    if _TESTS.search(text):
        checks.append(TESTS)
    if _LINT.search(text):
        checks.append(LINT)
    if _SYNTAX.search(text):
        checks.append(SYNTAX)
    is_schema, schema = _schema_criterion(text, schemas)
    if is_schema:
        checks.append(SCHEMA)
    elif _JSON.search(text):
        checks.append(JSON_CHECK)
    return Criterion(text, tuple(checks), schema, explicit)


def schema_ref(match: re.Match[str]) -> str | None:
    ref = (match.group("ref") or "").rstrip(".")
    return None if not ref or ref.lower() in _NOT_A_NAME else ref


def _schema_criterion(text: str, schemas: frozenset[str]) -> tuple[bool, str | None]:
    """Whether ``text`` asks for a schema check, and the schema it names (None: the only one there is)."""
    match = _MATCHES_SCHEMA.search(text)
    if match is not None:
        ref = schema_ref(match)
        return ref is not None or bool(schemas), ref  # "matches the schema" with none defined: prose
    for match in _SCHEMA.finditer(text):
        ref = schema_ref(match)
        if ref is not None and (ref in schemas or _looks_like_path(ref)):
            return True, ref
    return False, None


def resolve_schemas(
    schemas: object, criteria: Iterable[tuple[str, str | Sequence[str] | None]], *, base_dir: Path
) -> dict[str, JSONSchema]:
    """``checks.schemas`` with every file path loaded, plus the schema files criteria name by path.

    ``criteria`` holds (dotted key, criteria text) pairs, so an unknown schema name is reported at its key.
    """
    if schemas is None:
        schemas = {}
    if not isinstance(schemas, Mapping):
        raise ValidationError(
            "checks.schemas must map schema names to a JSON Schema or a schema file path",
            field="checks.schemas",
            value=type(schemas).__name__,
        )
    out = {str(name): _schema(value, f"checks.schemas.{name}", base_dir) for name, value in schemas.items()}
    for key, text in criteria:
        for crit in parse_criteria(text, schemas=out):
            if SCHEMA not in crit.checks or crit.schema in out or (crit.schema is None and len(out) == 1):
                continue
            if crit.schema is None or not _looks_like_path(crit.schema):
                problem = (
                    f"{crit.text!r} asks for a schema but does not name one of checks.schemas"
                    if crit.schema is None
                    else f"names schema {crit.schema!r}, which is not under checks.schemas"
                )
                raise ValidationError(
                    f"{key} {problem} (known: {', '.join(out) or 'none'}); write 'matches schema NAME' with a "
                    "NAME under checks.schemas, or 'matches schema path/to/schema.json'",
                    field=key,
                    value=crit.schema or crit.text,
                    valid=list(out),
                )
            out[crit.schema] = _schema(crit.schema, key, base_dir)
    for name, schema in out.items():
        _check_schema(schema, f"checks.schemas.{name}")
    return out


def _looks_like_path(ref: str) -> bool:
    return ref.lower().endswith((".json", ".yaml", ".yml"))


def _schema(value: object, key: str, base_dir: Path) -> JSONSchema:
    if isinstance(value, (Mapping, bool)):
        return dict(value) if isinstance(value, Mapping) else value
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{key} must be a JSON Schema (a mapping) or the path of a .json/.yaml schema file",
            field=key,
            value=value,
        )
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "does not exist" if isinstance(exc, FileNotFoundError) else f"cannot be read ({exc})"
        raise ValidationError(f"{key}: schema file {path} {reason}", field=key, value=value) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0]
        raise ValidationError(f"{key}: schema file {path} is not valid JSON/YAML: {first}", field=key) from None
    if not isinstance(data, (Mapping, bool)):
        raise ValidationError(
            f"{key}: schema file {path} must hold a JSON Schema object, not {type(data).__name__}", field=key
        )
    return data


def _check_schema(schema: JSONSchema, key: str) -> None:
    """With jsonschema installed, a schema that is itself invalid is refused now, not after the tasks ran."""
    try:
        from jsonschema import SchemaError, validators
    except ImportError:
        return
    try:
        validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        raise ValidationError(
            f"{key} is not a valid JSON Schema: {exc.message}", field=key, value=list(exc.absolute_path)
        ) from None
