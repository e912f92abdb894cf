"""What `podium ask --replay` does not spend its start on: no automatic garbage collection while the one-shot command
imports and builds the engine (the collector is back on afterwards, and on for commands that may run long), no
router arrays when --model fixes the model, and no cost reports behind the ledger middleware. (The times are
measured by benchmarks/startup.py; these pin the behaviour that made the difference.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROMPT = "Write a function to filter odd numbers."

PROBE = """
import gc, json, sys
from podium.cli.main import run
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
try:
    run({argv!r})
except SystemExit as exc:
    assert not exc.code, exc.code
during = list(collections)
print(json.dumps({{"collections": during, "enabled_after": gc.isenabled(),
                   "loaded": sorted(m for m in {names!r} if m in sys.modules)}}))
"""


def _probe(tmp_path: Path, argv: list[str], names: tuple[str, ...] = ()) -> dict[str, object]:
    env = {**os.environ, "HOME": str(tmp_path), "PODIUM_HOME": str(tmp_path / ".podium"), "COLUMNS": "100"}
    env.pop("PODIUM_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, names=names)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_ask_collects_no_garbage_while_it_runs_and_turns_the_collector_back_on(tmp_path: Path) -> None:
    seen = _probe(tmp_path, ["ask", PROMPT, "--strategy", "cascade", "--replay"])
    assert seen["collections"] == []
    assert seen["enabled_after"] is True


def test_a_command_that_may_run_long_collects_as_usual(tmp_path: Path) -> None:
    seen = _probe(tmp_path, ["models"])
    assert seen["collections"], "the collector stayed paused for a command that is not one-shot"
    assert seen["enabled_after"] is True


def test_ask_with_one_model_loads_no_router(tmp_path: Path) -> None:
    argv = ["ask", PROMPT, "--model", "openai:gpt-3.5-turbo-1106", "--replay"]
    seen = _probe(tmp_path, argv, names=("numpy", "podium.routing.learned_router", "podium.routing.task_classifier"))
    assert seen["loaded"] == []


def test_the_ledger_middleware_loads_no_reports_and_the_package_names_still_import(tmp_path: Path) -> None:
    probe = (
        "import json, sys\nimport podium.ledger.middleware\n"
        "loaded = sorted(m for m in ('podium.ledger.reports', 'podium.ledger.export', 'podium.ledger.forecast') "
        "if m in sys.modules)\n"
        "import podium.ledger as ledger\n"
        "missing = [name for name in ledger.__all__ if getattr(ledger, name, None) is None]\n"
        "print(json.dumps([loaded, missing, set(dir(ledger)) >= set(ledger.__all__)]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded, missing, listed = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
    assert missing == [] and listed is True
