"""Regenerate podium/data/replay_index.json, the prompt index replay answers from, after the recorded files change.

    python tools/build_replay_index.py [--check]

``--check`` exits 1 when the shipped index differs from the recorded files (a test runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import sys

from podium.providers.recorded_data import bundled_paths
from podium.providers.recorded_index import build_index, bundled_index_path


def render() -> str:
    """The index document as written to disk: compact, with sorted keys so a rebuild changes no byte."""
    return json.dumps(build_index(bundled_paths()), sort_keys=True, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped index instead of writing it")
    args = parser.parse_args()
    target = bundled_index_path()
    text = render()
    if args.check:
        same = target.is_file() and target.read_text(encoding="utf-8") == text
        print(f"{target}: {'up to date' if same else 'stale; run python tools/build_replay_index.py'}")
        return 0 if same else 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
