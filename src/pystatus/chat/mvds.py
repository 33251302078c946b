"""2/MVDS in batch mode, as Status runs it for 1:1 chats (sans-IO: time is passed in).

A message sent to peers is kept, per peer, until that peer acknowledges it, and re-sent at
``now + 2^(n-1) * RESEND_INTERVAL`` (plus jitter) after its n-th transmission, as status-go
does, until ``max_sends`` transmissions went unanswered: then it is reported failed. Received
messages are delivered to the application once, however often they arrive; the application
acknowledges a new message (:meth:`MVDS.acknowledge`) once it has stored it, and copies of
known ones are acknowledged again at once. At most one payload per peer leaves per
:meth:`MVDS.tick`; it carries every acknowledgement due and the messages whose time came, up
to a size that fits one Waku message.

A message's id is sha256("MESSAGE_ID" || group id || uint64le(timestamp) || body), its
timestamp in seconds, and a 1:1 chat's group id keccak256 of the two compressed public keys,
the one with the smaller x first (status-go ``protocol/datasync/utils.go``; the MVDS library
status-go pins, ``protobuf/messageid.go``, ``node/node.go``). Status sends in batch mode, but a
peer's OFFERs (plain or per group) are answered with REQUESTs, and REQUESTs with the message.
"""

from __future__ import annotations

import collections
import hashlib
import random
import struct
from collections.abc import Hashable
from dataclasses import dataclass, field

import coincurve
from prometheus_client import Counter, Gauge

from pystatus.chat.proto import mvds_pb2
from pystatus.errors import ChatError
from pystatus.waku.enr import keccak256
from pystatus.waku.errors import DecodeError
from pystatus.waku.wire import parse

RESEND_INTERVAL = 30.0
MAX_PAYLOAD_RECORDS = 2000
MAX_PAYLOAD_BYTES = 100 * 1024
ACK_DELAY = 1.0
"""Acknowledgements wait this long for a message of ours to ride along before they go alone."""
MAX_SENDS = 15
"""Transmissions before a message is given up: status-go's MaxSendCount (about ten days of
its backoff, whose delay is not capped)."""
RECORD_OVERHEAD = 32
MAX_REMEMBERED = 100_000
"""Ids of delivered messages kept to deliver each once (the oldest are forgotten)."""

MAX_PEERS = 10_000
"""Peers whose state is kept; past it the least recently active peer with nothing of ours
waiting is forgotten (anyone can write to our partitioned topic)."""
MAX_ACKS_QUEUED = 4 * MAX_PAYLOAD_RECORDS
"""Acknowledgements queued for one peer; past it the oldest are dropped (the peer resends)."""

PEERS = Gauge("chat_mvds_peers", "Peers whose MVDS state is kept")
EVICTED = Counter("chat_mvds_evicted", "MVDS state dropped at a bound, by what", ["what"])

Peer = Hashable


class MvdsError(ChatError):
    """A payload did not decode or breaks the protocol's bounds."""


def one_to_one_group_id(a: bytes, b: bytes) -> bytes:
    """The MVDS group of a 1:1 chat between public keys ``a`` and ``b`` (any encoding)."""
    first, second = sorted((coincurve.PublicKey(key) for key in (a, b)), key=lambda k: k.point()[0])
    return keccak256(first.format(compressed=True) + second.format(compressed=True))


def message_id(group_id: bytes, timestamp: int, body: bytes) -> bytes:
    return hashlib.sha256(
        b"MESSAGE_ID" + group_id + struct.pack("<Q", timestamp & 0xFFFFFFFFFFFFFFFF) + body
    ).digest()


@dataclass(frozen=True, slots=True)
class SyncMessage:
    group_id: bytes
    timestamp: int
    body: bytes

    @property
    def id(self) -> bytes:
        return message_id(self.group_id, self.timestamp, self.body)


@dataclass(slots=True)
class _Record:
    send_count: int = 0
    send_at: float = 0.0
    expedite: bool = False
    """Send at the next tick, outside the backoff schedule (it neither counts nor moves)."""


@dataclass(slots=True)
class _PeerState:
    outgoing: dict[bytes, _Record] = field(default_factory=dict)
    acks: list[bytes] = field(default_factory=list)
    acks_since: float | None = None
    """When the oldest acknowledgement still to send was queued."""
    requests: list[bytes] = field(default_factory=list)
    """Offered messages we do not have, to ask for in the next payload."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message waiting for a peer's acknowledgement (what survives a restart)."""

    peer: Peer
    message: SyncMessage
    send_count: int
    send_at: float


