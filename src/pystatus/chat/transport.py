"""How the messenger reaches the Waku network: one interface, a relay node or a light client.

A :class:`Transport` delivers the Waku messages of the content topics the messenger listens
to, publishes what it sends, and, when it has one, answers store queries. Two implementations
stand behind it: a relay node (the messenger is a peer of the gossipsub mesh; relay and store
as today) and a light client (filter v2 subscriptions for its content topics, light push to
send, store for history and confirmations), which is how the Status mobile app reaches the
network (status-go's ``wakuv2`` with ``LightClient``).

The messenger never learns which one it has; everything a transport does not know (who
acknowledged what, what to resend) stays in the chat session above it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from pystatus.chat.history import StoreSource
from pystatus.errors import ChatError
from pystatus.waku.message import WakuMessage


class TransportError(ChatError):
    """The network did not take a message: no relay peer, or every service node refused or
    did not answer."""


@dataclass(frozen=True, slots=True)
class Received:
    """A Waku message that reached one of the content topics listened to."""

    pubsub_topic: str
    message: WakuMessage
    hash: bytes
    """Its RFC 14 message hash."""


@dataclass(frozen=True, slots=True)
class Published:
    hash: bytes
    """The RFC 14 hash of the message published."""
    peers: int
    """Relay peers it went to, or service nodes that took it (light push)."""


class Transport(Protocol):
    store: StoreSource | None
    """Where history and confirmations are asked, or None without a store node."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def listen(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        """Deliver what arrives on ``content_topics`` of ``pubsub_topic`` from now on
        (idempotent; subscribing happens in the background, and again after a
        reconnection)."""
        ...

    def unlisten(self, pubsub_topic: str, content_topics: Collection[str]) -> None: ...

    def on_message(self, callback: Callable[[Received], None]) -> None:
        """Call ``callback`` for each message received on a topic listened to (duplicates
        possible: the messenger drops them by hash)."""
        ...

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        """Send ``message``; raises :class:`TransportError` when nothing took it."""
        ...

    def connected(self) -> bool:
        """Whether a message published now would reach the network (a relay peer, or a
        light-push service node that answers)."""
        ...

    def store_verdict(self, asked: Collection[bytes], found: Collection[bytes]) -> None:
        """A store check of our messages ``asked`` found ``found`` (a light client learns
        which light-push node takes messages and never relays them)."""
        ...
