"""The model catalog: look models up by id or alias, filter them, and layer user entries on top."""

from __future__ import annotations

import difflib
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from podium.catalog.mapping import (
    PRICE_FIELDS,
    figures_from_mapping,
    profile_to_mapping,
    spec_from_mapping,
    spec_to_mapping,
    specs_from_document,
)
from podium.catalog.profile_figures import overridden_profile, profile_from_figures
from podium.catalog.profiles import attach_profiles, bundled_profiles
from podium.catalog.store import podium_home, read_models_file, user_models_path
from podium.config.providers import PROVIDER_ALIASES
from podium.core.errors import ConfigError, UnknownModelError
from podium.core.model_spec import CAPABILITIES, ModelSpec
from podium.core.money import usd

USER_OVERRIDE_SOURCE = "user override"


@functools.lru_cache(maxsize=1)
def _bundled_specs() -> tuple[ModelSpec, ...]:
    text = resources.files("podium.catalog").joinpath("models.json").read_text(encoding="utf-8")
    specs = specs_from_document(json.loads(text), origin="bundled models.json")
    return tuple(attach_profiles(specs, bundled_profiles()))


class Catalog:
    """Known models by id (``provider:model``); names resolve through aliases, case-insensitively."""

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self._specs[spec.id] = spec  # a later entry for the same id replaces the earlier one
        self._index_cache: tuple[dict[str, str], dict[str, list[str]], dict[str, str]] | None = None

    # -- construction -------------------------------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> Catalog:
        """The models shipped with Podium (parsed once, then a fresh Catalog per call)."""
        return cls(_bundled_specs())

    @classmethod
    def default(cls, home: Path | None = None) -> Catalog:
        """Bundled models plus the ones ``podium models import`` saved under ``home`` ($PODIUM_HOME)."""
        catalog = cls.bundled()
        path = user_models_path(home if home is not None else podium_home())
        for spec in read_models_file(path):
            known = catalog._specs.get(spec.id)
            if known is not None:  # keep the names users already know the model by
                spec = replace(spec, aliases=tuple(dict.fromkeys(known.aliases + spec.aliases)))
            catalog.add(spec)
        return catalog

    def add(self, spec: ModelSpec) -> None:
        """Add a model, replacing any model with the same id."""
        self._specs[spec.id] = spec
        self._index_cache = None

    def with_overrides(self, entries: Iterable[Mapping[str, Any]]) -> Catalog:
        """A new catalog with user entries applied: a known id or alias is patched field by field, others added."""
        out = Catalog(self._specs.values())
        for number, entry in enumerate(entries, start=1):
            out.add(out._override(entry, number))
        return out

    def _override(self, entry: Mapping[str, Any], number: int) -> ModelSpec:
        if not isinstance(entry, Mapping):
            return spec_from_mapping(entry, label=f"override {number}")  # raises a ConfigError naming the entry
        name = entry.get("id")
        label = f"{name} (override {number})" if name else f"override {number}"
        known = self._lookup(name) if isinstance(name, str) else None
        if known is None:
            return spec_from_mapping(entry, label=label)
        merged = {**spec_to_mapping(self._specs[known]), **entry, "id": known}
        if entry.get("quality") is not None:
            merged["quality"] = _merged_profile(self._specs[known], entry["quality"], label)
        if any(f in entry for f in PRICE_FIELDS) and "price_source" not in entry:
            # The bundled source does not vouch for a price the user typed in.
            merged["price_source"] = USER_OVERRIDE_SOURCE
            merged["price_as_of"] = entry.get("price_as_of")
        return spec_from_mapping(merged, label=label)

    def with_profiles(self, profiles: Mapping[str, Any]) -> Catalog:
        """A new catalog whose models take the quality profiles in ``profiles`` (model id or alias -> profile)."""
        out = Catalog(self._specs.values())
        for name, profile in profiles.items():
            spec = out.get(name)
            out.add(replace(spec, quality=profile))
        return out

    # -- lookup ---------------------------------------------------------------------------------------------------

    def _index(self) -> tuple[dict[str, str], dict[str, list[str]], dict[str, str]]:
        """(name -> id, ambiguous bare name -> ids, lower-case name -> name as written)."""
        if self._index_cache is not None:
            return self._index_cache
        index: dict[str, str] = {}
        spelled: dict[str, str] = {}
        by_model: dict[str, list[str]] = defaultdict(list)
        for model_id in self._specs:
            by_model[model_id.split(":", 1)[1].lower()].append(model_id)
        for bare, ids in by_model.items():
            if len(ids) == 1:
                index[bare] = ids[0]
                spelled[bare] = ids[0].split(":", 1)[1]
        # Explicit aliases beat bare model names; ids beat everything.
        for spec in self._specs.values():
            for alias in spec.aliases:
                index[alias.lower()] = spec.id
                spelled[alias.lower()] = alias
        for model_id in self._specs:
            index[model_id.lower()] = model_id
            spelled[model_id.lower()] = model_id
        ambiguous = {bare: ids for bare, ids in by_model.items() if len(ids) > 1 and bare not in index}
        self._index_cache = (index, ambiguous, spelled)
        return self._index_cache

    def _lookup(self, name: str) -> str | None:
        index = self._index()[0]
        key = name.strip().lower()
        found = index.get(key)
        if found is None and ":" in key:
            provider, model = key.split(":", 1)
            canonical = PROVIDER_ALIASES.get(provider)
            found = index.get(f"{canonical}:{model}") if canonical else None
        return found

    def resolve(self, name: str) -> str:
        """The model id that ``name`` (an id or alias) refers to."""
        found = self._lookup(name)
        if found is None:
            raise UnknownModelError(name, self.suggest(name))
        return found

    def get(self, name: str) -> ModelSpec:
        """The ModelSpec for an id or alias; UnknownModelError (with suggestions) when there is none."""
        return self._specs[self.resolve(name)]

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Up to ``limit`` known names close to ``name``, at most one per model."""
        index, ambiguous, spelled = self._index()
        key = name.strip().lower()
        if key in ambiguous:
            return ambiguous[key][:limit]
        out: list[str] = []
        seen: set[str] = set()
        for match in difflib.get_close_matches(key, index.keys(), n=limit * 4, cutoff=0.6):
            if index[match] not in seen:
                seen.add(index[match])
                out.append(spelled[match])
            if len(out) == limit:
                break
        return out

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._lookup(name) is not None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"Catalog({len(self._specs)} models)"

    def all(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def providers(self) -> list[str]:
        return sorted({s.provider for s in self._specs.values()})

    def by_provider(self, provider: str) -> list[ModelSpec]:
        wanted = PROVIDER_ALIASES.get(provider.lower(), provider.lower())
        return [s for s in self._specs.values() if s.provider == wanted]

    def filter(
        self,
        *,
        capabilities: Iterable[str] = (),
        max_input_price: Decimal | str | None = None,
        min_context: int | None = None,
        provider: str | None = None,
        include_deprecated: bool = True,
    ) -> list[ModelSpec]:
        """Models having every capability, fitting ``min_context`` and priced at most ``max_input_price``.

        A model whose price is unknown never passes a price limit.
        """
        caps = tuple(capabilities)
        unknown = [c for c in caps if c not in CAPABILITIES]
        if unknown:
            raise ConfigError(
                f"capability {unknown[0]!r} is not known; use one of {', '.join(CAPABILITIES)}",
                field="capabilities",
                value=unknown[0],
                valid=list(CAPABILITIES),
            )
        limit = None if max_input_price is None else usd(max_input_price)
        pool = self.by_provider(provider) if provider else self._specs.values()
        return [
            s
            for s in pool
            if s.has(*caps)
            and (min_context is None or s.context_window >= min_context)
            and (limit is None or (s.input_per_million is not None and s.input_per_million <= limit))
            and (include_deprecated or not s.deprecated)
        ]


def _merged_profile(spec: ModelSpec, value: object, label: str) -> dict[str, Any] | None:
    """A user's ``quality:`` entry over the model's profile: figures without a source are the user's own."""
    from podium.catalog.mapping import _Invalid

    try:
        figures = figures_from_mapping(value)
    except _Invalid as exc:
        raise ConfigError(f"model {label}: quality = {value!r} is not valid; {exc.valid}",
                          field=f"models.{label}.quality", value=value, valid=exc.valid) from None
    figures = {k: f if f.source else replace(f, source=USER_OVERRIDE_SOURCE) for k, f in figures.items()}
    if spec.quality is None:
        if "overall" not in figures:
            raise ConfigError(f"model {label}: quality needs an 'overall' figure (the model has no profile yet)",
                              field=f"models.{label}.quality.overall", value=value)
        return profile_to_mapping(profile_from_figures(figures))
    return profile_to_mapping(overridden_profile(spec.quality, figures))
