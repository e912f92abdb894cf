"""The shipped quality profiles are exactly what tools/build_profiles.py builds from tools/profile_sources.csv, and
every answering model of the catalog has a row in its mapping (a new model cannot ship without a profile source)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_profiles_are_rebuilt_identically_from_their_sources() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_profiles.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "up to date" in run.stdout
