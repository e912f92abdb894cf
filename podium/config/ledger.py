"""Settings for the ledger layer (the ledger owner fills these in)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LedgerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
