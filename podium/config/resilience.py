"""Settings for the resilience layer (the resilience owner fills these in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ResilienceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
