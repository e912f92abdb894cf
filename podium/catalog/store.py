"""Where user-imported models live: ``$PODIUM_HOME/models.json`` (PODIUM_HOME defaults to ``~/.podium``)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from podium.catalog.mapping import document_from_specs, specs_from_document
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec

USER_MODELS_FILE = "models.json"


def podium_home(environ: Mapping[str, str] | None = None) -> Path:
    """$PODIUM_HOME, or ~/.podium when it is not set."""
    env = os.environ if environ is None else environ
    configured = env.get("PODIUM_HOME")
    return Path(configured).expanduser() if configured else Path("~/.podium").expanduser()


def user_models_path(home: Path) -> Path:
    return home / USER_MODELS_FILE


def read_models_file(path: Path) -> list[ModelSpec]:
    """Models saved in ``path``; an absent file means none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); fix or delete it",
            field=str(path),
            value=None,
            valid='a JSON document {"models": [...]}',
        ) from exc
    return specs_from_document(doc, origin=str(path))


def write_models_file(path: Path, specs: Iterable[ModelSpec]) -> None:
    """Write ``specs`` to ``path`` atomically, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document_from_specs(specs), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_user_models(home: Path, specs: Iterable[ModelSpec]) -> Path:
    """Merge ``specs`` into the user's models file (same id replaces) and return its path."""
    path = user_models_path(home)
    merged = {s.id: s for s in read_models_file(path)}
    merged.update((s.id, s) for s in specs)
    write_models_file(path, merged.values())
    return path
