"""Settings for the telemetry layer (the telemetry owner fills these in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TelemetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
