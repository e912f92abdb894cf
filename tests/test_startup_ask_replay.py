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
