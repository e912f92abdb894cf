"""Settings for the routing layer (the routing owner fills these in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RoutingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
