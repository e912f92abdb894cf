"""Settings for the OpenAI-compatible gateway (``server:`` in podium.yaml): bind address and virtual keys."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from podium.config.ledger import BudgetPeriod, BudgetSettings, Money

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_PLAINTEXT_FIELDS = ("key", "api_key", "secret", "token")
_PLAINTEXT_HINT = "<hidden: plaintext keys are not accepted; use key_sha256 (hex SHA-256 of the key) or key_env>"


class VirtualKey(BaseModel):
    """One client key of the gateway. The secret itself is never stored: give its SHA-256 or the variable holding it."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    id: str = Field(min_length=1, description="name shown in the ledger and metrics, never the secret")
    key_env: str | None = Field(default=None, description="environment variable holding the key")
    key_sha256: str | None = Field(
        default=None, description="hex SHA-256 of the key (`echo -n KEY | podium serve --hash-key`)"
    )
    team: str | None = None
    user: str | None = None
    budget_usd: Money | None = Field(
        default=None, ge=0, description="hard spending limit of this key (a ledger.budgets entry once loaded)"
    )
    budget_period: BudgetPeriod = "none"
    rpm: int | None = Field(default=None, gt=0, description="requests per minute this key may send")
    tpm: int | None = Field(
        default=None, gt=0, description="tokens per minute (prompt + answer) this key may use, across replicas"
    )
    allowed_models: tuple[str, ...] | None = Field(
        default=None, description="model ids, aliases or podium/* virtual models this key may use; None = all"
    )

    @model_validator(mode="before")
    @classmethod
    def _no_plaintext(cls, data: object) -> object:
        """A plaintext key is refused (extra="forbid"); its value is replaced first so no error message shows it."""
        if isinstance(data, Mapping) and any(name in data for name in _PLAINTEXT_FIELDS):
            return {k: (_PLAINTEXT_HINT if k in _PLAINTEXT_FIELDS else v) for k, v in data.items()}
        return data

    @field_validator("key_sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digest = value.strip().lower()
        if not _SHA256_HEX.match(digest):
            raise ValueError(
                f"key_sha256 {value[:8]!r}... is not a SHA-256 hex digest; use 64 hex characters, "
                'e.g. the output of `printf %s "$KEY" | sha256sum`'
            )
        return digest

    @model_validator(mode="after")
    def _one_source(self) -> VirtualKey:
        if (self.key_env is None) == (self.key_sha256 is None):
            raise ValueError(f"virtual key {self.id!r} needs exactly one of key_env or key_sha256")
        return self

    def budget(self) -> BudgetSettings | None:
        """This key's budget as a ledger budget of scope ``key``, or None when it has none."""
        if self.budget_usd is None:
            return None
        return BudgetSettings(scope="key", id=self.id, period=self.budget_period, limit_usd=self.budget_usd)


class ServerSettings(BaseModel):
    """The gateway: where it listens and which virtual keys it accepts (no keys = open, loopback only by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    keys: tuple[VirtualKey, ...] = ()
    max_body_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="largest request body accepted")

    @field_validator("keys", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return () if value is None else value

    @model_validator(mode="after")
    def _unique_ids(self) -> ServerSettings:
        seen: set[str] = set()
        for key in self.keys:
            if key.id in seen:
                raise ValueError(f"virtual key id {key.id!r} is used twice; give every key its own id")
            seen.add(key.id)
        return self

    @property
    def open(self) -> bool:
        """True when no keys are configured: every caller is let in."""
        return not self.keys

    def key_budgets(self) -> tuple[BudgetSettings, ...]:
        return tuple(b for k in self.keys if (b := k.budget()) is not None)
