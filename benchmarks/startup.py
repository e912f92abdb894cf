"""How long a newcomer waits for the first commands. Prints a table.

    python benchmarks/startup.py [--runs 5]

Each row runs the real `podium` entry point in a fresh process (so every import is paid), from an empty working
directory with its own PODIUM_HOME, and reports the median and the slowest wall time against its target:

* ``podium --help`` and ``podium --version``: target 0.3 s; the floor is ``import typer, rich`` (0.2 s).
* ``podium ask --replay``, the README's cascade example and a one-model question: target 1 s.
* ``import podium``: the library's own import, which should load no engine until a client is built.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
CLI = [PY, "-m", "podium.cli.main"]
CASES: list[tuple[str, list[str], float | None]] = [
    ("import typer, rich (floor)", [PY, "-c", "import typer, rich, rich.console"], None),
    ("import podium", [PY, "-c", "import podium"], 0.3),
    ("podium --version", [*CLI, "--version"], 0.3),
    ("podium --help", [*CLI, "--help"], 0.3),
    ("podium eval --help", [*CLI, "eval", "--help"], None),
    (
        "podium ask --replay (cascade)",
        [*CLI, "ask", "Write a function to filter odd numbers.", "--strategy", "cascade", "--replay"],
        1.0,
    ),
    (
        "podium ask --replay (one model)",
        [*CLI, "ask", "Write a function to filter odd numbers.", "--model", "openai:gpt-3.5-turbo-1106", "--replay"],
        1.0,
    ),
]


def _time(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per row (after one warm-up run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-startup-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "HOME": str(home), "PODIUM_HOME": str(home / ".podium"), "COLUMNS": "100"}
        # PYTHONDONTWRITEBYTECODE would make every run compile Podium's modules again (~0.3 s): users have bytecode
        dropped = {"PODIUM_CONFIG", "PYTHONDONTWRITEBYTECODE"}
        env = {k: v for k, v in env.items() if not k.endswith("_API_KEY") and k not in dropped}
        print(f"{'command':<34} {'median s':>9} {'max s':>7} {'target s':>9}  verdict")
        for label, command, target in CASES:
            _time(command, home, env)  # warm the file cache and the bytecode
            runs = [_time(command, home, env) for _ in range(args.runs)]
            times = [t for t, _ in runs]
            codes = {c for _, c in runs}
            median = statistics.median(times)
            if codes != {0}:
                verdict = f"exit {sorted(codes)}"
            elif target is None:
                verdict = ""
            else:
                verdict = "ok" if median <= target else "SLOW"
            shown = "" if target is None else f"{target:.1f}"
            print(f"{label:<34} {median:>9.2f} {max(times):>7.2f} {shown:>9}  {verdict}")


if __name__ == "__main__":
    main()
