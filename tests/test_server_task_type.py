"""The gateway takes a caller's task type (``x-podium-task-type``, or ``metadata.task_type``) over real HTTP:
``podium/table`` routes by it to a custom task-table row's model, the ledger (real SQLite) records it, and an
unknown one is a 400 naming where it came from and listing the valid task types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.types import Usage
from podium.ledger import LedgerReader
from podium.routing.strategies import known_task_types
from podium.server import create_app
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve

KEY = "sk-upstream-secret-0123456789"
MINI, GPT4O = "openai:gpt-4o-mini", "openai:gpt-4o"
TABLE = {"problem_generation": {"primary": GPT4O, "fallback": MINI}}
ASK = [{"role": "user", "content": "What is 2 + 2?"}]


def _wire(model_id: str) -> str:
    return Catalog.bundled().get(model_id).api_model


def _app(fake_base: str, home: Path) -> Any:
    config = PodiumConfig.from_mapping({
        "orchestration": {"enabled": False},
        "providers": {"openai": {"base_url": f"{fake_base}/v1"}},
        "resilience": {"retry": {"max_attempts": 1}},
        "routing": {"task_table": TABLE},
    })
    return create_app(None, ServerSettings(), config=config, telemetry=Telemetry(config.telemetry),
                      env={"OPENAI_API_KEY": KEY}, home=home)


def _rows(home: Path) -> list[dict[str, Any]]:
    """Every ledger row, oldest first (real SQLite; JSON columns decoded)."""
    return LedgerReader(PodiumConfig().ledger.database_url(home)).rows()


def test_header_and_metadata_task_types_route_to_the_custom_row_and_are_recorded(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(_wire(GPT4O), "A fresh problem: 3 + 5?", usage=Usage(12, 7))
    fake.script(_wire(MINI), "4", usage=Usage(12, 1))
    with serve(fake.app) as upstream, serve(_app(upstream, tmp_path), lifespan="on") as base:
        by_header = httpx.post(f"{base}/v1/chat/completions", timeout=30,
                               headers={"x-podium-task-type": "Problem_Generation"},
                               json={"model": "podium/table", "messages": ASK})
        by_metadata = httpx.post(f"{base}/v1/chat/completions", timeout=30, json={
            "model": "podium/table", "messages": ASK, "metadata": {"task_type": "problem_generation"},
        })
        direct = httpx.post(f"{base}/v1/chat/completions", timeout=30, headers={"x-podium-task-type": "math"},
                            json={"model": MINI, "messages": ASK})
    for response in (by_header, by_metadata, direct):
        assert response.status_code == 200, response.text
    assert by_header.headers["x-podium-model"] == by_metadata.headers["x-podium-model"] == GPT4O
    assert by_header.json()["choices"][0]["message"]["content"] == "A fresh problem: 3 + 5?"
    assert fake.count(_wire(GPT4O)) == 2 and fake.count(_wire(MINI)) == 1
    rows = _rows(tmp_path)
    assert [(r["model"], r["task_type"], r["strategy"]) for r in rows] == [
        (GPT4O, "problem_generation", "table"), (GPT4O, "problem_generation", "table"), (MINI, "math", None),
    ]


def test_an_unknown_task_type_is_a_400_naming_the_header_and_the_valid_ones(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as upstream, serve(_app(upstream, tmp_path), lifespan="on") as base:
        header = httpx.post(f"{base}/v1/chat/completions", timeout=30, headers={"x-podium-task-type": "poetry"},
                            json={"model": "podium/table", "messages": ASK})
        body = httpx.post(f"{base}/v1/chat/completions", timeout=30, json={
            "model": MINI, "messages": ASK, "metadata": {"task_type": "poetry"},
        })
    assert header.status_code == body.status_code == 400
    error = header.json()["error"]
    assert error["param"] == "x-podium-task-type" and error["type"] == "invalid_request_error"
    assert error["message"].startswith("x-podium-task-type: unknown task type 'poetry'")
    assert all(t in error["message"] for t in known_task_types(TABLE)) and "problem_generation" in error["message"]
    assert body.json()["error"]["param"] == "metadata.task_type"
    assert fake.count() == 0  # refused before any upstream call
    assert _rows(tmp_path) == []
