"""The pubsub topics a node relays for itself, and how they follow nwaku's relay subscriptions.

nwaku's node relays its configured shards, every topic a REST client subscribes to
(``POST /relay/v1/subscriptions``) and the auto-shard of every content topic subscribed to
(``--content-topic``, ``POST /relay/v1/auto/subscriptions``); ``DELETE`` leaves them. While it
relays a topic it archives it and serves filter and light push on it, and its metadata
answers name those shards (nwaku ``waku/node/kernel_api/relay.nim`` subscribe/unsubscribe,
``waku/node/waku_node.nim`` getShardsGetter).

Each topic held here takes one reference on the relay's topic, so an in-process consumer (a
Messenger's subscription) keeps the topic joined when a REST client leaves it.
"""

from __future__ import annotations

from pystatus.node import metrics
from pystatus.waku.errors import InvalidTopic, LocalWakuError
from pystatus.waku.relay import WakuRelay
from pystatus.waku.topics import RelayShard, pubsub_topic_for_content_topic

MAX_CONTENT_TOPICS = 10_000
"""Content topics the node keeps subscribed at once (each also holds a REST message queue)."""


class TooManySubscriptions(LocalWakuError):
    """More content topics than :data:`MAX_CONTENT_TOPICS` were asked for."""


class RelayedShards:
    """The topics ``relay`` joins on the node's behalf, in cluster ``cluster_id``; content
    topics go to their auto-shard among ``shard_count`` (51/WAKU2-RELAY-SHARDING)."""

    def __init__(
        self,
        relay: WakuRelay,
        *,
        cluster_id: int,
        shard_count: int,
        max_content_topics: int = MAX_CONTENT_TOPICS,
    ) -> None:
        self._relay = relay
        self.cluster_id = cluster_id
        self.shard_count = shard_count
        self._max_content_topics = max_content_topics
        self._pubsub_topics: set[str] = set()
        self._content_topics: dict[str, str] = {}
        """Content topic -> the pubsub topic it auto-shards to."""

    # -- what is relayed ----------------------------------------------------------------------

    def topics(self) -> tuple[str, ...]:
        """Every pubsub topic the relay has joined, for whatever reason, sorted."""
        return tuple(self._relay.topics)

    def relays(self, pubsub_topic: str) -> bool:
        return pubsub_topic in self._relay.router.subscriptions

    def shards(self) -> tuple[int, ...]:
        """Shard numbers of the joined topics of this cluster (what metadata answers name)."""
        shards = set()
        for topic in self._relay.topics:
            try:
                shard = RelayShard.parse(topic)
            except InvalidTopic:
                continue
            if shard.cluster_id == self.cluster_id:
                shards.add(shard.shard)
        return tuple(sorted(shards))

    def check_pubsub_topic(self, pubsub_topic: str) -> RelayShard:
        """The shard ``pubsub_topic`` names; :class:`InvalidTopic` unless it is
        ``/waku/2/rs/<this cluster>/<0..1023>``."""
        shard = RelayShard.parse(pubsub_topic)
        if shard.cluster_id != self.cluster_id:
            raise InvalidTopic(f"{pubsub_topic} is not in cluster {self.cluster_id}")
        return shard

    def content_pubsub_topic(self, content_topic: str) -> str:
        """The auto-shard of ``content_topic`` (:class:`InvalidTopic` unless it is
        ``/app/version/name/encoding``)."""
        return pubsub_topic_for_content_topic(
            content_topic, cluster_id=self.cluster_id, shard_count=self.shard_count
        )

    # -- following subscriptions --------------------------------------------------------------

    def subscribe_pubsub_topic(self, pubsub_topic: str) -> None:
        """Relay ``pubsub_topic`` (idempotent); raises :class:`InvalidTopic`."""
        self.check_pubsub_topic(pubsub_topic)
        if pubsub_topic in self._pubsub_topics:
            return
        self._pubsub_topics.add(pubsub_topic)
        self._relay.subscribe_topic(pubsub_topic)
        self._count()

    def unsubscribe_pubsub_topic(self, pubsub_topic: str) -> None:
        """Stop relaying ``pubsub_topic`` for the node (unknown topics are ignored, as nwaku
        does); the relay leaves it unless content topics or in-process consumers hold it."""
        if pubsub_topic not in self._pubsub_topics:
            return
        self._pubsub_topics.discard(pubsub_topic)
        self._relay.unsubscribe_topic(pubsub_topic)
        self._count()

    def subscribe_content_topic(self, content_topic: str) -> str:
        """Relay the auto-shard of ``content_topic`` and return it; raises
        :class:`InvalidTopic` or :class:`TooManySubscriptions`."""
        pubsub_topic = self.content_pubsub_topic(content_topic)
        if content_topic in self._content_topics:
            return pubsub_topic
        if len(self._content_topics) >= self._max_content_topics:
            raise TooManySubscriptions(
                f"already subscribed to {self._max_content_topics} content topics"
            )
        self._content_topics[content_topic] = pubsub_topic
        self._relay.subscribe_topic(pubsub_topic)
        self._count()
        return pubsub_topic

    def unsubscribe_content_topic(self, content_topic: str) -> None:
        pubsub_topic = self._content_topics.pop(content_topic, None)
        if pubsub_topic is None:
            return
        self._relay.unsubscribe_topic(pubsub_topic)
        self._count()

    def _count(self) -> None:
        metrics.RELAY_SUBSCRIPTIONS.labels("pubsub_topic").set(len(self._pubsub_topics))
        metrics.RELAY_SUBSCRIPTIONS.labels("content_topic").set(len(self._content_topics))
