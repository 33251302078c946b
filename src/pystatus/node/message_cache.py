"""Messages of the topics a REST client subscribed to, kept for it to poll (nwaku's relay cache)."""

from __future__ import annotations

import collections
from collections.abc import Callable

from pystatus.waku.filter import FilterPush
from pystatus.waku.relay import RelayedMessage


class MessageCache:
    """Per-name bounded queues; ``key`` names the queue a relayed message belongs to. The
    topics themselves are joined by the node (:class:`~pystatus.node.shards.RelayedShards`),
    which bounds how many names there are."""

    def __init__(self, capacity: int, key: Callable[[RelayedMessage], str]) -> None:
        self._capacity = capacity
        self._key = key
        self._queues: dict[str, collections.deque[RelayedMessage]] = {}

    def subscribe(self, name: str) -> None:
        """Start keeping messages for ``name`` (idempotent)."""
        if name not in self._queues:
            self._queues[name] = collections.deque(maxlen=self._capacity)

    def unsubscribe(self, name: str) -> None:
        self._queues.pop(name, None)

    def take(self, name: str) -> list[RelayedMessage] | None:
        """Everything kept for ``name``, emptying its queue; None when it is not subscribed."""
        queue = self._queues.get(name)
        if queue is None:
            return None
        items = list(queue)
        queue.clear()
        return items

    def add(self, item: RelayedMessage) -> None:
        queue = self._queues.get(self._key(item))
        if queue is not None:
            queue.append(item)


class FilterMessageCache:
    """Pushes received as a filter client, kept per (pubsub topic, content topic) to be polled."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._queues: dict[tuple[str, str], collections.deque[FilterPush]] = {}

    def subscribe(self, pubsub_topic: str, content_topic: str) -> None:
        self._queues.setdefault(
            (pubsub_topic, content_topic), collections.deque(maxlen=self._capacity)
        )

    def unsubscribe(self, pubsub_topic: str, content_topic: str) -> None:
        self._queues.pop((pubsub_topic, content_topic), None)

    def clear(self) -> None:
        self._queues.clear()

    def take(self, content_topic: str, pubsub_topic: str | None = None) -> list[FilterPush] | None:
        """What was pushed for ``content_topic`` (on ``pubsub_topic``, or on any), emptying it.

        None when nothing matching is subscribed.
        """
        keys = [
            key
            for key in self._queues
            if key[1] == content_topic and (pubsub_topic is None or key[0] == pubsub_topic)
        ]
        if not keys:
            return None
        items = [item for key in keys for item in self._queues[key]]
        for key in keys:
            self._queues[key].clear()
        return items

    def add(self, push: FilterPush) -> None:
        queue = self._queues.get((push.pubsub_topic, push.message.content_topic))
        if queue is not None:
            queue.append(push)
