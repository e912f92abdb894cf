"""Run pytest on generated (untrusted) test code: in a child process, in a temporary directory, with a timeout.

This is containment, not a security sandbox: the child gets a minimal environment (no API keys), a throwaway HOME
and working directory, a conftest that refuses non-loopback socket connections, and is killed with its whole process
group when the timeout passes. By default only ``--collect-only`` runs, which imports the test module but runs no
test; running the tests themselves is the caller's explicit choice.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from podium.routing.gates.sandbox import NETWORK_GUARD, run_contained

DEFAULT_TIMEOUT_S = 60.0
_TAIL_CHARS = 3000
_ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "VIRTUAL_ENV")
_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors)\b")

# The network guard and the child-process runner live in the routing layer (the cascade's code verifier uses
# them too); the project checks import them from here.
_NETWORK_GUARD = NETWORK_GUARD
_run = run_contained


@dataclass(frozen=True, slots=True)
class PytestOutcome:
    """What one pytest run reported. ``exit_code`` is None when the run was killed at the timeout."""

    exit_code: int | None
    collected: int
    passed: int
    failed: int
    output: str  # the end of stdout + stderr, for error messages and the escalation prompt

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def error_lines(self, limit: int = 12) -> list[str]:
        """The ``E   ...`` lines pytest prints for errors (or the last lines when there are none)."""
        lines = [ln.strip() for ln in self.output.splitlines()]
        errors = [ln for ln in lines if ln.startswith("E ")]
        return (errors or [ln for ln in lines if ln][-limit:])[:limit]


def pytest_missing_hint(python: str = sys.executable) -> str | None:
    """None when ``python`` can import pytest, else one line saying how to install it. Asked before any model is
    called: without pytest no generated test can pass validation, and a repair call could not help."""
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('pytest') is None)"
    home = Path(tempfile.gettempdir())
    code, _ = _run([python, "-c", probe], cwd=home, env=_child_env(home, home, autoload_plugins=False), timeout_s=30)
    if code == 0:
        return None
    return (
        f"pytest is not installed for {python}: testgen checks the tests it writes with pytest; "
        f"install it with `{python} -m pip install pytest`"
    )


def run_pytest(
    test_code: str,
    *,
    filename: str,
    import_root: Path,
    collect_only: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    python: str = sys.executable,
) -> PytestOutcome:
    """Write ``test_code`` to a fresh temporary directory and run pytest on it with ``import_root`` importable."""
    with tempfile.TemporaryDirectory(prefix="podium-testgen-") as tmp:
        folder = Path(tmp)
        (folder / filename).write_text(test_code, encoding="utf-8")
        (folder / "conftest.py").write_text(_NETWORK_GUARD, encoding="utf-8")
        ini = folder / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")  # keeps the user's own pytest config out of the run
        args = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ini), "--rootdir", tmp]
        if collect_only:
            args.append("--collect-only")
        args.append(filename)
        env = _child_env(folder, import_root, autoload_plugins=not collect_only)
        code, output = _run(args, cwd=folder, env=env, timeout_s=timeout_s)
    return _outcome(code, output, collect_only)


def _child_env(home: Path, import_root: Path, *, autoload_plugins: bool) -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_PASSTHROUGH if k in os.environ}
    env.update(
        HOME=str(home),
        PYTHONPATH=str(import_root),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        NO_PROXY="*",
    )
    if not autoload_plugins:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # collection needs no plugins, and starts faster without them
    return env


def _outcome(code: int | None, output: str, collect_only: bool) -> PytestOutcome:
    collected = sum(1 for ln in output.splitlines() if "::" in ln and not ln.startswith(("E ", "ERROR", "FAILED")))
    counts = {"passed": 0, "failed": 0}
    if not collect_only:
        for n, word in _SUMMARY.findall(output):
            key = "failed" if word.startswith(("fail", "error")) else "passed"
            counts[key] += int(n)
        collected = counts["passed"] + counts["failed"]
    return PytestOutcome(code, collected, counts["passed"], counts["failed"], output[-_TAIL_CHARS:])
