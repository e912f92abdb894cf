"""Server-sent events: an incremental decoder shared by every streaming wire format.

Follows the WHATWG event-stream rules: ``field: value`` lines, one optional space after the colon, ``data`` lines
joined with newlines, lines starting with ``:`` are comments, a blank line dispatches the event, CR, LF and CRLF
all end a line.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, Iterator
from dataclasses import dataclass

from podium.core.errors import MalformedResponseError


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. ``event`` defaults to ``"message"`` as the spec says."""

    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it lines (without or with their line ending); it returns an event when a blank line ends one."""

    __slots__ = ("_data", "_event", "_id", "_pending", "_retry")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None
        self._pending = False

    @property
    def pending(self) -> bool:
        """True when fields were read but no blank line has dispatched them yet (a cut mid-event)."""
        return self._pending

    def feed_line(self, line: str) -> SSEEvent | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        self._pending = True
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        had_data = bool(self._data)
        event = SSEEvent("\n".join(self._data), self._event or "message", self._id, self._retry)
        self._data, self._event, self._retry, self._pending = [], None, None, False
        # The spec drops events without data lines; the last event id survives for the next event.
        return event if had_data else None


def split_lines(text: str) -> Iterator[str]:
    """Split on CRLF, CR or LF, as the event-stream grammar does."""
    yield from text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse_sse_text(text: str) -> list[SSEEvent]:
    """Decode a whole event stream held in memory (tests, recorded fixtures)."""
    decoder = SSEDecoder()
    events = [e for line in split_lines(text) if (e := decoder.feed_line(line)) is not None]
    return events


async def aiter_sse(lines: AsyncIterable[str], *, provider: str, model: str | None = None) -> AsyncGenerator[SSEEvent, None]:
    """Decode events from an async line stream such as ``httpx.Response.aiter_lines()``.

    Raises MalformedResponseError when the input ends inside an event. A stream that ends cleanly but before its
    wire format's terminal event (``[DONE]``, ``message_stop``, a finish reason) is caught by the wire's stream
    parser, whose ``finish()`` raises the same error.
    """
    decoder = SSEDecoder()
    async for line in lines:
        event = decoder.feed_line(line)
        if event is not None:
            yield event
    if decoder.pending:
        raise MalformedResponseError(
            f"the {provider} stream was cut in the middle of an event; the call can be retried",
            provider=provider,
            model=model,
        )
