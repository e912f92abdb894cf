"""PodiumConfig, the one immutable settings object built at the edge, and how it is loaded."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium.config.aliases import AliasUse, canonical_sections, fold_key_budgets
from podium.config.cost_preference import COST_PREFERENCE_KEY
from podium.config.env_overrides import apply_overrides, collect_env_overrides
from podium.config.ledger import LedgerSettings
from podium.config.orchestration import OrchestrationConfig, canonical_provider
from podium.config.policy import PolicySettings
from podium.config.providers import DEFAULT_PROVIDERS, ProviderSettings, sdk_base_urls
from podium.config.resilience import ResilienceSettings
from podium.config.routing import RoutingSettings
from podium.config.server import ServerSettings
from podium.config.task_router_file import from_flat, is_flat
from podium.config.telemetry import TelemetrySettings, check_otlp_protocol
from podium.config.validation import config_error_from, flatten, read_text_file, safe_load_yaml, yaml_key_lines
from podium.core.errors import ConfigError

Mode = Literal["live", "replay"]
CONFIG_ENV_VAR = "PODIUM_CONFIG"
DEFAULT_FILE_NAME = "podium.yaml"
# The orchestration tool's location for its file, searched after Podium's own locations.
SEED_FILE = Path(".tta") / "orchestration-config.yaml"
TASK_ROUTER_FILE = Path("orchestration_config.yaml")  # the task-router tool's flat file


class PodiumConfig(BaseModel):
    """Everything Podium reads from podium.yaml and PODIUM_* variables. Immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Mode = "live"  # replay: every call is served by the bundled recorded answers
    default_model: str | None = None
    orchestration: OrchestrationConfig = Field(default_factory=OrchestrationConfig)
    providers: dict[str, ProviderSettings] = Field(default_factory=lambda: dict(DEFAULT_PROVIDERS))
    models: list[dict[str, Any]] = Field(default_factory=list)  # validated by the catalog's with_overrides
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections_are_defaults(cls, data: object) -> object:
        """``routing:`` with nothing under it (a section left empty or all commented out) means the defaults."""
        if isinstance(data, Mapping):
            sections = ("orchestration", "routing", "ledger", "resilience", "telemetry", "server", "policy")
            data = {k: v for k, v in data.items() if not (k in sections and v is None)}
        return data

    @field_validator("providers", mode="before")
    @classmethod
    def _merge_providers(cls, value: object) -> object:
        """User entries override built-in ones field by field; new names add providers."""
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            return value  # pydantic reports the type error
        merged: dict[str, Any] = {name: p.model_dump() for name, p in DEFAULT_PROVIDERS.items()}
        for raw_name, entry in value.items():
            name = canonical_provider(str(raw_name))
            if isinstance(entry, ProviderSettings):
                entry = entry.model_dump()
            if not isinstance(entry, Mapping):
                merged[name] = entry
                continue
            merged[name] = {**merged.get(name, {}), **dict(entry), "name": name}
        return merged

    @field_validator("models", mode="before")
    @classmethod
    def _no_models(cls, value: object) -> object:
        return [] if value is None else value

    @model_validator(mode="after")
    def _executors_use_known_providers(self) -> PodiumConfig:
        for key, executors in (("orchestration", self.orchestration.executors), ("routing", self.routing.executors)):
            for i, ex in enumerate(executors):
                if ex.provider not in self.providers:
                    raise ValueError(
                        f"{key}.executors[{i}].provider {ex.provider!r} is not a known provider; "
                        f"known: {', '.join(sorted(self.providers))} (add others under `providers:`)"
                    )
        return self

    @model_validator(mode="after")
    def _aliases_folded(self) -> PodiumConfig:
        """Every alias folded into its canonical key (podium.config.aliases), so runtime code reads only those."""
        folded = canonical_sections(self.orchestration, self.routing, self.resilience, self.ledger, self.server)
        # Frozen: the sections are replaced once, here, while the object is being built.
        object.__setattr__(self, "routing", folded.routing)
        object.__setattr__(self, "resilience", folded.resilience)
        object.__setattr__(self, "ledger", folded.ledger)
        return self

    def aliases_used(self) -> tuple[AliasUse, ...]:
        """The aliases this configuration set, each with the canonical key it maps to (``podium config check``)."""
        return canonical_sections(self.orchestration, self.routing, self.resilience, self.ledger, self.server).uses

    def with_server(self, server: ServerSettings) -> PodiumConfig:
        """This config serving with ``server`` (the gateway's section, e.g. with --host/--port or keys given in code),
        its key budgets in ``ledger.budgets`` as at load (those of this config's own keys stay). ConfigError when the
        ledger is disabled or a budget of the same key and period differs."""
        if server == self.server:
            return self
        try:
            ledger, _ = fold_key_budgets(self.ledger, server)
        except ValueError as exc:
            raise ConfigError(str(exc), field="server.keys.budget_usd") from None
        return self.model_copy(update={"server": server, "ledger": ledger})

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, path: Path | None = None, sources: Mapping[str, str] | None = None
    ) -> PodiumConfig:
        """Validate ``data``; any problem becomes one ConfigError naming file, key, value and what is valid."""
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            lines = yaml_key_lines(path) if path is not None else {}
            raise config_error_from(exc, cls, path=path, sources=sources or {}, lines=lines) from None


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config, the file it came from (None = defaults only) and each key's source."""

    config: PodiumConfig
    path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def source_of(self, key: str) -> str:
        return self.sources.get(key, "default")


