"""Quality profiles shipped with the catalog (``quality_profiles.json``): parsing and attaching them to models.

Every figure is on the Arena Elo-equivalent scale and carries its source and as-of date; ``tools/build_profiles.py``
rebuilds the file from the public figures listed in ``tools/profile_sources.csv``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path

from podium.catalog.mapping import _Invalid, figures_from_mapping
from podium.catalog.profile_figures import profile_from_figures
from podium.core.errors import ConfigError
from podium.core.model_spec import ModelSpec, QualityProfile

PROFILES_FILE = "quality_profiles.json"


def profiles_from_document(doc: object, *, origin: str) -> dict[str, QualityProfile]:
    """``{"profiles": {model id: {overall: {...}, code: {...}, ...}}}`` -> profiles by model id."""
    entries = doc.get("profiles") if isinstance(doc, Mapping) else None
    if not isinstance(entries, Mapping):
        raise ConfigError(f'{origin}: expected a mapping of model ids to profiles under the key "profiles"',
                          field="profiles", value=type(entries).__name__)
    out: dict[str, QualityProfile] = {}
    for model_id, value in entries.items():
        try:
            figures = figures_from_mapping(value)
        except _Invalid as exc:
            raise ConfigError(f"{origin}: profile of {model_id}: {exc.valid}", field=f"profiles.{model_id}",
                              value=value, valid=exc.valid) from None
        if "overall" not in figures:
            raise ConfigError(f"{origin}: profile of {model_id} has no 'overall' figure",
                              field=f"profiles.{model_id}.overall")
        out[str(model_id)] = profile_from_figures(figures)
    return out


def read_profiles_file(path: str | Path) -> dict[str, QualityProfile]:
    """Profiles from a JSON file in the shipped format (``podium models import --profiles``)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read profiles file {path}: {exc}", field="path", value=str(path)) from exc
    return profiles_from_document(doc, origin=str(path))


@functools.lru_cache(maxsize=1)
def bundled_profiles() -> Mapping[str, QualityProfile]:
    ref = resources.files("podium.catalog").joinpath(PROFILES_FILE)
    if not ref.is_file():
        return {}
    return profiles_from_document(json.loads(ref.read_text(encoding="utf-8")), origin=f"bundled {PROFILES_FILE}")


def attach_profiles(specs: Iterable[ModelSpec], profiles: Mapping[str, QualityProfile]) -> list[ModelSpec]:
    """``specs`` with the profile of their id (a spec that already has one keeps it)."""
    return [s if s.quality is not None or s.id not in profiles else replace(s, quality=profiles[s.id]) for s in specs]
