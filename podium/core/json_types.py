"""JSON values as Python types: what ``json.loads`` returns and ``json.dumps`` takes.

Nested containers are typed as read-only (``Sequence``, ``Mapping``) so a ``list[str]`` or ``dict[str, int]`` fits
where a JSON value is expected; the top level of a ``JSONObject`` is a plain ``dict``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

JSONValue: TypeAlias = str | int | float | bool | None | Sequence["JSONValue"] | Mapping[str, "JSONValue"]
JSONObject: TypeAlias = dict[str, JSONValue]
