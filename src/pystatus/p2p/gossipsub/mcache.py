"""The message cache for IHAVE/IWANT gossip and the seen cache (gossipsub-v1.0.md)."""

from __future__ import annotations

import collections
from dataclasses import dataclass

from pystatus.p2p.gossipsub.rpc import publish_fragment


@dataclass(slots=True)
class CachedMessage:
    topic: str
    data: bytes
    encoded: bytes | None = None
    """The message encoded as an RPC ``publish`` field, once something sent it."""

    @property
    def fragment(self) -> bytes:
        """The message as an RPC ``publish`` field, ready to join into any peer's RPC
        (encoded on first use: a node that forwards nothing never encodes it)."""
        if self.encoded is None:
            self.encoded = publish_fragment(self.topic, self.data)
        return self.encoded


class MessageCache:
    """Messages of the last ``history_length`` heartbeats; gossip covers the last few."""

    def __init__(self, history_length: int, history_gossip: int) -> None:
        self._gossip = history_gossip
        self._windows: collections.deque[list[tuple[bytes, str]]] = collections.deque(
            [[] for _ in range(history_length)], maxlen=history_length
        )
        self._messages: dict[bytes, CachedMessage] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, message_id: bytes, message: CachedMessage) -> None:
        if message_id in self._messages:
            return
        self._messages[message_id] = message
        self._windows[0].append((message_id, message.topic))

    def get(self, message_id: bytes) -> CachedMessage | None:
        return self._messages.get(message_id)

    def gossip_ids(self, topic: str) -> list[bytes]:
        ids: list[bytes] = []
        for index, window in enumerate(self._windows):
            if index >= self._gossip:
                break
            ids.extend(mid for mid, t in window if t == topic)
        return ids

    def shift(self) -> None:
        oldest = self._windows[-1]
        for message_id, _ in oldest:
            self._messages.pop(message_id, None)
        self._windows.appendleft([])


class SeenCache:
    """Message ids seen within ``ttl`` seconds, bounded to ``max_size`` (oldest dropped), and
    when each one that passed validation did so (for P3's delivery window)."""

    def __init__(self, ttl: float, max_size: int) -> None:
        self._ttl = ttl
        self._max_size = max_size
        self._expiry: collections.OrderedDict[bytes, float] = collections.OrderedDict()
        self._validated_at: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._expiry

    def add(self, message_id: bytes, now: float) -> bool:
        """Record ``message_id``; False when it was already seen."""
        if message_id in self._expiry:
            return False
        self._expiry[message_id] = now + self._ttl
        if len(self._expiry) > self._max_size:
            oldest, _ = self._expiry.popitem(last=False)
            self._validated_at.pop(oldest, None)
        return True

    def mark_validated(self, message_id: bytes, now: float) -> None:
        """``message_id`` (already added) passed validation at ``now``."""
        if message_id in self._expiry:
            self._validated_at[message_id] = now

    def validated_at(self, message_id: bytes) -> float | None:
        return self._validated_at.get(message_id)

    def expire(self, now: float) -> None:
        expiry = self._expiry
        validated = self._validated_at
        while expiry:
            message_id, deadline = next(iter(expiry.items()))
            if deadline > now:
                return
            del expiry[message_id]
            validated.pop(message_id, None)
