"""The messenger's events fanned out to the web client's event streams, and unread counts.

Both are bounded: at most :data:`MAX_STREAMS` streams, each with a queue of
:data:`STREAM_QUEUE` events (when full, the oldest waiting event is dropped and counted: the
page is fetched again on the next event anyway), and unread counts for at most
:data:`MAX_UNREAD_CHATS` chats.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator

from prometheus_client import Counter, Gauge

from pystatus.chat.events import ChatEvent
from pystatus.chat.messenger import Messenger

MAX_STREAMS = 16
STREAM_QUEUE = 64
MAX_UNREAD_CHATS = 1000

WEB_STREAMS = Gauge("pystatus_web_event_streams", "Web client event streams open")
WEB_DROPPED = Counter(
    "pystatus_web_events_dropped", "Events dropped from a full web event stream queue"
)
WEB_UNREAD_CHATS = Gauge("pystatus_web_unread_chats", "Chats with unread counts kept")


class EventStream:
    """One browser's events; iterate until :meth:`close`."""

    def __init__(self, feed: LiveFeed) -> None:
        self._feed = feed
        self._queue: asyncio.Queue[ChatEvent | None] = asyncio.Queue(STREAM_QUEUE)

    def put(self, event: ChatEvent | None) -> None:
        """Queue ``event``; None ends the stream."""
        if self._queue.full():
            self._queue.get_nowait()
            WEB_DROPPED.inc()
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._feed.remove(self)

    def __aiter__(self) -> AsyncIterator[ChatEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[ChatEvent]:
        while (event := await self._queue.get()) is not None:
            yield event


class LiveFeed:
    def __init__(self, messenger: Messenger) -> None:
        self._streams: list[EventStream] = []
        self._ended = False
        messenger.add_listener(self._fan_out)

    def open(self) -> EventStream | None:
        """A new stream, or None with :data:`MAX_STREAMS` open or once :meth:`end` ran."""
        if len(self._streams) >= MAX_STREAMS or self._ended:
            return None
        stream = EventStream(self)
        self._streams.append(stream)
        WEB_STREAMS.set(len(self._streams))
        return stream

    def remove(self, stream: EventStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)
        WEB_STREAMS.set(len(self._streams))

    def end(self) -> None:
        """End every stream, and refuse new ones (the server stops: it would otherwise wait
        on them forever)."""
        self._ended = True
        for stream in self._streams:
            stream.put(None)

    def _fan_out(self, event: ChatEvent) -> None:
        for stream in self._streams:
            stream.put(event)


class Unread:
    """Messages received per chat since the chat was last shown (in memory: a restart
    starts from none)."""

    def __init__(self, messenger: Messenger) -> None:
        self._counts: collections.OrderedDict[str, int] = collections.OrderedDict()
        messenger.add_listener(self._count)

    def _count(self, event: ChatEvent) -> None:
        if event.outgoing or event.kind not in ("message", "contact_request"):
            return
        self._counts[event.chat_id] = self._counts.get(event.chat_id, 0) + 1
        self._counts.move_to_end(event.chat_id)
        while len(self._counts) > MAX_UNREAD_CHATS:
            self._counts.popitem(last=False)
        WEB_UNREAD_CHATS.set(len(self._counts))

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def read(self, chat_id: str) -> None:
        self._counts.pop(chat_id, None)
        WEB_UNREAD_CHATS.set(len(self._counts))
