"""Replay for a newcomer: answers come from a shipped prompt index (no parse of every recorded answer), the
gateway lists only the models that can answer, and money in errors reads as plain decimals.

The time itself is measured by benchmarks/startup.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from podium.catalog import Catalog
from podium.cli.main import app
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.providers.recorded_data import bundled_records
from podium.providers.replay import ReplayProvider
from podium.server import create_app
from podium.server.chat import VIRTUAL_MODELS
from podium.telemetry import Telemetry
from podium.testing import serve

ROOT = Path(__file__).resolve().parents[1]
PROMPT = "Write a function to filter odd numbers."


def test_the_shipped_prompt_index_matches_the_recorded_files() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_replay_index.py"), "--check"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_replay_from_the_index_answers_as_the_parsed_records_do() -> None:
    indexed = ReplayProvider()  # bundled data: the index, rows decoded on demand
    catalog = Catalog.bundled()
    records = bundled_records()
    for record in records[:: max(1, len(records) // 300)]:  # a spread over every file
        for model_id, outcome in record.outcomes.items():
            hit = indexed.lookup(record.prompt, catalog.get(model_id))
            assert hit is not None, (record.id, model_id)
            assert hit[1] == outcome
    full = ReplayProvider(list(records))
    assert indexed.models == full.models
    for model_id in indexed.models:  # a prompt typed with other spacing and case still finds its record
        spec = catalog.get(model_id)
        assert indexed.lookup("  " + PROMPT.upper() + " ", spec) == full.lookup(PROMPT, spec)


def test_a_replayed_ask_parses_no_recorded_answer_but_its_own() -> None:
    probe = (
        "import json\n"
        "from typer.testing import CliRunner\n"
        "from podium.cli.main import app\n"
        "from podium.providers.recorded_data import bundled_records\n"
        f"done = CliRunner().invoke(app, ['ask', {PROMPT!r}, '--strategy', 'cascade', '--replay', '--json'])\n"
        "print(json.dumps({'exit': done.exit_code, 'parsed_all': bundled_records.cache_info().currsize}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"exit": 0, "parsed_all": 0}


def test_the_replay_provider_loads_when_built_not_in_its_first_call() -> None:
    provider = ReplayProvider.from_settings(None)
    assert provider.loaded


def test_a_budget_error_shows_plain_dollars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["ask", PROMPT, "--model", "openai:gpt-3.5-turbo-1106", "--replay",
                                    "--max-cost", "0.0000001"])
    assert done.exit_code == 1
    assert "$0.0000001" in done.output
    assert "E-" not in done.output


def _models(mode: str, home: Path) -> list[dict[str, Any]]:
    config = PodiumConfig.from_mapping({"orchestration": {"enabled": False}, "mode": mode})
    gateway = create_app(None, ServerSettings(), config=config, telemetry=Telemetry(config.telemetry), env={},
                         home=home)
    with serve(gateway, lifespan="on") as base:
        reply = httpx.get(f"{base}/v1/models", timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def test_the_replay_gateway_lists_only_recorded_and_virtual_models(tmp_path: Path) -> None:
    listed = {m["id"] for m in _models("replay", tmp_path)}
    assert listed == set(ReplayProvider().models) | set(VIRTUAL_MODELS)
    live = {m["id"] for m in _models("live", tmp_path)}
    assert len(live) > len(listed)  # a live gateway still lists the catalog
