"""Explicit feedback on answers: which ledger row a verdict attaches to, storing it (a repeat replaces it), reading it.

A direct call's id names its rows (attempts 1..n; the last answered one is rated). A routed call ``<id>`` has
sub-calls ``<id>.1``, ``<id>.2``, ...: a verdict on ``<id>`` (or on one of its sub-calls) is stored under ``<id>``
and attaches to the sub-call whose answer was returned: the one a gate kept, else the last answer no gate
escalated. Gate verdicts in the ``gates`` column are read here too, as weak labels for training.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from podium.core.errors import PodiumError, ValidationError
from podium.ledger.rows import CACHE_HIT, OK
from podium.ledger.schema import calls, feedback

LABELS: tuple[str, ...] = ("good", "bad")
GOOD_FROM = 0.5  # a score at or above this is labelled good
MAX_NOTE_CHARS = 2000
_ANSWERED = (OK, CACHE_HIT)
_SUB_CALL = re.compile(r"^(?P<parent>.+)\.(?P<n>\d+)$")
_VALID = "good, bad, or a score from 0 to 1 (e.g. 0.8)"


class UnknownRequestError(PodiumError, LookupError):
    """No call with this id is in the ledger (or it belongs to another virtual key)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            f"request {request_id!r} is not in the ledger; use the id a call returned "
            "(x-podium-request-id, or `podium logs` lists recent ones)",
            request_id=request_id,
        )
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rating: a score in [0, 1] and its good/bad label."""

    score: float
    label: str


def parse_verdict(value: object, *, field: str = "verdict") -> Verdict:
    """``good``/``bad`` or a score 0..1 (a number or its text); anything else is one line naming ``field``."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in LABELS:
            return Verdict(1.0 if text == "good" else 0.0, text)
        try:
            value = float(text)
        except ValueError:
            raise ValidationError(f"{field} {value!r} is not valid; use {_VALID}", field=field, value=value,
                                  valid=_VALID) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0.0 <= value <= 1.0:
        raise ValidationError(f"{field} {value!r} is not valid; use {_VALID}", field=field, value=value, valid=_VALID)
    score = float(value)
    return Verdict(score, "good" if score >= GOOD_FROM else "bad")


def check_note(note: object, *, field: str = "note") -> str | None:
    if note is None:
        return None
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise ValidationError(f"{field} must be text of at most {MAX_NOTE_CHARS} characters", field=field,
                              valid=f"text, up to {MAX_NOTE_CHARS} characters")
    return note


@dataclass(frozen=True, slots=True)
class Feedback:
    """A stored verdict: the call it rates, the ledger row (and model) of the answer, and whether it replaced one."""

    request_id: str
    call_request_id: str
    attempt: int
    model: str
    task_type: str | None
    score: float
    label: str
    note: str | None
    key: str | None
    team: str | None
    created_at: datetime
    updated_at: datetime
    replaced: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"], out["updated_at"] = self.created_at.isoformat(), self.updated_at.isoformat()
        return out


_TARGET_COLS = (calls.c.request_id, calls.c.attempt, calls.c.model, calls.c.task_type, calls.c.status,
                calls.c.gates, calls.c.key, calls.c.team)


