"""Every feedback body the README shows (`curl -d '{...}' .../v1/feedback`) is accepted by the real gateway on
loopback, for a call the gateway itself answered; the README is read when the test runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.types import Usage
from podium.server import create_app, sha256_hex
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve

README = Path(__file__).resolve().parents[1] / "README.md"
KEY, GATEWAY_KEY = "test-key-0123456789", "pk-readme-feedback-42"
MINI = "openai:gpt-4o-mini"
_BODY = re.compile(r"-d '(?P<body>\{[^']*\})'[^`\n]*/v1/feedback")


def _readme_feedback_bodies() -> list[dict[str, object]]:
    return [json.loads(m.group("body")) for m in _BODY.finditer(README.read_text(encoding="utf-8"))]


def test_the_readme_shows_feedback_bodies() -> None:
    assert len(_readme_feedback_bodies()) >= 2  # the feedback section and the gateway's endpoint table


async def test_every_readme_feedback_body_is_accepted_by_the_gateway(tmp_path: Path) -> None:
    fake = FakeUpstream(api_key=KEY)
    fake.script(Catalog.bundled().get(MINI).api_model, "Paris.", usage=Usage(10, 2))
    keys = ({"id": "readme", "key_sha256": sha256_hex(GATEWAY_KEY), "team": "docs"},)
    headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
    async with serve(fake.app) as upstream:
        cfg = PodiumConfig.from_mapping({
            "orchestration": {"enabled": False},
            "providers": {"openai": {"base_url": f"{upstream}/v1"}},
            "resilience": {"retry": {"max_attempts": 1}},
        })
        gateway = create_app(None, ServerSettings(keys=keys), config=cfg, telemetry=Telemetry(cfg.telemetry),
                             env={"OPENAI_API_KEY": KEY}, home=tmp_path)  # fmt: skip
        async with serve(gateway, lifespan="on") as base, httpx.AsyncClient(base_url=base, headers=headers) as http:
            chat = await http.post("/v1/chat/completions",
                                   json={"model": MINI, "messages": [{"role": "user", "content": "Capital of France?"}]})  # fmt: skip
            assert chat.status_code == 200, chat.text
            request_id = chat.headers["x-podium-request-id"]
            for body in _readme_feedback_bodies():
                sent = {k: (request_id if v == "..." else v) for k, v in body.items()}
                response = await http.post("/v1/feedback", json=sent)
                assert response.status_code == 200, f"README body {json.dumps(body)}: {response.text}"
