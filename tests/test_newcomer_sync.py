"""The README's streaming example, synchronously: `SyncPodium().stream(...)` yields the pieces, its last chunk carries
the call's cost, and `.completion` afterwards holds the priced call, as the async stream does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podium import SyncPodium
from podium.catalog import Catalog
from podium.config.root import PodiumConfig
from podium.core.types import Usage
from podium.testing import FakeUpstream, serve

KEY = "test-key-0123456789"
MODEL = "openai:gpt-4o-mini"
USAGE = Usage(input_tokens=1200, output_tokens=30)


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(api_key=KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


def test_sync_stream_has_a_completion_and_a_priced_last_chunk(
    upstream: tuple[FakeUpstream, str], tmp_path: Path
) -> None:
    fake, base = upstream
    fake.reset()
    spec = Catalog.bundled().get(MODEL)
    fake.script(spec.api_model, "Once upon a time, a router.", usage=USAGE)
    config = PodiumConfig.from_mapping(
        {"providers": {"openai": {"base_url": f"{base}/v1"}}, "resilience": {"retry": {"max_attempts": 1}}}
    )
    with SyncPodium(config=config, env={"OPENAI_API_KEY": KEY}, home=tmp_path) as client:
        stream = client.stream("Tell me a story", model=MODEL)
        chunks = list(stream)
        completion = stream.completion
    assert "".join(c.delta for c in chunks) == "Once upon a time, a router."
    assert completion is not None and completion.cost_usd == spec.cost(USAGE)
    assert chunks[-1].cost_usd == completion.cost_usd
