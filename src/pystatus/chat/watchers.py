"""Who hears the messenger's events: async iterators (:class:`EventStream`) and callbacks.

Neither can stall or break the messenger: a stream's queue is bounded (past it the oldest
event is dropped, counted), a callback that raises is contained (counted, logged once per
callback), and when the messenger stops on a failure every stream ends with that error.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from pystatus.chat.events import ChatEvent
from pystatus.errors import ChatError

log = logging.getLogger(__name__)

STREAM_SIZE = 10_000
"""Events one stream holds for a watcher that does not keep up."""
STREAM_DROPPED = Counter(
    "chat_event_stream_dropped", "Events dropped from a watcher's full stream (the oldest)"
)
LISTENER_ERRORS = Counter("chat_listener_errors", "Event listeners that raised (contained)")
WATCHERS = Gauge("chat_event_watchers", "Event streams being fed")


class EventStream:
    """Events as an async iterator; dropping it stops the collection. Ends with the
    messenger's failure (a :class:`ChatError`) when it stops on one."""

    def __init__(self, capacity: int = STREAM_SIZE) -> None:
        self._events: deque[ChatEvent] = deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self._failure: ChatError | None = None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ChatEvent:
        while not self._events:
            if self._failure is not None:
                raise self._failure
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()

    def put(self, event: ChatEvent) -> None:
        if len(self._events) >= self._capacity:
            self._events.popleft()
            STREAM_DROPPED.inc()
        self._events.append(event)
        self._ready.set()

    def fail(self, failure: ChatError) -> None:
        self._failure = failure
        self._ready.set()

    def qsize(self) -> int:
        return len(self._events)


class Announcer:
    def __init__(self) -> None:
        self._streams: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._listeners: list[Callable[[ChatEvent], None]] = []
        self._failing: set[int] = set()

    def stream(self) -> EventStream:
        stream = EventStream()
        self._streams.add(stream)
        WATCHERS.set(len(self._streams))
        return stream

    def add_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        self._listeners.append(listener)

    def announce(self, event: ChatEvent) -> None:
        for stream in self._streams:
            stream.put(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a listener's bug must not stop the messenger's writer
                LISTENER_ERRORS.inc()
                if id(listener) not in self._failing:
                    self._failing.add(id(listener))
                    log.exception("a chat event listener raised (contained; logged once)")

    def fail(self, failure: ChatError) -> None:
        for stream in self._streams:
            stream.fail(failure)
