"""Messages of the topics a REST client subscribed to, kept for it to poll (nwaku's relay cache)."""

from __future__ import annotations

import collections
from collections.abc import Callable

from pystatus.waku.relay import RelayedMessage, WakuRelay


class MessageCache:
    """Per-name bounded queues; ``key`` names the queue a relayed message belongs to."""

    def __init__(
        self, relay: WakuRelay, capacity: int, key: Callable[[RelayedMessage], str]
    ) -> None:
        self._relay = relay
        self._capacity = capacity
        self._key = key
        self._queues: dict[str, collections.deque[RelayedMessage]] = {}

    def subscribe(self, name: str, pubsub_topic: str) -> None:
        """Start keeping messages for ``name``; the relay joins ``pubsub_topic`` once per name."""
        if name not in self._queues:
            self._relay.subscribe_topic(pubsub_topic)
            self._queues[name] = collections.deque(maxlen=self._capacity)

    def unsubscribe(self, name: str, pubsub_topic: str) -> None:
        if self._queues.pop(name, None) is not None:
            self._relay.unsubscribe_topic(pubsub_topic)

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
