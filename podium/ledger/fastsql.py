"""Hot-path statements run on the DBAPI cursor of the writer's connection, inside its open transaction.

``Connection.execute`` costs ~45 µs of bookkeeping per statement on top of the ~4 µs the cursor needs, and the
writer runs the same few statements for every call (read and write a budget total, finalize a row). Those are
compiled once per dialect (and per list of SET columns) by SQLAlchemy and then run on the cursor with the same
SQL and the same conversions: each bound column type's bind processor, each result column type's result processor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

_Proc = Callable[[Any], Any] | None


class _Plan:
    __slots__ = ("binds", "names", "order", "results", "sql")

    def __init__(
        self, sql: str, binds: dict[str, tuple[Any, _Proc]], names: tuple[str, ...] | None, results: list[_Proc]
    ) -> None:
        self.sql, self.binds, self.names, self.results = sql, binds, names, results
        # Positional dialects (SQLite): each placeholder's (name, default, processor), in order, looked up once.
        self.order = None if names is None else tuple((n, *binds[n]) for n in names)


class FastStatement:
    """``statement`` compiled per dialect; ``result_types`` are the types of the columns it returns, in order."""

    def __init__(self, statement: ClauseElement, result_types: Sequence[TypeEngine[Any]] = ()) -> None:
        self._statement = statement
        self._result_types = tuple(result_types)
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def _plan(self, dialect: Dialect, set_columns: tuple[str, ...]) -> _Plan:
        plan = self._plans.get((dialect.name, set_columns))
        if plan is None:
            compiled = self._statement.compile(dialect=dialect, column_keys=list(set_columns))
            binds = {
                name: (bp.effective_value, bp.type.dialect_impl(dialect).bind_processor(dialect))
                for name, bp in compiled.binds.items()
            }
            names = tuple(compiled.positiontup or ()) if dialect.positional else None
            results = [t.dialect_impl(dialect).result_processor(dialect, None) for t in self._result_types]
            plan = self._plans[(dialect.name, set_columns)] = _Plan(compiled.string, binds, names, results)
        return plan

    @staticmethod
    def _args(plan: _Plan, params: Mapping[str, Any]) -> Any:
        get = params.get
        if plan.order is not None:
            return tuple([get(n, d) if p is None else p(get(n, d)) for n, d, p in plan.order])
        return {n: get(n, d) if p is None else p(get(n, d)) for n, (d, p) in plan.binds.items()}

    def run(
        self, cursor: Any, dialect: Dialect, params: Mapping[str, Any], set_columns: tuple[str, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """Execute on ``cursor`` (of a ``dialect`` connection) with ``params`` (SET/VALUES columns named in
        ``set_columns``); return the processed result rows."""
        plan = self._plan(dialect, set_columns)
        cursor.execute(plan.sql, self._args(plan, params))
        rows = cursor.fetchall() if cursor.description is not None else []
        if not any(plan.results):
            return [tuple(r) for r in rows]
        return [tuple(v if p is None else p(v) for v, p in zip(r, plan.results, strict=True)) for r in rows]

    def run_many(
        self, cursor: Any, dialect: Dialect, rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...]
    ) -> None:
        """Execute once per row (``executemany``); every row has exactly ``columns``."""
        plan = self._plan(dialect, columns)
        cursor.executemany(plan.sql, [self._args(plan, row) for row in rows])
