"""A virtual key's ``tpm``: tokens per minute, booked at admission and settled to what the answer used.

In one process (the in-memory limiter, on a virtual clock), on every endpoint that spends tokens, streamed or not,
and across two `podium serve` replicas sharing Redis, where the bucket is one Redis key so the limit holds globally.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from test_scale_support import (
    REDIS_URL,
    gateway_config,
    key_entry,
    post,
    redis_ok,  # noqa: F401 - fixture
    start_replicas,
    unique,
)

from podium.config.root import PodiumConfig
from podium.config.server import ServerSettings
from podium.core.types import Usage
from podium.server import create_app, sha256_hex
from podium.telemetry import Telemetry
from podium.testing import FakeUpstream, serve
from podium.testing.clock import FakeClock

UPSTREAM_KEY = "sk-upstream-0123456789"
CLIENT_KEY = "pk-tpm-client-0123456789"
WIRE_MODEL = "gpt-4o-mini"
BODY = {"model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "What is the capital of France?"}]}
# Each answer uses 22 tokens. At tpm 60 (one token a second, a burst of 60) the bucket admits a call while what the
# earlier answers used, plus this call's prompt estimate (about 12), fits in 60: three calls, never a fourth at once.
# Were answers not settled to their usage, only the estimates would count and five calls would pass.
USAGE = Usage(14, 8)


@contextlib.asynccontextmanager
async def _gateway(upstream: FakeUpstream, clock: FakeClock, tpm: int) -> AsyncIterator[str]:
    cfg = PodiumConfig.from_mapping({
        "providers": {"openai": {"base_url": upstream.base_url + "/v1"}}, "orchestration": {"enabled": False},
        "ledger": {"enabled": False}, "resilience": {"fallback": {"enabled": False}},
    })  # fmt: skip
    keys = ({"id": "tpm-key", "key_sha256": sha256_hex(CLIENT_KEY), "tpm": tpm},)
    app = create_app(None, ServerSettings(keys=keys), config=cfg, telemetry=Telemetry(cfg.telemetry), clock=clock,
                     env={"OPENAI_API_KEY": UPSTREAM_KEY})  # fmt: skip
    async with serve(app, lifespan="on") as base_url:
        yield base_url


async def _ask(http: httpx.AsyncClient, base: str, **extra: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    return await http.post(base + "/v1/chat/completions", json={**BODY, **extra}, headers=headers)


async def test_key_tpm_counts_the_tokens_answers_used_and_names_the_limit(upstream: FakeUpstream) -> None:
    upstream.reset()
    upstream.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    clock = FakeClock()
    async with _gateway(upstream, clock, tpm=60) as base, httpx.AsyncClient(timeout=30) as http:
        streamed = await _ask(http, base, stream=True, stream_options={"include_usage": True})
        assert streamed.status_code == 200 and "[DONE]" in streamed.text  # a stream settles its usage too
        codes = [(await _ask(http, base)).status_code for _ in range(4)]
        assert codes == [200, 200, 429, 429]
        refused = await _ask(http, base)
        error = refused.json()["error"]
        assert refused.status_code == 429 and error["code"] == "rate_limit_exceeded"
        assert "'tpm-key' is over its limit of 60 tokens per minute (server.keys.tpm" in error["message"]
        assert float(refused.headers["retry-after"]) > 0
        assert upstream.count(WIRE_MODEL) == 3  # refused calls never reach the provider
        clock.advance(float(refused.headers["retry-after"]) + 1)
        assert (await _ask(http, base)).status_code == 200


PROMPT = "What is the capital of France?"
# Each endpoint's body, booked differently at admission: Messages books its max_tokens (capped at the limit), the
# legacy Completions its default max_tokens of 16, Responses only the prompt estimate.
ENDPOINT_BODIES = {
    "/v1/chat/completions": BODY,
    "/v1/messages": {"model": BODY["model"], "max_tokens": 100, "messages": [{"role": "user", "content": PROMPT}]},
    "/v1/responses": {"model": BODY["model"], "input": PROMPT},
    "/v1/completions": {"model": BODY["model"], "prompt": PROMPT},
}
USED = Usage(30, 10)


async def _seconds_until_a_full_minute(http: httpx.AsyncClient, base: str) -> str:
    """A call booking the key's whole minute (tpm 60, one token a second) waits one second per token already used:
    its Retry-After reads the bucket's level exactly."""
    probe = await _ask(http, base, max_tokens=1000)
    assert probe.status_code == 429, probe.text
    return probe.headers["retry-after"]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("path", list(ENDPOINT_BODIES))
async def test_key_tpm_settles_to_the_tokens_used_on_every_endpoint(
    upstream: FakeUpstream, path: str, stream: bool
) -> None:
    upstream.reset()
    upstream.script(WIRE_MODEL, text="Paris.", usage=USED)
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    async with _gateway(upstream, FakeClock(), tpm=60) as base, httpx.AsyncClient(timeout=30) as http:
        answered = await http.post(base + path, json={**ENDPOINT_BODIES[path], "stream": stream}, headers=headers)
        assert answered.status_code == 200, answered.text
        assert await _seconds_until_a_full_minute(http, base) == str(USED.total_tokens)


async def test_key_tpm_settles_embeddings_to_the_tokens_used(upstream: FakeUpstream) -> None:
    upstream.reset()
    text = "x" * 160  # the fake upstream bills 4 characters a token: 40 tokens; admission books the estimate, 46
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    async with _gateway(upstream, FakeClock(), tpm=60) as base, httpx.AsyncClient(timeout=30) as http:
        body = {"model": "openai:text-embedding-3-small", "input": text}
        answered = await http.post(base + "/v1/embeddings", json=body, headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json()["usage"]["total_tokens"] == 40
        assert await _seconds_until_a_full_minute(http, base) == "40"


@pytest.mark.slow
@pytest.mark.redis
def test_key_tpm_is_global_across_two_replicas_sharing_redis(tmp_path: Path, redis_ok: None) -> None:  # noqa: F811
    fake = FakeUpstream(api_key=UPSTREAM_KEY)
    fake.script(WIRE_MODEL, text="Paris.", usage=USAGE)
    key = unique("tpm")
    with serve(fake.app) as url:
        config = gateway_config(url, ledger_url=None, keys=[key_entry(key, tpm=60)])
        a, b = start_replicas(tmp_path, [config, config])
        try:
            codes = [post((a.base_url, b.base_url)[i % 2], key).status_code for i in range(8)]
        finally:
            a.stop()
            b.stop()
    # Each replica alone would admit three; together they admit three (a token refills each second, so a slow
    # machine may let one more through; never the six of per-replica counting).
    assert codes[:3] == [200, 200, 200] and 3 <= codes.count(200) <= 4, codes
    assert fake.count(WIRE_MODEL) == codes.count(200)
    assert redis.Redis.from_url(REDIS_URL).exists(f"podium:rl:key-tpm:{key}") == 1
