"""Every model a config names, checked against the catalog: a typo is found by `podium config check`, not by the
first call that reaches it.

What counts as a model reference: ``default_model``; ``orchestration.orchestrator.model``, each executor's
``provider:model``, ``orchestration.fallback_strategy.models``; ``routing.executors`` and
``resilience.fallback.models`` when set directly (not through those aliases); ``routing.candidates``, ``chains``,
``judge_model``, ``ensemble_models``, ``aggregator_model`` and each ``task_table`` row's ``primary`` and
``fallbacks``; and ``server.keys[i].allowed_models`` entries that are plain names (globs such as ``openai:*`` and
``podium/*`` virtual models are patterns, not references). Policy model lists are globs over ids, bare names and
aliases, so they are not checked here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from podium.catalog.catalog import Catalog
from podium.config.aliases import key_of
from podium.config.root import PodiumConfig

_GLOB_CHARS = frozenset("*?[")
_VIRTUAL_PREFIX = "podium/"


@dataclass(frozen=True, slots=True)
class BadModelReference:
    """A config key naming a model the catalog does not know, with the closest known names."""

    key: str  # dotted config path, e.g. ``routing.candidates[1]``
    name: str
    suggestions: tuple[str, ...] = ()

    def message(self) -> str:
        """``routing.candidates[1] = 'gpt-4o-mni' is not a known model (did you mean gpt-4o-mini?)``."""
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return (
            f"{self.key} = {self.name!r} is not a known model{hint}; run `podium models` to list models, "
            "or add it under `models:`"
        )


def model_references(config: PodiumConfig) -> Iterator[tuple[str, str]]:
    """(config key, model name) for every model ``config`` (a PodiumConfig) names, in the order of the file."""
    if config.default_model:
        yield "default_model", config.default_model
    orch = config.orchestration
    yield "orchestration.orchestrator.model", orch.orchestrator.model
    for i, executor in enumerate(orch.executors):
        yield f"orchestration.executors[{i}].model", executor.model_id
    yield from _listed("orchestration.fallback_strategy.models", orch.fallback_strategy.models)
    routing = config.routing
    if key_of(config, "routing.executors") == "routing.executors":
        for i, executor in enumerate(routing.executors):
            yield f"routing.executors[{i}].model", executor.model_id
    if key_of(config, "resilience.fallback.models") == "resilience.fallback.models":
        yield from _listed("resilience.fallback.models", config.resilience.fallback.models)
    yield from _listed("routing.candidates", routing.candidates)
    for name, chain in routing.chains.items():
        yield from _listed(f"routing.chains.{name}", chain)
    for key in ("judge_model", "aggregator_model"):
        if getattr(routing, key):
            yield f"routing.{key}", getattr(routing, key)
    yield from _listed("routing.ensemble_models", routing.ensemble_models)
    yield from _listed("routing.trial_models", routing.trial_models)
    for task, row in routing.task_table.items():
        yield f"routing.task_table.{task}.primary", row.primary
        yield from _listed(f"routing.task_table.{task}.fallbacks", row.fallbacks)
    for i, key in enumerate(config.server.keys):
        for j, name in enumerate(key.allowed_models or ()):
            if not name.startswith(_VIRTUAL_PREFIX) and not _GLOB_CHARS & set(name):
                yield f"server.keys[{i}].allowed_models[{j}]", name


def _listed(key: str, names: Iterable[str] | None) -> Iterator[tuple[str, str]]:
    for i, name in enumerate(names or ()):
        yield f"{key}[{i}]", name


def check_model_references(config: PodiumConfig, catalog: Catalog) -> list[BadModelReference]:
    """Every reference in ``config`` that ``catalog`` cannot resolve, with up to three suggestions each."""
    return [
        BadModelReference(key, name, tuple(catalog.suggest(name)))
        for key, name in model_references(config)
        if name not in catalog
    ]
