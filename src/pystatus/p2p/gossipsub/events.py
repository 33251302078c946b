"""What the router hands out: bytes to send, messages to deliver, peers to act on."""

from __future__ import annotations

from dataclasses import dataclass

PeerKey = bytes


@dataclass(frozen=True, slots=True)
class SendRpc:
    """One encoded RPC (without its length prefix) for ``peer``."""

    peer: PeerKey
    data: bytes


@dataclass(frozen=True, slots=True)
class Deliver:
    """A validated, first-seen message on a topic we subscribe to."""

    topic: str
    data: bytes
    message_id: bytes
    source: PeerKey | None


@dataclass(frozen=True, slots=True)
class Graylisted:
    """The peer's score fell below the graylist threshold: its RPCs are now ignored."""

    peer: PeerKey
    score: float


@dataclass(frozen=True, slots=True)
class PeersExchanged:
    """A PRUNE from a well-scored peer suggested these peers for the topic."""

    topic: str
    peers: tuple[PeerKey, ...]


RouterEvent = SendRpc | Deliver | Graylisted | PeersExchanged
