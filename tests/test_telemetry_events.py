"""The event bus: seed 003 hooks, failing hooks, async hooks, and bounded subscriptions."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from podium.core.errors import ValidationError
from podium.telemetry import Event, EventBus, EventType
from podium.testing.clock import FakeClock


def test_seed_003_style_hooks_receive_the_event_data_as_keywords() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.add_hook(EventType.TASK_COMPLETED, lambda task_id, result, **_: seen.append(f"{task_id}:{result}"))
    bus.add_hook(EventType.BUDGET_WARNING, lambda phase, ratio, **_: seen.append(f"{phase} {ratio:.0%}"))
    bus.add_hook("validation_failed", lambda task_id, **_: seen.append(f"failed {task_id}"))
    bus.emit(Event(EventType.TASK_COMPLETED, {"task_id": "t1", "result": 0.9, "cost_usd": "0.01"}))
    bus(Event(EventType.BUDGET_WARNING, {"phase": "execute", "ratio": 0.8}))
    bus(Event(EventType.VALIDATION_FAILED, {"task_id": "t2"}))
    bus(Event(EventType.TASK_STARTED, {"task_id": "t3"}))  # nobody hooked it
    assert seen == ["t1:0.9", "execute 80%", "failed t2"]


def test_a_raising_hook_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(**_: Any) -> None:
        raise RuntimeError("hook bug")

    bus.add_hook(EventType.FALLBACK, broken)
    bus.add_hook(EventType.FALLBACK, lambda **data: seen.append(data["to"]))
    bus.emit(Event(EventType.FALLBACK, {"from": "a:m", "to": "b:m"}))  # "from" is a keyword: still delivered
    assert seen == ["b:m"]
    assert bus.hook_errors == 1
    assert "event hook" in caplog.text and "FALLBACK" in caplog.text


def test_removing_a_hook_and_unknown_event_types() -> None:
    bus = EventBus()
    seen: list[int] = []
    remove = bus.add_hook("BREAKER_OPEN", lambda **_: seen.append(1))
    bus.emit(Event(EventType.BREAKER_OPEN))
    remove()
    bus.emit(Event(EventType.BREAKER_OPEN))
    assert seen == [1]
    with pytest.raises(ValidationError, match="unknown event type 'task_done'.*TASK_COMPLETED"):
        bus.add_hook("task_done", print)


def test_events_are_stamped_with_the_injected_clock() -> None:
    clock = FakeClock()
    bus = EventBus(clock=clock)
    got: list[Event] = []
    bus.add_sink(got.append)
    bus.emit(Event(EventType.RETRY, {"model": "a:b"}))
    assert got[0].at == clock.now()


async def test_async_hooks_run_on_the_loop_and_their_errors_are_contained(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[str] = []

    async def record(task_id: str, **_: Any) -> None:
        await asyncio.sleep(0)
        seen.append(task_id)

    async def broken(**_: Any) -> None:
        raise ValueError("async hook bug")

    bus.add_hook(EventType.TASK_STARTED, record)
    bus.add_hook(EventType.TASK_STARTED, broken)
    bus.emit(Event(EventType.TASK_STARTED, {"task_id": "t1"}))
    await bus.drain()
    assert seen == ["t1"]
    assert bus.hook_errors == 1
    assert "async hook bug" in caplog.text


def test_an_async_hook_without_a_running_loop_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()

    async def hook(**_: Any) -> None:
        raise AssertionError("must not run")

    bus.add_hook(EventType.TASK_STARTED, hook)
    bus.emit(Event(EventType.TASK_STARTED))
    assert bus.hook_errors == 1
    assert "no running event loop" in caplog.text


async def test_subscribe_yields_events_until_the_bus_closes() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    received: list[EventType] = []

    async def monitor() -> None:
        async for event in sub:
            received.append(event.type)

    task = asyncio.create_task(monitor())
    bus.emit(Event(EventType.WORKFLOW_STARTED))
    await asyncio.sleep(0)
    bus.emit(Event(EventType.TASK_COMPLETED, {"task_id": "t"}))
    bus.emit(Event(EventType.WORKFLOW_COMPLETED))
    bus.close()
    await asyncio.wait_for(task, timeout=5)
    assert received == [EventType.WORKFLOW_STARTED, EventType.TASK_COMPLETED, EventType.WORKFLOW_COMPLETED]


async def test_a_slow_subscriber_drops_the_oldest_events_and_counts_them() -> None:
    bus = EventBus()
    async with bus.subscribe(maxsize=3) as sub:
        for i in range(5):
            bus.emit(Event(EventType.RETRY, {"n": i}))
        assert sub.dropped == 2 and bus.dropped == 2
        got = [(await sub.__anext__()).data["n"] for _ in range(3)]
    assert got == [2, 3, 4]
    assert [e async for e in sub] == []  # closed by the context manager


async def test_subscribe_filters_types_and_accepts_events_from_other_threads() -> None:
    bus = EventBus()
    sub = bus.subscribe([EventType.BUDGET_EXCEEDED, "budget_warning"])
    thread = threading.Thread(
        target=lambda: [
            bus.emit(Event(t)) for t in (EventType.RETRY, EventType.BUDGET_WARNING, EventType.BUDGET_EXCEEDED)
        ]
    )
    thread.start()
    thread.join()
    first = await asyncio.wait_for(sub.__anext__(), timeout=5)
    second = await asyncio.wait_for(sub.__anext__(), timeout=5)
    assert [first.type, second.type] == [EventType.BUDGET_WARNING, EventType.BUDGET_EXCEEDED]
    sub.close()


def test_event_type_is_importable_from_telemetry_as_in_seed_003() -> None:
    from podium.core.events import EventType as CoreEventType
    from podium.telemetry import EventType as TelemetryEventType

    assert TelemetryEventType is CoreEventType
    assert {"TASK_STARTED", "TASK_COMPLETED", "VALIDATION_FAILED", "BUDGET_WARNING", "BUDGET_EXCEEDED"} <= {
        e.name for e in TelemetryEventType
    }


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="queue_size 0"):
        EventBus(queue_size=0)
