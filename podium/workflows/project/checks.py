"""The validation step after each task: a non-empty answer, code that parses when code was asked for, and the
task's acceptance keywords present; plus the files an answer delivers and the outcome record of each check run on
them (the checks themselves are in podium.workflows.project.verify)."""

from __future__ import annotations

import ast
import json
import re
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypedDict

import yaml

from podium.core.json_types import JSONObject
from podium.workflows.project.tasks import TaskSpec

_BLOCK = re.compile(r"```(?P<lang>[A-Za-z0-9_+.-]*)(?P<info>[^\n]*)\n(?P<code>.*?)```", re.DOTALL)
_SUFFIX_LANG = {".py": "python", ".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}
_LANG_ALIASES = {"py": "python", "python3": "python", "yml": "yaml"}
_INFO_NAME = re.compile(
    r"""(?:title|file|filename|path)\s*=\s*["']?(?P<name>[^"'\s]+)|^:?(?P<bare>[\w./-]+\.[A-Za-z0-9]+)$"""
)
_FIRST_LINE_NAME = re.compile(
    r"^\s*(?:#|//|--|<!--)\s*(?:file(?:name)?\s*:\s*)?(?P<name>[\w./-]+\.[A-Za-z0-9]+)\s*(?:-->)?\s*$"
)


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str  # lower case, "" when the fence names none
    code: str
    info: str = ""  # the rest of the fence line (``title="tests/test_x.py"``)


class CheckOutcomeRecord(TypedDict, total=False):
    """A stored ``CheckOutcome`` (``check`` and ``status`` are always there)."""

    check: str
    status: str
    reason: str | None
    criterion: str | None
    detail: str | None


# Outcome statuses: a skipped check could not run (tool missing, nothing to check) and never counts as passed;
# an unchecked criterion is free text no check covers: it stays guidance in the prompts.
PASSED, FAILED, SKIPPED, UNCHECKED = "passed", "failed", "skipped", "unchecked"
_DETAIL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """One check run on a task's files (or a criterion no check covers), as recorded in the task's state."""

    check: str  # pytest | ruff | py_compile | json | schema:<name> | criterion
    status: str  # passed | failed | skipped | unchecked
    reason: str  # one short line: "2 failed: test_a.py::test_x, ...", "skipped: ruff is not installed ..."
    criterion: str | None = None  # the criterion that asked for it; None for checks every output gets
    detail: str = ""  # more of the tool's output, quoted to the model when it is asked to fix its answer

    @property
    def problem(self) -> str:
        """The line a failed check adds to the task's problems (and to the retry's feedback)."""
        text = f"{self.check} failed: {self.reason}"
        return f"{text}\n{self.detail}" if self.detail else text

    def to_dict(self) -> JSONObject:
        return {
            "check": self.check,
            "status": self.status,
            "reason": self.reason,
            "criterion": self.criterion,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: CheckOutcomeRecord) -> CheckOutcome:
        return cls(
            str(data["check"]),
            str(data["status"]),
            str(data.get("reason") or ""),
            data.get("criterion"),
            str(data.get("detail") or "")[:_DETAIL_CHARS],
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the validation step found: ``score`` is the share of checks passed (skipped ones do not count)."""

    passed: bool
    score: float
    problems: tuple[str, ...]
    checks: int
    outcomes: tuple[CheckOutcome, ...] = ()

    def with_outcomes(self, outcomes: Sequence[CheckOutcome]) -> CheckResult:
        """This result merged with the outcomes of the checks run on the task's files."""
        ran = [o for o in outcomes if o.status in (PASSED, FAILED)]
        problems = self.problems + tuple(o.problem for o in ran if o.status == FAILED)
        checks = self.checks + len(ran)
        score = round((checks - len(problems)) / checks, 4) if checks else 1.0
        return CheckResult(not problems, score, problems, checks, tuple(outcomes))


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced code block in ``text``, in order."""
    out = []
    for m in _BLOCK.finditer(text):
        lang = m.group("lang").strip().lower()
        out.append(CodeBlock(_LANG_ALIASES.get(lang, lang), m.group("code"), m.group("info").strip()))
    return out


def expected_language(task: TaskSpec) -> str | None:
    """The language the task's code must parse as, from its output file's suffix; python by default for code."""
    if task.output_file is not None:
        lang = _SUFFIX_LANG.get(PurePosixPath(task.output_file).suffix.lower())
        if lang is not None:
            return lang
    return "python" if task.wants_code and task.output_file is None else None


def main_code(task: TaskSpec, text: str) -> CodeBlock | None:
    """The block to save as the task's file: the first in the expected language, else the first block (blocks
    naming another file left aside)."""
    blocks = code_blocks(text)
    index = main_index(task, blocks)
    return None if index is None else blocks[index]


def main_index(task: TaskSpec, blocks: Sequence[CodeBlock]) -> int | None:
    """Which of ``blocks`` is the task's main code (see ``main_code``): a block that names a different file
    (``# file: test_bucket.py``) is that file, not the main code, unless every block names another file."""
    if not blocks:
        return None
    lang = expected_language(task)
    own = [i for i, b in enumerate(blocks) if named_block(b)[0] in (None, task.output_file)] or list(range(len(blocks)))
    return next((i for i in own if lang is not None and blocks[i].language == lang), own[0])


def named_block(block: CodeBlock) -> tuple[str | None, str]:
    """(the file the block names, its code without the naming line); (None, code) when it names none."""
    info = _INFO_NAME.search(block.info)
    if info is not None:
        return _safe(info.group("name") or info.group("bare")), block.code
    if "." in block.language and _safe(block.language):  # ```test_x.py
        return _safe(block.language), block.code
    first, _, rest = block.code.partition("\n")
    match = _FIRST_LINE_NAME.match(first)
    if match is not None and _safe(match.group("name")):
        return _safe(match.group("name")), rest
    return None, block.code


def _safe(name: str | None) -> str | None:
    """``name`` when it is a plain relative path inside the output directory."""
    if not name:
        return None
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or str(path) in (".", "") or not path.suffix:
        return None
    return str(path)


def check_output(task: TaskSpec, text: str) -> CheckResult:
    """Run every check that applies to ``task`` on its answer."""
    problems: list[str] = []
    checks = 1
    if not text.strip():
        problems.append("the answer is empty")
    if task.wants_code or (task.output_file is not None and expected_language(task) is not None):
        checks += 1
        problem = _code_problem(task, text)
        if problem:
            problems.append(problem)
    lowered = text.lower()
    for phrase in task.acceptance:
        checks += 1
        if phrase.lower() not in lowered:
            problems.append(f"acceptance keyword {phrase!r} is missing")
    score = (checks - len(problems)) / checks
    return CheckResult(not problems, round(score, 4), tuple(problems), checks)


def _code_problem(task: TaskSpec, text: str) -> str | None:
    lang = expected_language(task)
    blocks = code_blocks(text)
    if not blocks:
        # An answer that is only code (no fence) is fine if it parses.
        blocks = [CodeBlock(lang or "", text)]
    candidates = [b for b in blocks if lang is None or b.language in (lang, "")]
    if not candidates:
        found = ", ".join(sorted({b.language or "unlabelled" for b in blocks}))
        return f"no {lang} code block in the answer (found: {found})"
    for block in candidates:
        error = parse_error(block.code, lang or block.language)
        if error is None:
            return None
    return f"the {lang or 'code'} block does not parse: {error}"


def parse_error(code: str, language: str) -> str | None:
    """Why ``code`` does not parse as ``language`` (None when it does, or when the language has no parser here)."""
    try:
        if language == "python":
            with warnings.catch_warnings():  # "invalid escape sequence" and the like do not stop code parsing
                warnings.simplefilter("ignore")
                ast.parse(code)
        elif language == "json":
            json.loads(code)
        elif language == "yaml":
            yaml.safe_load(code)
        elif language == "toml":
            tomllib.loads(code)
    except SyntaxError as exc:
        return f"{exc.msg} (line {exc.lineno})"
    except (ValueError, yaml.YAMLError) as exc:
        return str(exc).splitlines()[0]
    return None
