"""The event bus: typed hooks, whole-event sinks, and async subscriptions with bounded queues."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Self, TypeVar

from podium.core.clock import SYSTEM_CLOCK, Clock
from podium.core.errors import ValidationError
from podium.core.events import Event, EventSink, EventType

log = logging.getLogger("podium.telemetry.events")
_T = TypeVar("_T")

Hook = Callable[..., Any]
DEFAULT_QUEUE_SIZE = 1000


def event_type(value: EventType | str) -> EventType:
    """Accept ``EventType.TASK_COMPLETED``, ``"task_completed"`` or ``"TASK_COMPLETED"``."""
    if isinstance(value, EventType):
        return value
    key = str(value).strip()
    for et in EventType:
        if key in (et.value, et.name):
            return et
    raise ValidationError(
        f"unknown event type {value!r}; valid: {', '.join(e.name for e in EventType)}",
        field="event_type",
        value=value,
        valid=[e.name for e in EventType],
    )


class Subscription:
    """An async iterator over events. When full, the oldest event is dropped and ``dropped`` counts it."""

    def __init__(self, bus: EventBus, types: frozenset[EventType] | None, maxsize: int) -> None:
        self._bus = bus
        self._types = types
        self._queue: deque[Event] = deque(maxlen=maxsize)
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def _offer(self, event: Event) -> None:
        if self._types is not None and event.type not in self._types:
            return
        self._on_loop(self._put, event)

    def _on_loop(self, fn: Callable[..., None], *args: object) -> None:
        """Run ``fn`` on the subscriber's loop: directly when already there, else thread-safely."""
        try:
            here = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            here = False
        if here:
            fn(*args)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(fn, *args)

    def _put(self, event: Event) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            self._bus.dropped += 1
        self._queue.append(event)
        self._wakeup.set()

    def _end(self) -> None:
        self._closed = True
        self._wakeup.set()

    def close(self) -> None:
        """Stop receiving; events already queued are still delivered."""
        self._bus._unsubscribe(self)
        self._on_loop(self._end)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """An ``EventSink`` that fans events out to hooks, sinks and subscribers; a failing hook never fails a call."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValidationError(
                f"queue_size {queue_size} is not valid; use a whole number of at least 1",
                field="queue_size",
                value=queue_size,
            )
        self._clock = clock
        self._queue_size = queue_size
        self._hooks: dict[EventType, list[Hook]] = {}
        self._sinks: list[EventSink] = []
        self._subscriptions: list[Subscription] = []
        self._pending: set[asyncio.Future[Any]] = set()
        self._lock = threading.Lock()
        self.dropped = 0  # events dropped across all slow subscribers
        self.hook_errors = 0

    def add_hook(self, etype: EventType | str, fn: Hook) -> Callable[[], None]:
        """Call ``fn(**event.data)`` (sync or async) on each event of ``etype``; returns a function that removes it."""
        et = event_type(etype)
        with self._lock:
            self._hooks.setdefault(et, []).append(fn)
        return lambda: self._remove(self._hooks.get(et, []), fn)

    def add_sink(self, sink: EventSink) -> Callable[[], None]:
        """Call ``sink(event)`` for every event; returns a function that removes it."""
        with self._lock:
            self._sinks.append(sink)
        return lambda: self._remove(self._sinks, sink)

    def subscribe(self, types: list[EventType | str] | None = None, *, maxsize: int | None = None) -> Subscription:
        """An async iterator of events (optionally only ``types``); call inside a running event loop."""
        wanted = None if types is None else frozenset(event_type(t) for t in types)
        sub = Subscription(self, wanted, maxsize or self._queue_size)
        with self._lock:
            self._subscriptions.append(sub)
        return sub

    def emit(self, event: Event) -> None:
        """Deliver ``event`` now to sinks and sync hooks; async hooks are scheduled on the running loop."""
        if event.at is None:
            event = replace(event, at=self._clock.now())
        with self._lock:
            sinks = list(self._sinks)
            hooks = list(self._hooks.get(event.type, ()))
            subs = list(self._subscriptions)
        for sink in sinks:
            self._run(sink, (event,), {}, event)
        for hook in hooks:
            self._run(hook, (), dict(event.data), event)
        for sub in subs:
            sub._offer(event)

    __call__ = emit

    async def drain(self) -> None:
        """Wait until every async hook scheduled so far has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def close(self) -> None:
        """End every subscription (their iterators stop after the queued events)."""
        with self._lock:
            subs = list(self._subscriptions)
        for sub in subs:
            sub.close()

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], event: Event) -> None:
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                self._schedule(result, fn, event)
        except Exception:  # a user's hook must never break the call that emitted the event
            self.hook_errors += 1
            log.exception("event hook %r failed on %s", fn, event.type.name)

    def _schedule(self, awaitable: Awaitable[object], fn: Callable[..., Any], event: Event) -> None:
        try:
            future = asyncio.ensure_future(awaitable)
        except RuntimeError:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            self.hook_errors += 1
            log.warning("async hook %r skipped for %s: no running event loop", fn, event.type.name)
            return
        self._pending.add(future)

        def done(f: asyncio.Future[Any]) -> None:
            self._pending.discard(f)
            if not f.cancelled() and f.exception() is not None:
                self.hook_errors += 1
                log.error("event hook %r failed on %s", fn, event.type.name, exc_info=f.exception())

        future.add_done_callback(done)

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)

    def _remove(self, items: list[_T], item: _T) -> None:
        with self._lock:
            if item in items:
                items.remove(item)
