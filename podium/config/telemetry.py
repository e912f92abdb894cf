"""Settings for the telemetry layer: Prometheus metrics, OpenTelemetry traces and metric exporters."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ExporterKind = Literal["console", "json", "prometheus"]
EXPORTER_KINDS: tuple[str, ...] = ("console", "json", "prometheus")


class ExporterSettings(BaseModel):
    """One metrics exporter (seed 003): ``console``, or ``json`` / ``prometheus`` writing to ``path``."""

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
    """Metrics are served on ``metrics_host:metrics_port`` (seed 000: 9464) when enabled; traces go to OTLP/HTTP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics_enabled: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    max_label_values: int = Field(default=100, ge=1, description="distinct values per label before 'other'")
    tracing_enabled: bool = False
    otlp_endpoint: str | None = Field(default=None, description="OTLP/HTTP base URL, e.g. http://localhost:4318")
    service_name: str = "podium"
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    capture_content: bool = Field(default=False, description="put prompt and answer text on spans")
    exporters: tuple[ExporterSettings, ...] = ()

    @field_validator("exporters", mode="before")
    @classmethod
    def _parse_exporter_strings(cls, value: Any) -> Any:
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
