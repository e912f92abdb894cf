"""The checks themselves, each run on a folder holding a task's files and returning one ``CheckOutcome``.

pytest and ruff run as child processes: cwd is the folder, the environment is a minimal allow-list (no API key or
other secret is passed on), HOME is a throwaway folder, pytest loads a plugin that refuses non-loopback
connections, and the whole process group is killed at the time limit (podium.workflows.testgen.sandbox's
containment: not a security sandbox). py_compile runs in a child process too (it executes nothing, but compiling
emits warnings, and warning filters are process-wide); JSON (Schema) checks run in process.
A tool that is not installed gives a ``skipped`` outcome naming the install command, never ``passed``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podium.core.json_types import JSONValue
from podium.workflows.project.checks import FAILED, PASSED, SKIPPED, CheckOutcome
from podium.workflows.project.criteria import JSONSchema
from podium.workflows.testgen.sandbox import _NETWORK_GUARD, _run

_ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT", "TMPDIR", "TZ")
GUARD_PLUGIN = "podium_check_guard"
_PYTEST_CONFIGS = ("pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")
_SUMMARY = re.compile(r"^=*\s*(?P<counts>\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", re.MULTILINE)
_RESULT_LINE = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<name>\S+)(?: - (?P<why>.*))?$", re.MULTILINE)
_RUFF_LINE = re.compile(r"^\S+:\d+:\d+: .+$", re.MULTILINE)
_MAX_NAMES = 5
_DETAIL_LINES = 20
_DETAIL_CHARS = 1500


@dataclass(frozen=True, slots=True)
class CheckTools:
    """The programs the checks use. A name that resolves to nothing gives a ``skipped`` outcome."""

    python: str = sys.executable  # runs pytest (python -m pytest)
    ruff: str = "ruff"  # a name looked up on PATH (and beside python), or a path
    jsonschema: str = "jsonschema"  # the module validating JSON Schemas


def child_env(home: Path, pythonpath: Path | None = None) -> dict[str, str]:
    """The child's whole environment: an allow-list, so no *_API_KEY, token or password is ever passed on."""
    env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", NO_PROXY="*")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def find_tool(name: str) -> str | None:
    """The executable ``name`` is (a path, or a name on PATH or beside the running Python); None when missing."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return name if Path(name).is_file() and os.access(name, os.X_OK) else None
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])
    return shutil.which(name, path=search)


# -- pytest -------------------------------------------------------------------------------------------------------


def run_pytest(work: Path, aux: Path, *, python: str, timeout_s: float, criterion: str | None) -> CheckOutcome:
    """``python -m pytest -q`` in ``work`` (``aux`` holds the guard plugin and HOME, outside ``work``)."""
    (aux / f"{GUARD_PLUGIN}.py").write_text(_NETWORK_GUARD, encoding="utf-8")
    home = aux / "home"
    home.mkdir(exist_ok=True)
    args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", GUARD_PLUGIN, "--rootdir", str(work)]
    if not any((work / name).is_file() for name in _PYTEST_CONFIGS):
        ini = aux / "pytest.ini"  # keeps any pytest config above the temporary folder out of the run
        ini.write_text("[pytest]\n", encoding="utf-8")
        args += ["-c", str(ini)]
    code, output = _run(args, cwd=work, env=child_env(home, aux), timeout_s=timeout_s)
    return pytest_outcome(code, output, timeout_s=timeout_s, criterion=criterion)


def pytest_outcome(code: int | None, output: str, *, timeout_s: float, criterion: str | None) -> CheckOutcome:
    """Read a pytest run's exit code and output into an outcome naming the failing tests."""

    def outcome(status: str, reason: str, detail: str = "") -> CheckOutcome:
        return CheckOutcome("pytest", status, reason, criterion, detail)

    if code is None:
        return outcome(FAILED, f"pytest did not finish within {timeout_s:g}s and was stopped", _tail(output))
    if code != 0 and "No module named pytest" in output:
        return outcome(SKIPPED, "skipped: pytest is not installed (pip install pytest)")
    summary = _SUMMARY.findall(output)
    counts = summary[-1] if summary else ""
    if code == 0:
        return outcome(PASSED, counts or "all tests passed")
    if code == 5:
        return outcome(FAILED, "no tests were collected (test files are named test_*.py, tests test_*)")
    results = _RESULT_LINE.findall(output)
    names = list(dict.fromkeys(name for _, name, _ in results))
    shown = ", ".join(names[:_MAX_NAMES]) + (f" and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else "")
    first_error = next((why for _, _, why in results if why), "")
    if not names:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        return outcome(FAILED, f"pytest exited with code {code}: {lines[-1] if lines else 'no output'}", _tail(output))
    reason = f"{counts or 'tests failed'}: {shown}" + (f" ({first_error})" if first_error else "")
    return outcome(FAILED, reason, _pytest_detail(output))


def _pytest_detail(output: str) -> str:
    """The lines that say what went wrong: pytest's ``E`` lines and its short summary."""
    lines = [ln.rstrip() for ln in output.splitlines()]
    keep = [ln for ln in lines if ln.startswith(("E ", "FAILED ", "ERROR "))]
    return "\n".join(keep[:_DETAIL_LINES])[:_DETAIL_CHARS]


def _tail(output: str) -> str:
    return "\n".join(output.strip().splitlines()[-_DETAIL_LINES:])[-_DETAIL_CHARS:]


# -- ruff ---------------------------------------------------------------------------------------------------------


def run_ruff(
    work: Path, aux: Path, files: Sequence[str], *, ruff: str, timeout_s: float, criterion: str | None
) -> CheckOutcome:
    """``ruff check`` on ``files`` (paths relative to ``work``)."""
    exe = find_tool(ruff)
    if exe is None:
        return CheckOutcome("ruff", SKIPPED, f"skipped: {ruff} is not installed (pip install ruff)", criterion)
    home = aux / "home"
    home.mkdir(exist_ok=True)
    args = [exe, "check", "--no-cache", "--output-format", "concise", *files]
    code, output = _run(args, cwd=work, env=child_env(home), timeout_s=timeout_s)
    if code is None:
        return CheckOutcome("ruff", FAILED, f"ruff did not finish within {timeout_s:g}s", criterion)
    if code == 0:
        return CheckOutcome("ruff", PASSED, f"no ruff errors in {_files(len(files))}", criterion)
    errors = _RUFF_LINE.findall(output)
    if not errors:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        return CheckOutcome("ruff", FAILED, f"ruff could not check: {lines[0] if lines else code}", criterion)
    reason = f"{len(errors)} error{'s' if len(errors) != 1 else ''}: " + "; ".join(errors[:3])
    return CheckOutcome("ruff", FAILED, reason, criterion, "\n".join(errors[:_DETAIL_LINES])[:_DETAIL_CHARS])


# -- in process ---------------------------------------------------------------------------------------------------


def compile_python(
    work: Path, aux: Path, files: Sequence[str], *, python: str, timeout_s: float, criterion: str | None
) -> CheckOutcome:
    """py_compile every file in a child process (it compiles and executes nothing; warnings are off there, and
    cannot touch this process's warning filters); the byte code goes to ``aux``."""
    home = aux / "home"
    home.mkdir(exist_ok=True)
    args = [python, "-W", "ignore", "-c", _COMPILE, str(aux / "pyc"), *files]
    code, output = _run(args, cwd=work, env=child_env(home), timeout_s=timeout_s)
    try:
        errors = json.loads(output.strip().splitlines()[-1]) if code == 0 else None
    except (ValueError, IndexError):
        errors = None
    if errors is None:
        why = "did not finish" if code is None else (output.strip().splitlines() or ["no output"])[-1]
        return CheckOutcome("py_compile", FAILED, f"py_compile could not run: {why}", criterion)
    if errors:
        reason = "; ".join(f"{name} line {line}: {msg}" if line else f"{name}: {msg}" for name, line, msg in errors[:3])
        return CheckOutcome("py_compile", FAILED, reason, criterion)
    return CheckOutcome("py_compile", PASSED, f"{_files(len(files))} compile", criterion)


_COMPILE = """
import json, py_compile, sys
errors = []
for i, name in enumerate(sys.argv[2:]):
    try:
        py_compile.compile(name, cfile=f"{sys.argv[1]}/{i}.pyc", doraise=True)
    except py_compile.PyCompileError as exc:
        cause = exc.exc_value
        if isinstance(cause, SyntaxError):
            errors.append([name, cause.lineno, cause.msg])
        else:
            errors.append([name, None, str(cause).splitlines()[0] if str(cause) else exc.exc_type_name])
print(json.dumps(errors))
"""


def load_json(work: Path, files: Sequence[str]) -> tuple[dict[str, JSONValue], list[str]]:
    """(parsed documents by file, one error line per file that is not valid JSON)."""
    docs: dict[str, JSONValue] = {}
    errors = []
    for rel in files:
        try:
            docs[rel] = json.loads((work / rel).read_text(encoding="utf-8"))
        except ValueError as exc:
            errors.append(f"{rel}: {str(exc).splitlines()[0]}")
    return docs, errors


def check_json(work: Path, files: Sequence[str], *, criterion: str | None) -> CheckOutcome:
    _, errors = load_json(work, files)
    if errors:
        return CheckOutcome("json", FAILED, "; ".join(errors[:3]), criterion)
    return CheckOutcome("json", PASSED, f"{_files(len(files))} of valid JSON", criterion)


def check_schema(
    work: Path, files: Sequence[str], name: str, schema: JSONSchema, *, module: str, criterion: str | None
) -> CheckOutcome:
    """Validate each JSON file against ``schema`` with the jsonschema library (skipped when it is missing)."""
    check = f"schema:{name}"
    try:
        lib = importlib.import_module(module)
    except ImportError:
        return CheckOutcome(check, SKIPPED, f"skipped: {module} is not installed (pip install jsonschema)", criterion)
    docs, errors = load_json(work, files)
    try:
        validator = lib.validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except lib.exceptions.SchemaError as exc:
        return CheckOutcome(check, SKIPPED, f"skipped: schema {name} is not a valid JSON Schema ({exc.message})")
    for rel, doc in docs.items():
        found = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
        errors += [f"{rel}: {e.message} (at {e.json_path})" for e in found]
    if errors:
        reason = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}: " + "; ".join(errors[:3])
        return CheckOutcome(check, FAILED, reason, criterion, "\n".join(errors[:_DETAIL_LINES])[:_DETAIL_CHARS])
    return CheckOutcome(check, PASSED, f"{_files(len(files))} match schema {name}", criterion)


def _files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"
