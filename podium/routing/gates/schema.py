"""A small JSON Schema validator for the subset response schemas use (no ``$ref``, no formats).

Supported: type (one or a list), enum, const, properties, required, additionalProperties (bool or schema),
items, minItems/maxItems, minLength/maxLength, minimum/maximum, exclusiveMinimum/exclusiveMaximum,
anyOf, oneOf, allOf. Unknown keywords are ignored, as JSON Schema itself does.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: object, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(name, (object,)))


def schema_errors(value: object, schema: object, path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``, each as ``"<json path>: <problem>"``; [] when it conforms."""
    if schema is False:
        return [f"{path}: no value is allowed here"]
    if not isinstance(schema, dict):
        return []
    errors = _check_type(value, schema, path)
    if errors:
        return errors
    for check in (_check_enum, _check_object, _check_array, _check_string, _check_number, _check_combinators):
        errors.extend(check(value, schema, path))
    return errors


def _check_type(value: object, schema: dict[str, Any], path: str) -> list[str]:
    wanted = schema.get("type")
    if wanted is None:
        return []
    names = wanted if isinstance(wanted, list) else [wanted]
    if any(_is_type(value, n) for n in names):
        return []
    return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__}"]


def _check_enum(value: object, schema: dict[str, Any], path: str) -> list[str]:
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']!r}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    return errors


def _check_object(value: object, schema: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    errors = [f"{path}: missing required property {k!r}" for k in schema.get("required", []) if k not in value]
    props: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            errors.extend(schema_errors(item, props[key], f"{path}.{key}"))
        elif extra is False:
            errors.append(f"{path}: property {key!r} is not allowed")
        elif isinstance(extra, dict):
            errors.extend(schema_errors(item, extra, f"{path}.{key}"))
    return errors


def _check_array(value: object, schema: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, list):
        return []
    errors = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(f"{path}: needs at least {schema['minItems']} items, has {len(value)}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(f"{path}: allows at most {schema['maxItems']} items, has {len(value)}")
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            errors.extend(schema_errors(item, items, f"{path}[{i}]"))
    return errors


def _check_string(value: object, schema: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, str):
        return []
    errors = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{path}: shorter than {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(f"{path}: longer than {schema['maxLength']} characters")
    return errors


def _check_number(value: object, schema: dict[str, Any], path: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    bounds = (
        ("minimum", lambda v, b: v >= b, "at least"),
        ("maximum", lambda v, b: v <= b, "at most"),
        ("exclusiveMinimum", lambda v, b: v > b, "more than"),
        ("exclusiveMaximum", lambda v, b: v < b, "less than"),
    )
    return [
        f"{path}: {value} is not {words} {schema[key]}"
        for key, ok, words in bounds
        if isinstance(schema.get(key), (int, float)) and not isinstance(schema.get(key), bool) and not ok(value, schema[key])
    ]


def _check_combinators(value: object, schema: dict[str, Any], path: str) -> list[str]:
    errors: list[str] = []
    for sub in schema.get("allOf", []):
        errors.extend(schema_errors(value, sub, path))
    if "anyOf" in schema and not any(not schema_errors(value, s, path) for s in schema["anyOf"]):
        errors.append(f"{path}: matches none of the anyOf schemas")
    if "oneOf" in schema and sum(not schema_errors(value, s, path) for s in schema["oneOf"]) != 1:
        errors.append(f"{path}: must match exactly one of the oneOf schemas")
    return errors