def find_config_file(env: Mapping[str, str], cwd: Path, home: Path) -> Path | None:
    """$PODIUM_CONFIG, else the first file of ``search_path``."""
    explicit = env.get(CONFIG_ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if not path.is_file():
            raise ConfigError(
                f"{CONFIG_ENV_VAR}={explicit} names no file; create it with `podium init {explicit}` "
                f"or unset {CONFIG_ENV_VAR}",
                field=CONFIG_ENV_VAR,
                value=explicit,
            )
        return path
    for candidate in search_path(cwd, home, env):
        if candidate.is_file():
            return candidate
    return None


def search_path(cwd: Path, home: Path, env: Mapping[str, str] | None = None) -> list[Path]:
    """Where Podium looks for a config file when none is named, first match wins: ./podium.yaml,
    ./.podium/config.yaml, $XDG_CONFIG_HOME/podium/config.yaml (~/.config when unset), then the orchestration
    tool's ./.tta/orchestration-config.yaml, then the task-router tool's flat ./orchestration_config.yaml."""
    return [
        cwd / DEFAULT_FILE_NAME,
        cwd / ".podium" / "config.yaml",
        config_home(home, os.environ if env is None else env) / "podium" / "config.yaml",
        cwd / SEED_FILE,
        cwd / TASK_ROUTER_FILE,
    ]


def config_home(home: Path, env: Mapping[str, str]) -> Path:
    """$XDG_CONFIG_HOME, else ~/.config; the XDG spec says a relative value is invalid and is ignored."""
    xdg = env.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".config"


def read_yaml_file(path: Path) -> dict[str, Any]:
    """Parse a config file; syntax errors name the file and line."""
    hint = f"; create one with `podium init {path}`"
    text = read_text_file(path, what="config file", field="path", missing_hint=hint)
    data = safe_load_yaml(text, path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of sections (orchestration:, providers:, ...), "
            f"not {type(data).__name__}",
            field="<top level>",
            value=type(data).__name__,
        )
    return data


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
    use_env_overrides: bool = True,
) -> LoadedConfig:
    """Find, read, override from PODIUM_* variables and validate the configuration."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    if path is not None:
        file: Path | None = Path(path).expanduser()
        if not file.is_absolute():
            file = cwd / file
    else:
        file = find_config_file(env, cwd, home)
    data = read_yaml_file(file) if file is not None else {}
    if is_flat(data):  # the task-router tool's flat orchestration_config.yaml
        data = from_flat(data)
    data = _canonical_provider_keys(data)
    sources = {key: "file" for key in flatten(data)}
    if use_env_overrides:
        data, sdk_sources = _sdk_base_urls(data, env)
        sources.update(sdk_sources)
        overrides = collect_env_overrides(env, ledger_fields=frozenset(LedgerSettings.model_fields))
        data = apply_overrides(data, overrides)
        for ov in overrides:
            sources = {k: v for k, v in sources.items() if not _under(k, ov.key)}
            keys = flatten({ov.key: ov.value}) if isinstance(ov.value, dict) else {ov.key: ov.value}
            sources.update({k: f"env:{ov.var}" for k in keys})
    config = PodiumConfig.from_mapping(data, path=file, sources=sources)
    if use_env_overrides:
        check_otlp_protocol(env, config.telemetry)  # only once it is known whether tracing is on
    effective = {k: sources.get(k, "default") for k in flatten(config.model_dump(mode="json"))}
    for use in config.aliases_used():  # a canonical key filled in by an alias says so
        canonical = use.canonical.split(" ", 1)[0]
        if use.kind == "alias" and effective.get(canonical) == "default":
            effective[canonical] = f"alias:{use.alias}"
    if effective.get(COST_PREFERENCE_KEY, "default") != "default":  # each strategy's weight says where it came from
        for key in config.routing.derived_cost_keys():
            if effective.get(key) == "default":
                effective[key] = f"from:{COST_PREFERENCE_KEY}"
    return LoadedConfig(config=config, path=file, sources=effective)


def _sdk_base_urls(data: dict[str, Any], env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """A provider's SDK variable (OPENAI_BASE_URL) sets its base_url, as that SDK does, unless the file sets one."""
    providers = dict(data.get("providers") or {})
    sources: dict[str, str] = {}
    for name, var in sdk_base_urls().items():
        entry = providers.get(name)
        url = env.get(var, "").strip()
        if not url or (isinstance(entry, dict) and entry.get("base_url")):
            continue
        providers[name] = {**(entry if isinstance(entry, dict) else {}), "base_url": url}
        sources[f"providers.{name}.base_url"] = f"env:{var}"
    return ({**data, "providers": providers}, sources) if sources else (data, sources)


def _under(key: str, prefix: str) -> bool:
    return key == prefix or key.startswith(prefix + ".")


def _canonical_provider_keys(data: dict[str, Any]) -> dict[str, Any]:
    providers = data.get("providers")
    if isinstance(providers, dict):
        data = {**data, "providers": {canonical_provider(str(k)): v for k, v in providers.items()}}
    return data


def default_config_text() -> str:
    """The commented default podium.yaml shipped with the package."""
    from importlib.resources import files

    return files("podium.config").joinpath("default_config.yaml").read_text(encoding="utf-8")


def create_default_config(path: str | Path | None = None, *, force: bool = False, cwd: Path | None = None) -> Path:
    """Write the commented default podium.yaml (default ./podium.yaml); refuse to overwrite unless ``force``."""
    target = Path(path).expanduser() if path is not None else Path(DEFAULT_FILE_NAME)
    if not target.is_absolute():
        target = (Path.cwd() if cwd is None else cwd) / target
    if target.is_dir():
        target = target / DEFAULT_FILE_NAME
    if target.exists() and not force:
        raise ConfigError(
            f"{target} already exists; pass --force (force=True) to overwrite it",
            field="path",
            value=str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(default_config_text(), encoding="utf-8")
    return target
