"""Settings for the telemetry layer: Prometheus metrics, OpenTelemetry traces and metric exporters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium.core.errors import ConfigError

ExporterKind = Literal["console", "json", "prometheus"]
EXPORTER_KINDS: tuple[str, ...] = ("console", "json", "prometheus")


class ExporterSettings(BaseModel):
    """One metrics exporter: ``console``, or ``json`` / ``prometheus`` writing to ``path``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ExporterKind
    path: str | None = None

    @model_validator(mode="after")
    def _file_exporters_need_a_path(self) -> ExporterSettings:
        if self.kind != "console" and not self.path:
            raise ValueError(
                f"exporter {self.kind!r} writes a file: give it a path, e.g. '{self.kind}:/tmp/podium.out'"
            )
        return self


class TelemetrySettings(BaseModel):
    """Metrics are served on ``metrics_host:metrics_port`` (default 9464) when enabled; traces go to OTLP/HTTP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics_enabled: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    max_label_values: int = Field(default=100, ge=1, description="distinct values per label before 'other'")
    tracing_enabled: bool = False
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP base URL, e.g. http://localhost:4318")
    otlp_traces_endpoint: str | None = Field(
        default=None,
        description="full OTLP/HTTP traces URL, used as given (no /v1/traces added); wins over otlp_endpoint. "
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT sets it",
    )
    service_name: str = "podium"
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    capture_content: bool = Field(default=False, description="put prompt and answer text on spans")
    exporters: tuple[ExporterSettings, ...] = ()
    export_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="also run the exporters every this many seconds while a client is open (None: only when it "
        "closes); for a long-running `podium serve`, e.g. 15",
    )

    @field_validator("exporters", mode="before")
    @classmethod
    def _parse_exporter_strings(cls, value: object) -> object:
        """Accept the short forms users type: ``console``, ``json:/tmp/m.json``, ``prometheus:/var/lib/x.prom``."""
        if value is None:
            return ()
        if isinstance(value, (str, dict, ExporterSettings)):
            value = [value]
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                kind, _, path = item.partition(":")
                item = {"kind": kind.strip().lower(), "path": path.strip() or None}
            out.append(item)
        return tuple(out)


# The variables OpenTelemetry users already set, and OPENTELEMETRY_ENABLED; PODIUM_* variables for the same keys win.
OTLP_ENDPOINT_VARS: tuple[str, ...] = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# The general variable is a base URL (``/v1/traces`` is added); the traces-only one is the full URL, used as given.
_ENDPOINT_KEYS = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "telemetry.otlp_endpoint",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "telemetry.otlp_traces_endpoint",
}
OTLP_PROTOCOL_VARS: tuple[str, ...] = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
SERVICE_NAME_VAR = "OTEL_SERVICE_NAME"
ENABLED_VAR = "OPENTELEMETRY_ENABLED"
_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def telemetry_env_overrides(env: Mapping[str, str]) -> list[tuple[str, str, Any]]:
    """``(variable, dotted key, value)`` for the OpenTelemetry variables, in the order they apply (later wins).

    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-only ``..._TRACES_ENDPOINT``) turns tracing on and exports to it;
    ``OTEL_SERVICE_NAME`` names the service; ``OPENTELEMETRY_ENABLED=true|false`` turns metrics and tracing on or off.
    The protocol variables are checked once the whole configuration is known (``check_otlp_protocol``).
    """
    out: list[tuple[str, str, Any]] = []
    for var in OTLP_ENDPOINT_VARS:
        if endpoint := env.get(var, "").strip():
            out += [(var, _ENDPOINT_KEYS[var], endpoint), (var, "telemetry.tracing_enabled", True)]
    if name := env.get(SERVICE_NAME_VAR, "").strip():
        out.append((SERVICE_NAME_VAR, "telemetry.service_name", name))
    if raw := env.get(ENABLED_VAR, "").strip():
        flag = _FLAGS.get(raw.lower())
        if flag is None:
            raise ConfigError(
                f"environment variable {ENABLED_VAR}={raw!r} is not valid; use true or false (also 1/0, yes/no, on/off)",
                field=ENABLED_VAR,
                value=raw,
                valid="true, false",
            )
        out += [(ENABLED_VAR, "telemetry.metrics_enabled", flag), (ENABLED_VAR, "telemetry.tracing_enabled", flag)]
    return out


def check_otlp_protocol(env: Mapping[str, str], settings: TelemetrySettings) -> None:
    """Podium sends OTLP over HTTP with protobuf bodies; a collector's gRPC port would drop every span silently.

    Only checked when tracing ends up on and an OTEL endpoint variable is set: with tracing off (e.g.
    ``OPENTELEMETRY_ENABLED=false``) a machine-wide ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc`` is ignored.
    """
    if not settings.tracing_enabled:
        return
    endpoint_var = next((v for v in reversed(OTLP_ENDPOINT_VARS) if env.get(v, "").strip()), None)
    if endpoint_var is None:
        return
    for var in OTLP_PROTOCOL_VARS:
        protocol = env.get(var, "").strip()
        if protocol:
            if protocol != "http/protobuf":
                raise ConfigError(
                    f"environment variable {var}={protocol!r} is not supported with {endpoint_var}; Podium exports "
                    "OTLP over HTTP: use http/protobuf and the collector's HTTP port (usually 4318)",
                    field=var,
                    value=protocol,
                    valid="http/protobuf",
                )
            return
