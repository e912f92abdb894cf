"""A compact prompt index over the recorded files: normalized prompt -> where its rows are, answers decoded on demand.

Parsing every recorded answer takes about a second; replay needs one row. The index ships in ``podium/data``
(``python tools/build_replay_index.py`` regenerates it after the recorded files change) and maps a short hash of each
normalized prompt to its rows' character ranges in the decompressed files, so a lookup reads one file and parses
one row. A stale or missing index is rebuilt from the files in memory, so answers never depend on it being fresh.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from podium.core.errors import ValidationError
from podium.providers.recorded_data import (
    EvalRecord,
    ModelLookup,
    ModelNameResolver,
    bundled_paths,
    default_catalog,
    model_columns,
    normalize_prompt,
    parse_rows,
)

log = logging.getLogger(__name__)

INDEX_FILE = "replay_index.json"
INDEX_FORMAT = 1
_KEY_BYTES = 8  # 64-bit keys: a collision is caught by comparing the decoded prompt, never served


def prompt_key(text: str) -> str:
    """The index key of a prompt: a short hash of its normalized text."""
    return hashlib.blake2b(normalize_prompt(text).encode("utf-8"), digest_size=_KEY_BYTES).hexdigest()


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    size: int  # bytes on disk: an index built from another version of the file is stale
    header: list[str]


def _decoded(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8-sig")


def _row_spans(text: str) -> Iterator[tuple[list[str], int, int]]:
    """Each CSV record of ``text`` with its [start, end) character range (the csv module never reads ahead)."""
    pos = 0

    def lines() -> Iterator[str]:
        nonlocal pos
        for line in io.StringIO(text, newline=""):
            pos += len(line)
            yield line

    reader = csv.reader(lines())
    start = 0
    for cells in reader:
        yield cells, start, pos
        start = pos


def build_index(paths: Sequence[Path], *, catalog: ModelLookup | None = None) -> dict[str, Any]:
    """The index document for these recorded files (JSON-ready)."""
    catalog = catalog if catalog is not None else default_catalog()
    files: list[dict[str, Any]] = []
    prompts: dict[str, list[list[int]]] = {}
    for file_no, path in enumerate(paths):
        text = _decoded(path)
        spans = _row_spans(text)
        header = next(spans)[0]
        resolver = ModelNameResolver(catalog, source=str(path))
        row_no = 2
        for cells, start, end in spans:
            if not cells:  # csv.DictReader skips blank lines without numbering them; so do we
                continue
            (record,) = parse_rows(path, header, [_as_row(header, cells)], resolver, first_row=row_no)
            prompts.setdefault(prompt_key(record.prompt), []).append([file_no, row_no, start, end])
            row_no += 1
        files.append({"name": path.name, "bytes": path.stat().st_size, "header": header})
    return {
        "format": INDEX_FORMAT,
        "regenerate": "python tools/build_replay_index.py",
        "files": files,
        "prompts": prompts,
    }


def _as_row(header: list[str], cells: list[str]) -> dict[str, str]:
    # As csv.DictReader: a short row's missing cells are None (read as empty).
    return {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(header)}  # type: ignore[misc]


class PromptIndex:
    """Finds the recorded rows of a prompt and decodes only those; each file is read at most once."""

    def __init__(self, files: Sequence[_File], prompts: dict[str, list[list[int]]], catalog: ModelLookup | None):
        self._files = list(files)
        self._prompts = prompts
        self._resolvers = [ModelNameResolver(catalog, source=str(f.path)) for f in self._files]
        self._texts: dict[int, str] = {}
        self._rows: dict[tuple[int, int], EvalRecord] = {}

    @classmethod
    def load(cls, paths: Sequence[Path], index_path: Path, *, catalog: ModelLookup | None = None) -> PromptIndex:
        """The shipped index when it matches ``paths``; otherwise one built from the files now (slower, same answers)."""
        catalog = catalog if catalog is not None else default_catalog()
        doc = _read_index(index_path)
        files = _matching_files(doc, paths) if doc is not None else None
        if files is None:
            log.info("%s is missing or stale; indexing the recorded files now", index_path)
            doc = build_index(paths, catalog=catalog)
            files = [_File(p, f["bytes"], f["header"]) for p, f in zip(paths, doc["files"], strict=True)]
        return cls(files, doc["prompts"], catalog)

    def model_ids(self) -> set[str]:
        """Every model with a recorded answer in these files."""
        return {
            resolver.model_id(column)
            for f, resolver in zip(self._files, self._resolvers, strict=True)
            for column in model_columns(f.path, f.header)
        }

    def records_for(self, prompt: str) -> list[EvalRecord]:
        """The records of this prompt (normalized), in file and row order."""
        wanted = normalize_prompt(prompt)
        found = []
        for file_no, row_no, start, end in self._prompts.get(prompt_key(prompt), ()):
            record = self._record(file_no, row_no, start, end)
            if normalize_prompt(record.prompt) == wanted:
                found.append(record)
        return found

    def _record(self, file_no: int, row_no: int, start: int, end: int) -> EvalRecord:
        key = (file_no, row_no)
        if key not in self._rows:
            f = self._files[file_no]
            if file_no not in self._texts:
                self._texts[file_no] = _decoded(f.path)
            cells = next(csv.reader(io.StringIO(self._texts[file_no][start:end], newline="")))
            (self._rows[key],) = parse_rows(
                f.path, f.header, [_as_row(f.header, cells)], self._resolvers[file_no], first_row=row_no
            )
        return self._rows[key]


def _read_index(index_path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and doc.get("format") == INDEX_FORMAT else None


def _matching_files(doc: dict[str, Any], paths: Sequence[Path]) -> list[_File] | None:
    entries = doc.get("files") or []
    if [e.get("name") for e in entries] != [p.name for p in paths]:
        return None
    try:
        if any(p.stat().st_size != e["bytes"] for p, e in zip(paths, entries, strict=True)):
            return None
    except OSError as exc:
        raise ValidationError(f"recorded data file is unreadable: {exc}", field="path") from exc
    return [_File(p, e["bytes"], list(e["header"])) for p, e in zip(paths, entries, strict=True)]


def bundled_index_path() -> Path:
    """Where the shipped index lives (beside the recorded files)."""
    return Path(str(resources.files("podium") / "data" / INDEX_FILE))


@lru_cache(maxsize=1)
def bundled_prompt_index() -> PromptIndex:
    """The prompt index of the bundled recorded files, loaded once per process."""
    return PromptIndex.load(bundled_paths(), bundled_index_path())