@dataclass(frozen=True, slots=True)
class Tick:
    payloads: dict[Peer, bytes]
    """What to send to each peer now."""
    carried: dict[Peer, list[bytes]]
    """The ids of the messages in each payload."""
    acks: dict[Peer, list[bytes]]
    """The acknowledgements in each payload."""
    failed: list[tuple[bytes, Peer]]
    """(message id, peer) given up on in this tick."""


class MVDS:
    def __init__(
        self,
        *,
        rng: random.Random | None = None,
        resend_interval: float = RESEND_INTERVAL,
        max_sends: int = MAX_SENDS,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
        ack_delay: float = ACK_DELAY,
        max_peers: int = MAX_PEERS,
    ) -> None:
        self._rng = rng or random.Random()
        self._ack_delay = ack_delay
        self._max_peers = max_peers
        self._last_tick = 0.0
        self._resend_interval = resend_interval
        self._max_sends = max_sends
        self._max_payload_bytes = max_payload_bytes
        self._peers: dict[Peer, _PeerState] = {}
        self._messages: dict[bytes, SyncMessage] = {}
        self._delivered: set[bytes] = set()
        self._delivered_order: collections.deque[bytes] = collections.deque()
        self.acknowledged: list[tuple[bytes, Peer]] = []
        """(message id, peer) acknowledgements seen since the caller last cleared this."""

    def _peer(self, peer: Peer) -> _PeerState:
        state = self._peers.pop(peer, None)
        if state is None:
            state = _PeerState()
            if len(self._peers) >= self._max_peers:
                self._evict_peer()
        self._peers[peer] = state  # most recently active last
        PEERS.set(len(self._peers))
        return state

    def _evict_peer(self) -> None:
        for old, state in self._peers.items():
            if not state.outgoing:
                del self._peers[old]
                EVICTED.labels("peer").inc()
                return

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has something to send (on the clock passed to it), or None."""
        best: float | None = None
        for state in self._peers.values():
            times = [record.send_at for record in state.outgoing.values()]
            if any(record.expedite for record in state.outgoing.values()) or state.requests:
                times.append(self._last_tick)
            if state.acks_since is not None:
                times.append(state.acks_since + self._ack_delay)
            if times:
                earliest = min(times)
                best = earliest if best is None else min(best, earliest)
        return best

    # -- sending ----------------------------------------------------------------------------

    def send(
        self, message: SyncMessage, peers: list[Peer], now: float, *, send_count: int = 0
    ) -> bytes:
        """Queue ``message`` for ``peers``; it goes out at the next tick (or at ``now`` when
        restoring one already sent ``send_count`` times)."""
        self._messages[message.id] = message
        for peer in peers:
            self._peer(peer).outgoing.setdefault(message.id, _Record(send_count, now))
        return message.id

    def resend_now(self, message: bytes, now: float) -> bool:
        """Send ``message`` again at the next tick to every peer that has not acknowledged it
        (when the network lost it, sooner than the backoff would); the backoff's schedule and
        count stay as they were."""
        found = False
        for state in self._peers.values():
            record = state.outgoing.get(message)
            if record is not None:
                record.expedite = True
                found = True
        return found

    def outgoing(self) -> list[Outgoing]:
        return [
            Outgoing(peer, self._messages[message], record.send_count, record.send_at)
            for peer, state in self._peers.items()
            for message, record in state.outgoing.items()
        ]

    def acknowledge(self, peer: Peer, message: bytes, now: float | None = None) -> None:
        """Acknowledge a new message from ``peer`` in the next payload (once it is stored);
        from then on copies of it are acknowledged at once and not delivered again."""
        if message not in self._delivered:
            self._remember_delivered(message)
        self._queue_ack(self._peer(peer), message, now)

    def _queue_ack(self, state: _PeerState, message: bytes, now: float | None = None) -> None:
        # An acknowledgement waits ack_delay from when it was queued for a message to ride
        # along (``now``; the last tick when the caller ticks at every epoch).
        if not state.acks:
            state.acks_since = self._last_tick if now is None else now
        state.acks.append(message)
        if len(state.acks) > MAX_ACKS_QUEUED:
            del state.acks[0]
            EVICTED.labels("ack").inc()

    def hurry_acks(self) -> None:
        """Every queued acknowledgement is due at the next :meth:`tick` (at a graceful stop:
        nothing of ours will come for them to ride along)."""
        for state in self._peers.values():
            if state.acks:
                state.acks_since = float("-inf")

    def pending(self, message: bytes) -> list[Peer]:
        """The peers that have not yet acknowledged ``message``."""
        return [p for p, s in self._peers.items() if message in s.outgoing]

    def _resend_delay(self, count: int) -> float:
        # status-go: 2^(n-1) backoff intervals plus up to 30 epochs (9 s) of jitter.
        delay = 2.0 ** (count - 1) * self._resend_interval
        return delay + self._rng.uniform(0, 0.3 * self._resend_interval)

    def tick(self, now: float) -> Tick:
        payloads: dict[Peer, bytes] = {}
        carried: dict[Peer, list[bytes]] = {}
        acks: dict[Peer, list[bytes]] = {}
        failed: list[tuple[bytes, Peer]] = []
        self._last_tick = now
        for peer, state in self._peers.items():
            due = any(
                record.send_at <= now or record.expedite for record in state.outgoing.values()
            )
            # Compared as next_deadline computes it, so a tick at that deadline finds it due.
            acks_due = state.acks_since is not None and state.acks_since + self._ack_delay <= now
            payload = mvds_pb2.Payload()
            if due or acks_due:
                payload.acks.extend(state.acks[:MAX_PAYLOAD_RECORDS])
                del state.acks[:MAX_PAYLOAD_RECORDS]
                state.acks_since = now if state.acks else None
            payload.requests.extend(state.requests[:MAX_PAYLOAD_RECORDS])
            del state.requests[:MAX_PAYLOAD_RECORDS]
            size = RECORD_OVERHEAD * (len(payload.acks) + len(payload.requests))
            ids: list[bytes] = []
            for message_id_, record in list(state.outgoing.items()):
                if len(payload.messages) >= MAX_PAYLOAD_RECORDS:
                    break
                if record.send_at > now and not record.expedite:
                    continue
                if record.send_count >= self._max_sends and not record.expedite:
                    del state.outgoing[message_id_]
                    failed.append((message_id_, peer))
                    continue
                message = self._messages[message_id_]
                size += len(message.body) + RECORD_OVERHEAD
                if ids and size > self._max_payload_bytes:
                    break
                payload.messages.add(
                    group_id=message.group_id, timestamp=message.timestamp, body=message.body
                )
                ids.append(message_id_)
                if record.expedite and record.send_at > now:
                    record.expedite = False
                    continue
                record.expedite = False
                record.send_count += 1
                record.send_at = now + self._resend_delay(record.send_count)
            if payload.acks or payload.messages or payload.requests:
                payloads[peer] = payload.SerializeToString()
                carried[peer] = ids
                acks[peer] = [bytes(a) for a in payload.acks]
        self._forget_acknowledged()
        return Tick(payloads, carried, acks, failed)

    def _forget_acknowledged(self) -> None:
        wanted = {m for state in self._peers.values() for m in state.outgoing}
        for message in [m for m in self._messages if m not in wanted]:
            del self._messages[message]

    # -- receiving --------------------------------------------------------------------------

    def _remember_delivered(self, message: bytes) -> None:
        self._delivered.add(message)
        self._delivered_order.append(message)
        if len(self._delivered_order) > MAX_REMEMBERED:
            self._delivered.discard(self._delivered_order.popleft())

    def receive(self, peer: Peer, data: bytes, now: float | None = None) -> list[SyncMessage]:
        """Handle one payload from ``peer``; returns the messages not yet acknowledged, in
        order, for the caller to store and then :meth:`acknowledge`."""
        try:
            payload = parse(mvds_pb2.Payload(), data, "MVDS payload")
        except DecodeError as exc:
            raise MvdsError(str(exc)) from None
        if len(payload.acks) + len(payload.messages) > 2 * MAX_PAYLOAD_RECORDS:
            raise MvdsError("payload holds more records than a peer may send at once")
        offered = [bytes(m) for m in payload.offers] + [
            bytes(m) for offer in payload.group_offers for m in offer.message_ids
        ]
        if len(offered) + len(payload.requests) > 2 * MAX_PAYLOAD_RECORDS:
            raise MvdsError("payload holds more offers and requests than a peer may send")
        state = self._peer(peer)
        for ack in payload.acks:
            if state.outgoing.pop(bytes(ack), None) is not None:
                self.acknowledged.append((bytes(ack), peer))
        for wanted in payload.requests:
            record = state.outgoing.get(bytes(wanted))
            if record is not None:
                record.expedite = True
        for offer in offered:
            if (
                offer not in self._delivered
                and offer not in state.requests
                and len(state.requests) < MAX_PAYLOAD_RECORDS
            ):
                state.requests.append(offer)
        delivered = []
        for item in payload.messages:
            message = SyncMessage(bytes(item.group_id), item.timestamp, bytes(item.body))
            if message.id in self._delivered:
                self._queue_ack(state, message.id, now)  # re-acknowledged however often
            else:
                delivered.append(message)
        return delivered
