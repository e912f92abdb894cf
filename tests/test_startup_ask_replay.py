"""`podium ask --replay` loads only what a replayed call needs: no HTTP client library (replay sends nothing), no
OpenTelemetry SDK while tracing is off, no doctest/unittest for a prompt that quotes no doctest session, no YAML
parser without a podium.yaml. (The times are measured by benchmarks/startup.py; this pins the imports that made the
difference.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOT_NEEDED = (
    "httpx", "aiohttp", "opentelemetry.sdk.trace", "doctest", "unittest", "yaml", "matplotlib", "sklearn", "scipy",
)
PROBE = """
import json, sys
from podium.cli.main import run
try:
    run(["ask", "Write a function to filter odd numbers.", "--strategy", "cascade", "--replay"])
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(m for m in {names!r} if m in sys.modules)))
"""


def test_ask_replay_loads_no_http_client_tracing_sdk_or_doctest(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "PODIUM_HOME": str(tmp_path / ".podium"), "COLUMNS": "100"}
    env.pop("PODIUM_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=NOT_NEEDED)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_root_help_needs_no_rich_layout(tmp_path: Path) -> None:
    """`podium --help` prints click's plain layout: typer's rich one would load markdown, pretty tracebacks and attrs
    (about 0.25 s, most of the 0.3 s the root help may take); each command's own help keeps the rich layout."""
    probe = (
        "import json, sys\nfrom podium.cli.main import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in ('rich', 'markdown_it', 'attr') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == []
    assert lines[0].startswith("Usage: podium [OPTIONS] COMMAND") and any(" ask " in line for line in lines)
