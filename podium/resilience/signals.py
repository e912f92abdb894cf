"""Emit resilience events to the injected sink, stamped with the injected clock."""

from __future__ import annotations

from typing import Any

from podium.core.clock import Clock
from podium.core.events import Event, EventSink, EventType
from podium.core.model_spec import ModelSpec


def emit_event(sink: EventSink, clock: Clock, kind: EventType, model: ModelSpec | None = None, **data: Any) -> None:
    """Send one event; ``model`` adds the model id and provider, the labels every consumer groups by."""
    if model is not None:
        data.setdefault("model", model.id)
        data.setdefault("provider", model.provider)
    sink(Event(kind, data, clock.now()))
