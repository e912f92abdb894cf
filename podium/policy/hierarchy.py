"""Policies by scope (global, team, job, key), loaded from podium.yaml and/or a YAML or JSON policy file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pydantic

from podium.config.policy import Policy, PolicyDocument, PolicySettings
from podium.config.validation import config_error_from, read_text_file, safe_load_yaml, yaml_key_lines
from podium.core.errors import ConfigError
from podium.policy.policy_set import PolicySet


class PolicyHierarchy:
    """Global policies plus team, job (CallMeta.project) and key policies; a call gets the ones matching it."""

    def __init__(self, document: PolicyDocument | None = None) -> None:
        self.document = document or PolicyDocument()

    @classmethod
    def from_settings(cls, settings: PolicySettings, *, cwd: Path | None = None) -> PolicyHierarchy:
        """The ``policy:`` section: the file's policies (when ``file:`` is set) followed by the inline ones."""
        inline = document(settings.global_, settings.team, settings.job, settings.key)
        if settings.file is None:
            return cls(inline)
        path = Path(settings.file).expanduser()
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        return load_policy_file(path).merged(cls(inline))

    def merged(self, other: PolicyHierarchy) -> PolicyHierarchy:
        """This hierarchy's policies, then ``other``'s, scope by scope."""
        a, b = self.document, other.document

        def join(x: Mapping[str, tuple[Policy, ...]], y: Mapping[str, tuple[Policy, ...]]) -> dict[str, Any]:
            return {k: (*x.get(k, ()), *y.get(k, ())) for k in {**x, **y}}

        return PolicyHierarchy(
            document((*a.global_, *b.global_), join(a.team, b.team), join(a.job, b.job), join(a.key, b.key))
        )

    def policies_for(self, *, team: str | None = None, job: str | None = None, key: str | None = None) -> PolicySet:
        """Global policies, then those of ``team``, ``job`` and ``key`` (when given)."""
        doc = self.document
        pairs = [(p, "global") for p in doc.global_]
        for scope, table, name in (("team", doc.team, team), ("job", doc.job, job), ("key", doc.key, key)):
            if name is not None:
                pairs += [(p, f"{scope} {name}") for p in table.get(name, ())]
        return PolicySet([p for p, _ in pairs], scopes=[s for _, s in pairs])

    def all_policies(self) -> PolicySet:
        """Every policy of every scope (what a checker looks at)."""
        pairs = [(p, "global" if s == "global" else f"{s} {name}") for s, tables in self.document.scopes().items()
                 for name, ps in tables.items() for p in ps]
        return PolicySet([p for p, _ in pairs], scopes=[s for _, s in pairs])

    def __bool__(self) -> bool:
        return any(ps for tables in self.document.scopes().values() for ps in tables.values())

    def __repr__(self) -> str:
        return f"PolicyHierarchy({len(self.all_policies())} policies)"


def document(
    global_: Iterable[Policy] = (),
    team: Mapping[str, Iterable[Policy]] | None = None,
    job: Mapping[str, Iterable[Policy]] | None = None,
    key: Mapping[str, Iterable[Policy]] | None = None,
) -> Any:
    """A PolicyDocument from already-validated policies."""

    def table(x: Mapping[str, Iterable[Policy]] | None) -> dict[str, tuple[Policy, ...]]:
        return {k: tuple(v) for k, v in (x or {}).items()}

    return PolicyDocument.model_construct(**{"global": tuple(global_)}, team=table(team), job=table(job), key=table(key))


def load_policy_file(path: str | Path) -> PolicyHierarchy:
    """Read a YAML or JSON policy file with ``global:``, ``team:``, ``job:`` and ``key:`` sections."""
    file = Path(path).expanduser()
    text = read_text_file(file, what="policy file", field="policy.file")
    data = _parse(text, file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping with global:, team:, job: or key:, not {type(data).__name__}",
            field="<top level>",
            value=type(data).__name__,
            valid=["global", "team", "job", "key"],
        )
    try:
        document = PolicyDocument.model_validate(data)
    except pydantic.ValidationError as exc:
        lines = yaml_key_lines(file)
        raise config_error_from(exc, PolicyDocument, path=file, sources={}, lines=lines) from None
    return PolicyHierarchy(document)


def _parse(text: str, file: Path) -> Any:
    if file.suffix.lower() != ".json":
        return safe_load_yaml(text, file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{file} line {exc.lineno}, column {exc.colno}: JSON syntax error: {exc.msg}",
            field="path",
            value=str(file),
            valid="valid JSON",
        ) from None
