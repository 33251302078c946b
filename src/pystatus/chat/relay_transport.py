"""The messenger as a peer of the relay mesh: a :class:`~pystatus.chat.transport.Transport`
over a pystatus node's :class:`~pystatus.waku.relay.WakuRelay`, with an optional store node.

Relay delivers every message of a joined pubsub topic; this transport passes on only those of
the content topics listened to. Joining is reference-counted by the relay, so each pubsub
topic is joined once however many content topics ride on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection

from pystatus.chat.history import StoreSource
from pystatus.chat.transport import Published, Received, TransportError
from pystatus.errors import WakuError
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayedMessage, WakuRelay


class RelayTransport:
    def __init__(
        self,
        relay: WakuRelay,
        *,
        store: StoreSource | None = None,
        find_store: Callable[[], Awaitable[StoreSource | None]] | None = None,
    ) -> None:
        """``store``: where history and confirmations are asked (``node.store_peer()``).
        ``find_store``: where a one-off look-up goes without one (a community's description,
        as status-go's FetchCommunity asks any store node it knows): a connected peer that
        serves store, or None when there is none."""
        self.relay = relay
        self.store = store
        self.find_store = find_store
        self._topics: dict[str, set[str]] = defaultdict(set)  # pubsub -> content topics
        self._callbacks: list[Callable[[Received], None]] = []
        self._started = False

    async def start(self) -> None:
        if not self._started:
            self._started = True
            self.relay.add_observer(self._relayed)

    async def stop(self) -> None:
        if self._started:
            self._started = False
            self.relay.remove_observer(self._relayed)
            for pubsub_topic in list(self._topics):
                self.unlisten(pubsub_topic, list(self._topics[pubsub_topic]))

    def listen(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        wanted = self._topics[pubsub_topic]
        if not wanted and content_topics:
            self.relay.subscribe_topic(pubsub_topic)
        wanted.update(content_topics)

    def unlisten(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        wanted = self._topics.get(pubsub_topic)
        if not wanted:
            return
        wanted.difference_update(content_topics)
        if not wanted:
            del self._topics[pubsub_topic]
            self.relay.unsubscribe_topic(pubsub_topic)

    def on_message(self, callback: Callable[[Received], None]) -> None:
        self._callbacks.append(callback)

    def _relayed(self, item: RelayedMessage) -> None:
        if item.message.content_topic not in self._topics.get(item.pubsub_topic, ()):
            return
        received = Received(item.pubsub_topic, item.message, item.hash)
        for callback in self._callbacks:
            callback(received)  # the messenger's callback only queues; it does not raise

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        try:
            outcome = self.relay.publish(pubsub_topic, message)
        except WakuError as exc:
            raise TransportError(f"the relay refused the message: {exc}") from exc
        return Published(outcome.hash, outcome.peers)

    def connected(self) -> bool:
        return bool(self.relay.relay_peers())

    def store_verdict(self, asked: Collection[bytes], found: Collection[bytes]) -> None:
        """Nothing to learn: a relay node's own peers took the message."""
