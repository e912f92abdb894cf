"""API keys: read from the environment or a ``.env`` file, held in a wrapper that never prints them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from podium.core.errors import MissingAPIKeyError

_MASK = "****"


class Secret:
    """A string that shows as ``****`` in repr, str, format and tracebacks; call ``reveal()`` to use it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({_MASK!r})"

    def __str__(self) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the key to disk or a queue; refuse rather than leak.
        raise TypeError("a Secret cannot be pickled")


def resolve_api_key(
    provider: str,
    env_var: str,
    *,
    env: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = None,
) -> Secret:
    """Find ``env_var`` in ``env`` (default ``os.environ``), then in a ``.env`` file.

    With the default ``env`` the file is ``./.env``; when ``env`` is injected, a ``.env`` file is read only if
    ``dotenv_path`` is given, so tests never pick up a developer's keys. Raises MissingAPIKeyError naming the variable.
    """
    source = os.environ if env is None else env
    value = source.get(env_var, "").strip()
    if not value:
        path = Path(".env") if dotenv_path is None and env is None else dotenv_path
        if path is not None:
            value = (_read_dotenv(Path(path)).get(env_var) or "").strip()
    if not value:
        raise MissingAPIKeyError(provider, env_var)
    return Secret(value)


def _read_dotenv(path: Path) -> dict[str, str | None]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values  # only needed when a key is not in the environment

    return dict(dotenv_values(path))
