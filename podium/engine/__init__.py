"""The engine: composes catalog, providers, routing and the per-attempt middleware chain."""

from podium.engine.client import Podium
from podium.engine.stream import CompletionStream
from podium.engine.sync import SyncPodium

__all__ = ["CompletionStream", "Podium", "SyncPodium"]
