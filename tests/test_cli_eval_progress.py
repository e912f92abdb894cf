"""`podium eval` at a terminal: while the router trains, the progress line says so (no replay count yet); the
replay count appears once the replay starts. A real `podium` process on a pseudo-terminal."""

from __future__ import annotations

import csv
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from podium.routing.datasets import load_bundled


def _write_routerbench(path: Path, count: int) -> None:
    records = load_bundled(include_gsm8k=False)[:count]
    models = sorted({m for r in records for m in r.outcomes})
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sample_id", "prompt", "eval_name", *models, *(f"{m}|model_response" for m in models),
                         *(f"{m}|total_cost" for m in models)])
        for r in records:
            o = r.outcomes
            writer.writerow([r.id, r.prompt, r.eval_name, *(o[m].correct if m in o else "" for m in models),
                             *(o[m].response if m in o else "" for m in models),
                             *(o[m].cost_usd if m in o else "" for m in models)])


def _terminal_output(args: list[str], cwd: Path) -> str:
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "podium", *args], stdin=follower, stdout=follower,
                            stderr=follower, cwd=cwd, env=env)  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))


def test_training_is_shown_before_the_replay_count(tmp_path: Path) -> None:
    _write_routerbench(tmp_path / "eval.csv", 10)
    _write_routerbench(tmp_path / "train.csv", 40)
    out = _terminal_output(["eval", "--dataset", "eval.csv", "--train", "train.csv", "--no-curves", "-s", "cheapest"],
                           tmp_path)  # fmt: skip
    training = re.search(r"training the router on \d+ prompts", out)
    assert training, out
    first_count = re.search(r"\d+/\d+", out)
    assert first_count is None or first_count.start() > training.start(), out
    assert not re.search(r"training[^\n\r]*\d+/\d+", out), out  # no count beside the training description
