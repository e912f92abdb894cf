"""Run untrusted code in a child process: a throwaway folder, a minimal environment, a time limit.

This is containment, not a security sandbox: the child gets an allow-listed environment (no API key or other
secret), a temporary HOME and working directory, code that refuses non-loopback socket connections, and is killed
with its whole process group when the time limit passes. The project checks, testgen and the cascade's code
verifier all run their child processes through ``run_contained``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV_PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
_TAIL_CHARS = 3000

# Loaded before any untrusted code (as a pytest conftest/plugin, or at the top of a script), so even import-time
# code cannot reach the network.
NETWORK_GUARD = '''"""Written by podium testgen: generated tests may only connect to loopback."""
import socket

_connect = socket.socket.connect
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _guarded(self, address, *args):
    host = address[0] if isinstance(address, tuple) else None
    if self.family != getattr(socket, "AF_UNIX", None) and host not in _LOOPBACK:
        raise OSError(f"network access to {host!r} is disabled for generated tests")
    return _connect(self, address, *args)


socket.socket.connect = _guarded
'''


def run_contained(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout_s: float, what: str = "pytest"
) -> tuple[int | None, str]:
    """(exit code, stdout + stderr) of ``args``; the exit code is None when the run was killed at ``timeout_s``
    (the output then ends with a line saying that ``what`` was stopped)."""
    posix = os.name == "posix"
    # The command is ours; only the code it runs is untrusted.
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=posix,  # its own process group, so a timeout kills whatever the code started too
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        out, _ = proc.communicate()
        text = out.decode("utf-8", "replace")
        return None, f"{text}\n{what} did not finish within {timeout_s:g}s and was stopped"
    return proc.returncode, out.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class ScriptOutcome:
    """What a contained Python script did. ``exit_code`` is None when it was killed at the time limit."""

    exit_code: int | None
    output: str  # the end of stdout + stderr

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def minimal_env(home: Path) -> dict[str, str]:
    """An allow-listed environment: nothing named *_API_KEY, token or password is ever passed on."""
    env = {k: os.environ[k] for k in ENV_PASSTHROUGH if k in os.environ}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", NO_PROXY="*")
    return env


def run_python(script: str, *, timeout_s: float, python: str = sys.executable) -> ScriptOutcome:
    """Run ``script`` with ``python -I`` (no user site, no PYTHON* variables) in a fresh temporary folder, the
    network guard loaded first."""
    with tempfile.TemporaryDirectory(prefix="podium-verify-") as tmp:
        folder = Path(tmp)
        path = folder / "verify_answer.py"
        path.write_text(NETWORK_GUARD + "\n" + script, encoding="utf-8")
        code, output = run_contained([python, "-I", str(path)], cwd=folder, env=minimal_env(folder),
                                     timeout_s=timeout_s, what="the answer's code")
    return ScriptOutcome(code, output[-_TAIL_CHARS:])
