"""Run records of the single-shot and batch workflows (advise, draft, problems): one row per run, one per step.

Stored in ``$PODIUM_HOME/workflow_runs.db`` so every run can be evaluated afterwards: its inputs, each step's
outcome, model and cost, and (only when the run was started with prompt logging) the prompts and answers.
A run stopped by its budget keeps its finished steps; resuming it runs only the others. Migrations are named and
forward-only, recorded in ``workflow_run_migrations``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypedDict

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject, JSONValue
from podium.core.money import ZERO
from podium.workflows.sqlite_store import SQLiteStore

STORE_FILE = "workflow_runs.db"
# Run statuses: paused = stopped by its budget or an interruption, resumable; failed = a step could not be done.
RUNNING, COMPLETED, PAUSED, FAILED = "running", "completed", "paused", "failed"

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "001_runs_and_steps",
        """
        CREATE TABLE workflow_runs (
            id TEXT PRIMARY KEY, workflow TEXT NOT NULL, title TEXT NOT NULL, status TEXT NOT NULL,
            inputs_json TEXT NOT NULL, result_json TEXT, spent_usd TEXT NOT NULL DEFAULT '0', max_usd TEXT,
            stop_reason TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE workflow_run_steps (
            run_id TEXT NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE, step_id TEXT NOT NULL,
            position INTEGER NOT NULL, status TEXT NOT NULL, model TEXT, cost_usd TEXT NOT NULL DEFAULT '0',
            tokens INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, output_json TEXT, error TEXT,
            prompts_json TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, step_id)
        );
        """,
    ),
)


class RunSummary(TypedDict):
    """One line of ``RunStore.summaries``."""

    id: str
    workflow: str
    title: str
    status: str
    updated_at: str
    max_usd: str | None
    steps: int
    spent_usd: str


@dataclass(slots=True)
class RunStep:
    """One step of a run (a generated problem, a graded answer, the advice): its outcome and what it cost."""

    id: str
    status: str = COMPLETED
    model: str | None = None
    cost_usd: Decimal = ZERO
    tokens: int = 0
    attempts: int = 0
    output: JSONValue = None
    error: str | None = None
    prompts: list[dict[str, str]] | None = None  # [{"prompt": ..., "response": ...}] when prompt logging is on

    def to_dict(self) -> JSONObject:
        return {
            "id": self.id,
            "status": self.status,
            "model": self.model,
            "cost_usd": str(self.cost_usd),
            "tokens": self.tokens,
            "attempts": self.attempts,
            "output": self.output,
            "error": self.error,
            **({"prompts": self.prompts} if self.prompts is not None else {}),
        }


@dataclass(slots=True)
class RunRecord:
    id: str
    workflow: str
    title: str
    inputs: JSONObject
    status: str = RUNNING
    result: JSONValue = None
    max_usd: Decimal | None = None
    stop_reason: str | None = None
    steps: dict[str, RunStep] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def spent_usd(self) -> Decimal:
        return sum((s.cost_usd for s in self.steps.values()), ZERO)

    def to_dict(self) -> JSONObject:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "title": self.title,
            "status": self.status,
            "stop_reason": self.stop_reason,
            "inputs": self.inputs,
            "result": self.result,
            "budget": {
                "max_usd": None if self.max_usd is None else str(self.max_usd),
                "spent_usd": str(self.spent_usd),
            },
            "steps": [s.to_dict() for s in self.steps.values()],
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


class RunStore(SQLiteStore):
    """Reads and writes run records. Safe to share between threads."""

    MIGRATIONS = MIGRATIONS
    MIGRATIONS_TABLE = "workflow_run_migrations"
    PRAGMAS = ("busy_timeout = 5000",)

    @classmethod
    def in_home(cls, home: Path, *, clock: Clock = SYSTEM_CLOCK) -> RunStore:
        return cls(Path(home) / STORE_FILE, clock=clock)

    def _now(self) -> str:
        return self._clock.now().isoformat()

    def exists(self, run_id: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM workflow_runs WHERE id = ?", (run_id,)).fetchone() is not None

    def save(self, run: RunRecord, *steps: RunStep) -> None:
        """Write the run row and the given steps in one transaction."""
        now = self._now()
        run.created_at = run.created_at or now
        run.updated_at = now
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO workflow_runs (id, workflow, title, status, inputs_json, result_json, "
                "spent_usd, max_usd, stop_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.id,
                    run.workflow,
                    run.title,
                    run.status,
                    json.dumps(run.inputs),
                    json.dumps(run.result),
                    str(run.spent_usd),
                    None if run.max_usd is None else str(run.max_usd),
                    run.stop_reason,
                    run.created_at,
                    now,
                ),
            )
            positions = list(run.steps)
            for step in steps:
                db.execute(
                    "INSERT OR REPLACE INTO workflow_run_steps (run_id, step_id, position, status, model, cost_usd, "
                    "tokens, attempts, output_json, error, prompts_json, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.id,
                        step.id,
                        positions.index(step.id) if step.id in positions else len(positions),
                        step.status,
                        step.model,
                        str(step.cost_usd),
                        step.tokens,
                        step.attempts,
                        json.dumps(step.output),
                        step.error,
                        None if step.prompts is None else json.dumps(step.prompts),
                        now,
                    ),
                )

    def load(self, run_id: str, *, workflow: str | None = None) -> RunRecord:
        """The run; a ValidationError naming the id (and how to list runs) when there is none."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM workflow_runs WHERE id = ?", (run_id,)).fetchone()
            steps = self._conn.execute(
                "SELECT * FROM workflow_run_steps WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
        if row is None or (workflow is not None and row["workflow"] != workflow):
            listing = (
                "podium problems list" if (workflow or "problems").startswith("problems") else "podium project list"
            )
            raise ValidationError(
                f"no {workflow or 'workflow'} run with id {run_id!r}; see `{listing}`",
                field="run_id",
                value=run_id,
            )
        run = RunRecord(
            id=row["id"],
            workflow=row["workflow"],
            title=row["title"],
            inputs=json.loads(row["inputs_json"]),
            status=row["status"],
            result=json.loads(row["result_json"]) if row["result_json"] else None,
            max_usd=Decimal(row["max_usd"]) if row["max_usd"] is not None else None,
            stop_reason=row["stop_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for s in steps:
            run.steps[s["step_id"]] = RunStep(
                id=s["step_id"],
                status=s["status"],
                model=s["model"],
                cost_usd=Decimal(s["cost_usd"]),
                tokens=s["tokens"],
                attempts=s["attempts"],
                output=json.loads(s["output_json"]) if s["output_json"] else None,
                error=s["error"],
                prompts=json.loads(s["prompts_json"]) if s["prompts_json"] else None,
            )
        return run

    def summaries(self, workflow: str | None = None) -> list[RunSummary]:
        """Every run (of ``workflow``), newest first."""
        sql = (
            "SELECT r.id, r.workflow, r.title, r.status, r.updated_at, r.max_usd, "
            "COALESCE((SELECT COUNT(*) FROM workflow_run_steps s WHERE s.run_id = r.id), 0) AS steps "
            "FROM workflow_runs r"
        )
        args: tuple[str, ...] = ()
        if workflow is not None:
            sql, args = sql + " WHERE r.workflow = ?", (workflow,)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY r.updated_at DESC, r.id", args).fetchall()
        out: list[RunSummary] = []
        for r in rows:
            out.append(
                {
                    "id": r["id"],
                    "workflow": r["workflow"],
                    "title": r["title"],
                    "status": r["status"],
                    "updated_at": r["updated_at"],
                    "max_usd": r["max_usd"],
                    "steps": r["steps"],
                    "spent_usd": str(self.load(r["id"]).spent_usd),
                }
            )
        return out
