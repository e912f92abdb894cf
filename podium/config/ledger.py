"""Settings for the cost ledger and budgets (``ledger:`` in podium.yaml)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from podium.core.money import usd

BudgetScope = Literal["call", "project", "key", "team", "user", "org", "global"]
BudgetPeriod = Literal["none", "day", "month"]
BudgetMode = Literal["hard", "soft"]
BUDGET_SCOPES: tuple[str, ...] = ("call", "project", "key", "team", "user", "org", "global")


Money = Annotated[Decimal, BeforeValidator(usd)]  # exact: floats from YAML go through repr, never binary


class BudgetSettings(BaseModel):
    """One spending limit. ``id`` None means "each project/key/team/... separately" (or the one global budget)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: BudgetScope
    id: str | None = None
    period: BudgetPeriod = "none"
    limit_usd: Money = Field(ge=0)
    mode: BudgetMode = "hard"
    alert_threshold: Decimal = Field(default=Decimal("0.8"), gt=0, le=1)

    @model_validator(mode="after")
    def _coherent(self) -> BudgetSettings:
        if self.scope == "call" and self.period != "none":
            raise ValueError(f"a per-call budget has no period; remove period: {self.period} (valid: none)")
        if self.scope == "global" and self.id is not None:
            raise ValueError(f"the global budget takes no id; remove id: {self.id}")
        return self


class LedgerSettings(BaseModel):
    """Where the ledger lives, how it locks, and which budgets it enforces.

    ``budgets`` is the one list of spending limits the ledger enforces (podium.ledger.budgets); the aliases
    ``daily_budget_usd``, ``orchestration.cost_tracking`` (a monthly global budget, $100 unless changed or
    disabled) and each gateway key's ``server.keys[].budget_usd`` are folded into it when the config loads.

    ``mode: shared`` (default) checks and reserves budgets in one database transaction per batch, so any number of
    processes may share the database; a reservation waits for that commit. ``mode: process`` keeps the
    authoritative budget counters in memory and takes an exclusive lock on the database so no second process can
    use it; its write-ahead is a line appended to a journal file (``journal``), so a reservation costs tens of
    microseconds. The journal survives a crash of the process; ``journal_fsync`` (or ``sqlite_synchronous: full``)
    also makes it survive a power cut, at the cost of one fsync per reservation.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    url: str | None = None  # default: sqlite file $PODIUM_HOME/ledger.db
    mode: Literal["shared", "process"] = "shared"
    log_text: bool = False  # store prompt and response text in every row
    budgets: tuple[BudgetSettings, ...] = ()
    # Alias of a `budgets` entry {scope: global, period: day} (env: DAILY_BUDGET_USD); folded in by podium.config.aliases.
    daily_budget_usd: Money | None = Field(default=None, ge=0)
    cost_tracking_mode: BudgetMode = "hard"  # mode of the budgets made from daily_budget_usd and orchestration.cost_tracking
    batch_max: int = Field(default=512, ge=1)  # rows per write transaction (group commit)
    sqlite_synchronous: Literal["normal", "full"] = "normal"  # normal survives a process crash; full also a power cut
    busy_timeout_ms: int = Field(default=10_000, ge=0)
    stale_pending_s: float = Field(default=3600.0, gt=0)  # pending rows older than this are recovered by anyone
    lease_s: float = Field(default=30.0, gt=0)  # shared mode: a replica silent this long has its reservations reclaimed
    journal: bool = True  # mode process: write ahead to a journal file rather than waiting for a database commit
    journal_path: str | None = None  # default: beside a SQLite file; with Postgres, process mode journals only here
    journal_fsync: bool | None = None  # None: fsync each journal line when sqlite_synchronous is full

    def database_url(self, home: Path) -> str:
        """The SQLAlchemy URL: ``url`` if set, else a SQLite file in ``home``."""
        if self.url:
            return self.url
        return f"sqlite:///{(home / 'ledger.db').expanduser()}"
