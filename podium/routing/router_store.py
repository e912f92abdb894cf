"""Router versions under ``$PODIUM_HOME/router/versions/``: which router files exist, which is in use, and the
history to roll back along.

``registry.json`` lists each version (id, created_at, kind shipped/trained/feedback, what it was trained on,
metrics, file and its sha256) and the ids put in use, oldest first. Training adds a version without switching to it;
``podium router use`` switches, ``podium router rollback`` goes back to the version in use before. With no
registry, ``default_router()`` keeps its old behaviour (``$PODIUM_HOME/router/router_default.json.gz``, else the
shipped router).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.catalog.store import podium_home
from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ValidationError
from podium.routing.feedback_adjust import FeedbackAdjustedRouter, file_sha256, is_adjustment_file

FORMAT = "podium-router-registry/1"
REGISTRY = "registry.json"
KINDS: tuple[str, ...] = ("shipped", "trained", "feedback")
SHIPPED_ID = "shipped"

if TYPE_CHECKING:
    from podium.routing.strategies.base import QualityPredictor


def versions_dir(home: Path | None = None) -> Path:
    return (home if home is not None else podium_home()) / "router" / "versions"


@dataclass(frozen=True, slots=True)
class RouterVersion:
    """One router file the registry knows."""

    id: str
    created_at: str
    kind: str
    trained_on: str
    file: str | None  # None: the router shipped inside the package
    sha256: str
    metrics: dict[str, Any] = field(default_factory=dict)
    base: str | None = None  # a feedback version: the version it adjusts

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _shipped_path() -> Path:
    from podium.routing.learned_router import shipped_router_path

    return shipped_router_path()


def _legacy_path(home: Path | None) -> Path:
    from podium.routing.learned_router import SHIPPED_NAME

    return (home if home is not None else podium_home()) / "router" / SHIPPED_NAME


class RouterStore:
    """The registry of router versions in one Podium home."""

    def __init__(self, home: Path | None = None, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.home = home
        self.root = versions_dir(home)
        self.clock = clock

    @property
    def registry_path(self) -> Path:
        return self.root / REGISTRY

    def exists(self) -> bool:
        return self.registry_path.is_file()

    # -- reading ---------------------------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        if not self.exists():
            return self._initial()
        try:
            data = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationError(f"cannot read the router registry {self.registry_path}: {exc}", field="registry",
                                  value=str(self.registry_path)) from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValidationError(f"{self.registry_path} is not a {FORMAT} file", field="registry",
                                  value=str(self.registry_path))
        return data

    def _initial(self) -> dict[str, Any]:
        """What an absent registry means: the shipped router, and a router an older `router train` wrote."""
        now = self.clock.now().isoformat(timespec="seconds")
        shipped = RouterVersion(SHIPPED_ID, now, "shipped", "bundled recorded data (shipped with Podium)", None,
                                file_sha256(_shipped_path()))
        versions = [shipped.to_dict()]
        legacy = _legacy_path(self.home)
        if legacy.is_file():
            versions.append(RouterVersion("v1", now, "trained", f"an earlier `podium router train` ({legacy.name})",
                                          str(legacy), file_sha256(legacy)).to_dict())
        in_use = versions[-1]["id"]
        return {"format": FORMAT, "in_use": in_use, "history": [in_use], "versions": versions}

    def versions(self) -> list[RouterVersion]:
        return [RouterVersion(**v) for v in self._read()["versions"]]

    def in_use(self) -> RouterVersion:
        data = self._read()
        return self.get(data["in_use"])

    def get(self, version_id: str) -> RouterVersion:
        known = self.versions()
        for v in known:
            if v.id == version_id:
                return v
        raise ValidationError(
            f"router version {version_id!r} does not exist; known versions: {', '.join(v.id for v in known)} "
            "(`podium router list` shows them)",
            field="version", value=version_id, valid=[v.id for v in known],
        )

    def path_of(self, version: RouterVersion) -> Path:
        if version.file is None:
            return _shipped_path()
        path = Path(version.file)
        return path if path.is_absolute() else self.root / path

    # -- writing ---------------------------------------------------------------------------------------------------

    def _write(self, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.registry_path.with_name(REGISTRY + ".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        os.replace(tmp, self.registry_path)

    def _next_id(self, data: Mapping[str, Any]) -> str:
        numbers = [int(v["id"][1:]) for v in data["versions"] if v["id"][:1] == "v" and v["id"][1:].isdigit()]
        return f"v{max(numbers, default=0) + 1}"

    def add(
        self,
        kind: str,
        write: Callable[[Path], None],
        *,
        suffix: str,
        trained_on: str,
        metrics: Mapping[str, Any] | None = None,
        base: str | None = None,
    ) -> RouterVersion:
        """Write a new version's file with ``write(path)`` and register it; the version in use does not change."""
        if kind not in KINDS[1:]:
            raise ValidationError(f"router version kind {kind!r} is not valid; use trained or feedback",
                                  field="kind", value=kind, valid=list(KINDS[1:]))
        data = self._read()
        version_id = self._next_id(data)
        path = self.root / f"{version_id}{suffix}"
        self.root.mkdir(parents=True, exist_ok=True)
        write(path)
        if self._legacy_in(data):
            self._adopt_legacy(data)
        version = RouterVersion(version_id, self.clock.now().isoformat(timespec="seconds"), kind, trained_on,
                                path.name, file_sha256(path), dict(metrics or {}), base)
        data["versions"].append(version.to_dict())
        self._write(data)
        return version

    def _legacy_in(self, data: Mapping[str, Any]) -> bool:
        return any(v["file"] is not None and Path(v["file"]).is_absolute() for v in data["versions"])

    def _adopt_legacy(self, data: dict[str, Any]) -> None:
        # An older `router train` output is copied in, so a later retrain overwriting it cannot change a version.
        for v in data["versions"]:
            if v["file"] is not None and Path(v["file"]).is_absolute():
                target = self.root / f"{v['id']}.json.gz"
                shutil.copyfile(v["file"], target)
                v["file"] = target.name

    def use(self, version_id: str) -> tuple[RouterVersion, RouterVersion]:
        """Put ``version_id`` in use; returns (the version in use before, the one now)."""
        data = self._read()
        before = self.get(data["in_use"])
        now = self.get(version_id)
        if self._legacy_in(data):
            self._adopt_legacy(data)
        data["in_use"] = now.id
        if data["history"][-1:] != [now.id]:
            data["history"].append(now.id)
        self._write(data)
        return before, now

    def rollback(self) -> tuple[RouterVersion, RouterVersion]:
        """Go back to the version in use before the current one; returns (the version left, the one now)."""
        data = self._read()
        history = list(data["history"])
        if len(history) < 2:
            raise ValidationError(
                f"nothing to roll back to: {data['in_use']} is the first version put in use; "
                "`podium router use VERSION` picks any version (`podium router list` shows them)",
                field="version", value=data["in_use"],
            )
        left = history.pop()
        data["history"], data["in_use"] = history, history[-1]
        self._write(data)
        return self.get(left), self.get(history[-1])


def active_router_path(home: Path | None = None) -> Path | None:
    """The file of the router version in use; None when there is no registry (the old default applies)."""
    store = RouterStore(home)
    if not store.exists():
        return None
    return store.path_of(store.in_use())


def load_router_file(path: Path, load_base: Callable[[Path], QualityPredictor]) -> QualityPredictor:
    """The router in ``path``: a full router file (``load_base``) or a feedback adjustment over one."""
    if is_adjustment_file(path):
        return FeedbackAdjustedRouter.load(path, load_base)
    return load_base(path)