def _candidate_rows(conn: Connection, request_id: str, queued: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``request_id``, its sub-calls and (when it looks like a sub-call) its parent; queued ones too."""
    c = calls.c
    m = _SUB_CALL.match(request_id)
    ids = [request_id] + ([m["parent"]] if m else [])
    stmt = sa.select(*_TARGET_COLS).where(
        sa.or_(c.request_id.in_(ids), c.request_id.startswith(request_id + ".", autoescape=True))
    ).order_by(c.id)
    rows = [dict(r._mapping) for r in conn.execute(stmt)]
    names = [col.name for col in _TARGET_COLS]
    for q in queued:  # rows in this same write batch are not visible to the SELECT yet
        rid = q["request_id"]
        if rid in ids or rid.startswith(request_id + "."):
            rows.append({n: q.get(n) for n in names})
    return rows


def _outcome(row: dict[str, Any]) -> str | None:
    gates = row.get("gates")
    if isinstance(gates, str):
        try:
            gates = json.loads(gates)
        except ValueError:
            return None
    return gates.get("outcome") if isinstance(gates, dict) else None


def _answer(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The last answered attempt of one request id."""
    answered = [r for r in rows if r["status"] in _ANSWERED]
    return max(answered, key=lambda r: r["attempt"]) if answered else None


def _chosen_sub_call(rows: Sequence[dict[str, Any]], parent: str) -> dict[str, Any] | None:
    """The routed call's returned answer: the sub-call a gate kept, else the last one no gate escalated."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        m = _SUB_CALL.match(r["request_id"])
        if m and m["parent"] == parent:
            groups.setdefault(int(m["n"]), []).append(r)
    answers = [a for _, g in sorted(groups.items()) if (a := _answer(g)) is not None]
    kept = [a for a in answers if _outcome(a) == "kept"]
    if kept:
        return kept[-1]
    unescalated = [a for a in answers if _outcome(a) != "escalated"]
    return (unescalated or answers or [None])[-1]


def resolve_target(
    conn: Connection, request_id: str, *, key: str | None = None, queued: Sequence[dict[str, Any]] = ()
) -> tuple[str, dict[str, Any]]:
    """(the id feedback is stored under, the ledger row of the rated answer); raises UnknownRequestError."""
    rows = _candidate_rows(conn, request_id, queued)
    exact = [r for r in rows if r["request_id"] == request_id]
    m = _SUB_CALL.match(request_id)
    if exact:
        parent_rows = m is not None and any(r["request_id"] == m["parent"] for r in rows)
        stored_as = m["parent"] if m is not None and not parent_rows else request_id
        target, scope_rows = _answer(exact), exact
    else:
        stored_as = request_id
        scope_rows = [r for r in rows if (s := _SUB_CALL.match(r["request_id"])) and s["parent"] == request_id]
        target = _chosen_sub_call(scope_rows, request_id)
    if not scope_rows or (key is not None and any(r["key"] != key for r in scope_rows)):
        raise UnknownRequestError(request_id)  # another key's call reads as unknown: its existence is not shown
    if target is None:
        raise ValidationError(
            f"request {request_id!r} has no answer to rate: every attempt failed", field="request_id",
            value=request_id,
        )
    return stored_as, target


def store_feedback(
    conn: Connection,
    request_id: str,
    verdict: Verdict,
    *,
    note: str | None,
    key: str | None,
    now: datetime,
    queued: Sequence[dict[str, Any]] = (),
) -> Feedback:
    """Attach ``verdict`` to the call's answer; a verdict already stored for the call is replaced, not added."""
    stored_as, target = resolve_target(conn, request_id, key=key, queued=queued)
    f = feedback.c
    values = {
        "call_request_id": target["request_id"], "attempt": target["attempt"], "model": target["model"],
        "task_type": target["task_type"], "score": verdict.score, "label": verdict.label, "note": note,
        "key": target["key"], "team": target["team"], "updated_at": now,
    }
    existing = conn.execute(sa.select(f.created_at).where(f.request_id == stored_as)).first()
    if existing is None:
        conn.execute(feedback.insert().values(request_id=stored_as, created_at=now, **values))
        created = now
    else:
        conn.execute(feedback.update().where(f.request_id == stored_as).values(**values))
        created = existing[0]
    return Feedback(stored_as, target["request_id"], target["attempt"], target["model"], target["task_type"],
                    verdict.score, verdict.label, note, target["key"], target["team"], created, now,
                    replaced=existing is not None)


def feedback_rows(
    conn: Connection, *, key: str | None = None, team: str | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Stored feedback, oldest first, each with the rated answer's prompt when the ledger kept it (``log_text``)."""
    f, c = feedback.c, calls.c
    stmt = sa.select(feedback, c.prompt).select_from(
        feedback.outerjoin(calls, sa.and_(c.request_id == f.call_request_id, c.attempt == f.attempt))
    )
    if key is not None:
        stmt = stmt.where(f.key == key)
    if team is not None:
        stmt = stmt.where(f.team == team)
    if since is not None:
        stmt = stmt.where(f.updated_at >= since)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(f.id))]


def gate_verdicts(conn: Connection, *, since: datetime | None = None) -> list[dict[str, Any]]:
    """Answers a quality gate kept or escalated (weak labels), leaving out those a user rated explicitly."""
    c, f = calls.c, feedback.c
    rated = {(r[0], r[1]) for r in conn.execute(sa.select(f.call_request_id, f.attempt))}
    stmt = sa.select(c.request_id, c.attempt, c.model, c.task_type, c.gates, c.prompt, c.key, c.team,
                     c.started_at).where(c.gates.is_not(None), c.status.in_(_ANSWERED))
    if since is not None:
        stmt = stmt.where(c.started_at >= since)
    out = []
    for r in conn.execute(stmt.order_by(c.id)):
        row = dict(r._mapping)
        outcome = _outcome(row)
        if outcome in ("kept", "escalated") and (row["request_id"], row["attempt"]) not in rated:
            row["outcome"] = outcome
            del row["gates"]
            out.append(row)
    return out
