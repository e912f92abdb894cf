"""The in-process write-ahead journal: one appended line per reservation and per settlement, beside the database.

In ``ledger.mode: process`` a reservation is made durable by appending one line to this file (a single
``os.write`` on an O_APPEND descriptor, from the caller's thread) instead of waiting for a database commit, so the
upstream call is not delayed by the commit. The writer thread still writes the real rows in batches.

Durability: without fsync a line sits in the OS page cache, so it survives a crash or SIGKILL of the process (as
SQLite's ``synchronous=NORMAL`` does) but not a power cut; with ``fsync`` every line is flushed to disk first.

On start the ledger replays the journal: each reservation whose final row is not in the database gets it (exactly,
from its settle line, or ``recovered`` at its reserved worst case), then the journal is emptied. While running, a
journal larger than ``max_bytes`` is checkpointed: rewritten with only the entries not yet final in the database.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from podium.core.errors import PodiumError

log = logging.getLogger("podium.ledger")

JOURNAL_SUFFIX = ".podium-journal"  # distinct from SQLite's own "-journal" / "-wal" files
DEFAULT_MAX_BYTES = 256 * 1024
# A reservation line keeps the pending row but for what a pending row always has the same (and its opt-in prompt).
_NOT_RESERVED = frozenset(
    {"status", "cost_usd", "input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens", "prompt"}
)
_SKIP = frozenset({"response"})  # opt-in text can be large; the journal keeps what prices the call
_DECIMALS = frozenset({"reserved_usd", "cost_usd"})
_TIMES = frozenset({"started_at", "finished_at"})
MAX_ERROR_CHARS = 300
Key = tuple[str, int]


class JournalError(PodiumError):
    """The journal could not be written, so a reservation was refused before anything went upstream."""


@dataclass(slots=True)
class JournalEntry:
    """One journaled reservation: its row as reserved, and its final values if a settle line followed."""

    reservation: dict[str, Any]
    final: dict[str, Any] | None = None


# Decimals and datetimes become their exact text (str): "0.0015", "2025-06-10 12:00:00+00:00".
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def encode(kind: str, fields: Mapping[str, Any]) -> bytes:
    """One journal line: ``["R"|"S", {column: value}]``."""
    return (_ENCODER.encode([kind, fields]) + "\n").encode()


def _settle_fields(request_id: str, attempt: int, values: Mapping[str, Any]) -> dict[str, Any]:
    fields = {"request_id": request_id, "attempt": attempt}
    fields.update((k, v) for k, v in values.items() if k not in _SKIP)
    if isinstance(fields.get("error_message"), str):
        fields["error_message"] = fields["error_message"][:MAX_ERROR_CHARS]
    return fields


def _decode(fields: dict[str, Any]) -> dict[str, Any]:
    for name in _DECIMALS & fields.keys():
        if fields[name] is not None:
            fields[name] = Decimal(fields[name])
    for name in _TIMES & fields.keys():
        if fields[name] is not None:
            fields[name] = datetime.fromisoformat(fields[name])
    return fields


def read_journal(path: Path) -> list[JournalEntry]:
    """The reservations a journal holds, in order, each with its settle values when it has a settle line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries: dict[Key, JournalEntry] = {}
    for number, raw in enumerate(data.splitlines(), 1):
        try:
            kind, fields = json.loads(raw)
            fields = _decode(fields)
            key = (str(fields["request_id"]), int(fields["attempt"]))
        except (ValueError, TypeError, KeyError) as exc:
            # Only a power cut can tear a line (a killed process cannot interrupt one write); skip it, keep the rest.
            log.warning("ledger journal %s line %d is unreadable and skipped: %s", path, number, exc)
            continue
        if kind == "R":
            entries.setdefault(key, JournalEntry(fields))
        elif kind == "S" and key in entries:
            entries[key].final = {k: v for k, v in fields.items() if k not in ("request_id", "attempt")}
    return list(entries.values())


def discard_journal(path: Path) -> None:
    """Empty a replayed journal (its entries are in the database now) and remove a half-written checkpoint."""
    Path(f"{path}.tmp").unlink(missing_ok=True)
    if path.exists():
        with path.open("r+b") as f:
            f.truncate(0)


class Journal:
    """An open journal that appends reservation and settle lines; thread-safe, one writing process."""

    def __init__(self, path: Path, *, fsync: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = path
        self.fsync = fsync
        self.max_bytes = max_bytes
        self.checkpoints = 0  # for tests and benchmarks
        self._lock = threading.Lock()
        self._open: dict[Key, list[bytes]] = {}  # lines of reservations not yet final in the database
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._limit = max_bytes

    def reserve(self, row: Mapping[str, Any]) -> None:
        """Append a reservation line; when this returns, the reservation survives a crash of the process."""
        line = encode("R", {k: v for k, v in row.items() if k not in _NOT_RESERVED})
        key = (row["request_id"], row["attempt"])
        with self._lock:
            try:
                self._append(line)
            except OSError as exc:
                raise JournalError(
                    f"the ledger journal {self.path} could not be written ({exc.strerror}); the call was not sent",
                    path=str(self.path),
                ) from exc
            self._open[key] = [line]
            if self._size >= self._limit:
                self._checkpoint()

    def settle(self, request_id: str, attempt: int, values: Mapping[str, Any]) -> None:
        """Append a settle line: a restart writes these exact final values if the database has not got them."""
        line = encode("S", _settle_fields(request_id, attempt, values))
        with self._lock:
            lines = self._open.get((request_id, attempt))
            try:
                self._append(line)
            except OSError as exc:  # the answer is already paid for; its reservation line still guards it
                log.error("ledger journal %s: settle line not written (%s)", self.path, exc.strerror)
                return
            if lines is not None:
                lines.append(line)

    def done(self, request_id: str, attempt: int) -> None:
        """The reservation's final row has committed: a checkpoint may drop its lines."""
        with self._lock:
            self._open.pop((request_id, attempt), None)

    @property
    def pending(self) -> int:
        """Reservations whose final row is not yet committed."""
        return len(self._open)

    def size(self) -> int:
        return self._size

    def checkpoint(self) -> None:
        """Drop every line whose reservation is final in the database (truncate when none is left)."""
        with self._lock:
            if self._size:
                self._checkpoint()

    def close(self) -> None:
        """Checkpoint and close; lines of reservations never settled stay for the next start to recover."""
        with self._lock:
            if self._fd < 0:
                return
            if self._size:
                self._checkpoint()
            os.close(self._fd)
            self._fd = -1

    def _append(self, line: bytes) -> None:
        _write_all(self._fd, line)
        if self.fsync:
            os.fsync(self._fd)
        self._size += len(line)

    def _checkpoint(self) -> None:
        if not self._open:
            os.ftruncate(self._fd, 0)  # O_APPEND: the next line lands at offset 0
            self._size = 0
        else:
            # Write the still-open lines to a new file and rename it over the journal: a crash at any point leaves
            # either the old journal or the complete new one.
            data = b"".join(line for lines in self._open.values() for line in lines)
            tmp = f"{self.path}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, data)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            if self.fsync:
                _fsync_dir(self.path.parent)
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            self._size = len(data)
        # Long-running calls may keep many lines open: do not rewrite on every append while they are in flight.
        self._limit = max(self.max_bytes, 2 * self._size)
        self.checkpoints += 1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(path: Path) -> None:
    """Make a rename durable across a power cut (the directory entry is what changed)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
