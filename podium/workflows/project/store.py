"""The checkpoint store: project and task state in SQLite ($PODIUM_HOME/projects.db), one transaction per checkpoint.

Money is stored as decimal text. Migrations are named and forward-only, recorded in ``project_migrations``.
Async callers write through ``acheckpoint``/``acreate``: one writer thread, so writes keep their order and a slow
disk or a lock held by another process never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVarTuple

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ValidationError
from podium.core.json_types import JSONObject
from podium.core.money import ZERO
from podium.workflows.project.checks import CheckOutcome
from podium.workflows.project.spec import ProjectSpec
from podium.workflows.project.state import DONE, ProjectState, TaskState
from podium.workflows.project.tasks import TaskSpec
from podium.workflows.sqlite_store import SQLiteStore

STORE_FILE = "projects.db"

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "001_projects_and_tasks",
        """
        CREATE TABLE projects (
            id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL, spec_json TEXT NOT NULL,
            output_dir TEXT NOT NULL, strategy TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            plan_cost_usd TEXT NOT NULL DEFAULT '0', plan_tokens INTEGER NOT NULL DEFAULT 0, plan_model TEXT,
            stop_reason TEXT, elapsed_s REAL NOT NULL DEFAULT 0, max_usd TEXT, forecast_json TEXT
        );
        CREATE TABLE project_tasks (
            project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE, task_id TEXT NOT NULL,
            position INTEGER NOT NULL, spec_json TEXT NOT NULL, status TEXT NOT NULL, model TEXT,
            cost_usd TEXT NOT NULL DEFAULT '0', tokens INTEGER NOT NULL DEFAULT 0, runs INTEGER NOT NULL DEFAULT 0,
            output_path TEXT, files_json TEXT NOT NULL DEFAULT '[]', score REAL,
            problems_json TEXT NOT NULL DEFAULT '[]', error TEXT, complexity TEXT, updated_at TEXT NOT NULL,
            PRIMARY KEY (project_id, task_id)
        );
        CREATE INDEX project_tasks_by_project ON project_tasks(project_id, position);
        """,
    ),
    ("002_task_checks", "ALTER TABLE project_tasks ADD COLUMN checks_json TEXT NOT NULL DEFAULT '[]'"),
)

_PROJECT_COLUMNS = (
    "title, status, spec_json, output_dir, strategy, updated_at, plan_cost_usd, plan_tokens, plan_model, "
    "stop_reason, elapsed_s, max_usd, forecast_json"
)
_UPDATE_PROJECT = (
    f"UPDATE projects SET {', '.join(c.strip() + ' = ?' for c in _PROJECT_COLUMNS.split(','))} WHERE id = ?"
)
_UPSERT_TASK = (
    "INSERT OR REPLACE INTO project_tasks (project_id, task_id, position, spec_json, status, model, cost_usd, "
    "tokens, runs, output_path, files_json, score, problems_json, error, complexity, updated_at, checks_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
Row = tuple[str | int | float | None, ...]  # one row's SQL parameters
Ts = TypeVarTuple("Ts")


class ProjectStore(SQLiteStore):
    """Reads and writes project checkpoints. Safe to share between threads; open one per database file."""

    MIGRATIONS = MIGRATIONS
    MIGRATIONS_TABLE = "project_migrations"
    PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000")

    def __init__(self, path: str | Path, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podium-projects")
        super().__init__(path, clock=clock)

    @classmethod
    def in_home(cls, home: Path, *, clock: Clock = SYSTEM_CLOCK) -> ProjectStore:
        return cls(home / STORE_FILE, clock=clock)

    # -- writing ----------------------------------------------------------------------------------------------------

    def create(self, state: ProjectState) -> None:
        """Insert a new project (and its tasks, if planned); its id must be new."""
        now = self._clock.now()
        state.created_at = state.updated_at = now
        with self._tx() as db:
            if db.execute("SELECT 1 FROM projects WHERE id = ?", (state.id,)).fetchone():
                raise ValidationError(
                    f"project {state.id!r} already exists; resume it with `podium project resume {state.id}` "
                    "or choose another id",
                    field="project_id",
                    value=state.id,
                )
            db.execute(
                f"INSERT INTO projects (id, created_at, {_PROJECT_COLUMNS}) VALUES (?, ?, {', '.join('?' * 13)})",
                (state.id, now.isoformat(), *_project_values(state)),
            )
            db.executemany(_UPSERT_TASK, self._task_rows(state, list(state.tasks.values())))

    async def acreate(self, state: ProjectState) -> None:
        """``create`` on the writer thread; the project is committed when this returns."""
        await self._on_writer(self.create, state)

    def checkpoint(self, state: ProjectState, *tasks: TaskState) -> None:
        """Save the project row and the given tasks (all tasks when none are given) in one transaction."""
        self._write_checkpoint(*self._checkpoint_rows(state, tasks))

    async def acheckpoint(self, state: ProjectState, *tasks: TaskState) -> None:
        """``checkpoint`` written on the writer thread, off the event loop.

        The rows are taken from ``state`` before this yields, so tasks still running cannot change what is saved;
        the checkpoint is committed when this returns.
        """
        await self._on_writer(self._write_checkpoint, *self._checkpoint_rows(state, tasks))

    async def _on_writer(self, fn: Callable[[*Ts], None], *args: *Ts) -> None:
        await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)

    def _checkpoint_rows(self, state: ProjectState, tasks: tuple[TaskState, ...]) -> tuple[Row, list[Row]]:
        state.updated_at = self._clock.now()
        project = (*_project_values(state), state.id)
        return project, self._task_rows(state, list(tasks) if tasks else list(state.tasks.values()))

    def _write_checkpoint(self, project: Row, task_rows: list[Row]) -> None:
        with self._tx() as db:
            db.execute(_UPDATE_PROJECT, project)
            db.executemany(_UPSERT_TASK, task_rows)

    def _task_rows(self, state: ProjectState, tasks: list[TaskState]) -> list[Row]:
        positions = {tid: i for i, tid in enumerate(state.tasks)}
        now = (state.updated_at or self._clock.now()).isoformat()
        return [
            (
                state.id,
                t.id,
                positions.get(t.id, 0),
                json.dumps(t.spec.to_dict()),
                t.status,
                t.model,
                str(t.cost_usd),
                t.tokens,
                t.runs,
                t.output_path,
                json.dumps(list(t.files)),
                t.score,
                json.dumps(list(t.problems)),
                t.error,
                t.complexity,
                now,
                json.dumps([c.to_dict() for c in t.checks]),
            )
            for t in tasks
        ]

    # -- reading ----------------------------------------------------------------------------------------------------

    def load(self, project_id: str) -> ProjectState:
        """The checkpointed state of ``project_id``."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM projects WHERE id = ?", (project_id,)).fetchone()
            task_rows = self._conn.execute(
                "SELECT * FROM project_tasks WHERE project_id = ? ORDER BY position", (project_id,)
            ).fetchall()
        if row is None:
            raise ValidationError(
                f"no project {project_id!r} in {self.path}; run `podium project list` to see project ids",
                field="project_id",
                value=project_id,
            )
        state = ProjectState(
            id=row["id"],
            spec=ProjectSpec.model_validate(json.loads(row["spec_json"])),
            output_dir=Path(row["output_dir"]),
            strategy=row["strategy"],
            status=row["status"],
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
            plan_cost_usd=Decimal(row["plan_cost_usd"]),
            plan_tokens=row["plan_tokens"],
            plan_model=row["plan_model"],
            stop_reason=row["stop_reason"],
            elapsed_s=row["elapsed_s"],
            max_usd=None if row["max_usd"] is None else Decimal(row["max_usd"]),
            forecast=None if row["forecast_json"] is None else json.loads(row["forecast_json"]),
        )
        for r in task_rows:
            task = _task_state(r)
            state.tasks[task.id] = task
        return state

    def summaries(self) -> list[JSONObject]:
        """One line per project, newest first: id, title, status (and why it stopped), spend and task progress."""
        with self._lock:
            projects = self._conn.execute(
                "SELECT id, title, status, stop_reason, updated_at, plan_cost_usd, max_usd, spec_json, output_dir "
                "FROM projects ORDER BY updated_at DESC, id"
            ).fetchall()
            tasks = self._conn.execute("SELECT project_id, status, cost_usd FROM project_tasks").fetchall()
        by_project: dict[str, list[sqlite3.Row]] = {}
        for t in tasks:
            by_project.setdefault(t["project_id"], []).append(t)
        out = []
        for p in projects:
            rows = by_project.get(p["id"], [])
            spent = Decimal(p["plan_cost_usd"]) + sum((Decimal(t["cost_usd"]) for t in rows), ZERO)
            limit = p["max_usd"] or json.loads(p["spec_json"])["budget"]["max_usd"]
            out.append(
                {
                    "id": p["id"],
                    "title": p["title"],
                    "status": p["status"],
                    "stop_reason": p["stop_reason"],
                    "updated_at": p["updated_at"],
                    "spent_usd": str(spent),
                    "max_usd": str(limit),
                    "tasks_done": sum(1 for t in rows if t["status"] == DONE),
                    "tasks_total": len(rows),
                    "output_dir": p["output_dir"],
                }
            )
        return out

    def close(self) -> None:
        self._writer.shutdown(wait=True)  # writes already handed to the writer thread are committed first
        super().close()


def _project_values(s: ProjectState) -> Row:
    return (
        s.title,
        s.status,
        json.dumps(s.spec.to_dict()),
        str(s.output_dir),
        s.strategy,
        (s.updated_at or s.created_at).isoformat() if (s.updated_at or s.created_at) else "",
        str(s.plan_cost_usd),
        s.plan_tokens,
        s.plan_model,
        s.stop_reason,
        s.elapsed_s,
        None if s.max_usd is None else str(s.max_usd),
        None if s.forecast is None else json.dumps(s.forecast),
    )


def _task_state(r: sqlite3.Row) -> TaskState:
    return TaskState(
        spec=TaskSpec.from_dict(json.loads(r["spec_json"])),
        status=r["status"],
        model=r["model"],
        cost_usd=Decimal(r["cost_usd"]),
        tokens=r["tokens"],
        runs=r["runs"],
        output_path=r["output_path"],
        files=tuple(json.loads(r["files_json"])),
        score=r["score"],
        problems=tuple(json.loads(r["problems_json"])),
        error=r["error"],
        complexity=r["complexity"],
        checks=tuple(CheckOutcome.from_dict(c) for c in json.loads(r["checks_json"])),
    )
