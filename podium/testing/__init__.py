"""Test doubles Podium users can use too: a fake LLM upstream and a loopback server runner."""

from podium.testing.fake_upstream import FakeUpstream, RecordedRequest, estimate_tokens
from podium.testing.server import ServedApp, serve

__all__ = ["FakeUpstream", "RecordedRequest", "ServedApp", "estimate_tokens", "serve"]
