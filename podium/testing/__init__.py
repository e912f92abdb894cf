"""Test doubles Podium users can use too: a fake LLM upstream, a loopback server runner, a scripted provider and a
virtual clock."""

from podium.testing.clock import FakeClock
from podium.testing.fake_upstream import FakeUpstream, RecordedRequest
from podium.testing.fake_upstream_http import estimate_tokens
from podium.testing.scripted import ScriptedProvider, ScriptedReply, SingleProviderRegistry
from podium.testing.server import ServedApp, serve

__all__ = [
    "FakeClock",
    "FakeUpstream",
    "RecordedRequest",
    "ScriptedProvider",
    "ScriptedReply",
    "ServedApp",
    "SingleProviderRegistry",
    "estimate_tokens",
    "serve",
]
