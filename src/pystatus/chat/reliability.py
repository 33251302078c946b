"""How hard a chat session works to deliver, and how it accounts for what it drops."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from pystatus.chat import mvds
from pystatus.chat.keys import chat_key_text
from pystatus.errors import ChatError

log = logging.getLogger("pystatus.chat.session")

DROPPED = Counter(
    "chat_dropped_messages",
    "Incoming chat messages dropped, by reason: duplicate, not_listening, unencrypted,"
    " unsigned, undecodable, invalid, own_echo, not_for_this_installation, no_session,"
    " no_group_key (a community channel message whose hash ratchet key we lack)",
    ["reason"],
)
CANNOT_READ = ("not_for_this_installation", "no_session")
"""Reasons meaning "this device cannot read it": logged at WARNING, once per sender."""
MAX_WARNED = 4096
"""Senders remembered as warned about (the oldest forgotten: warned again)."""

OWED_ACKS = "mvds-owed-acks"
"""The sync-state key under which :class:`OwedAcks` is saved."""
MAX_OWED_ACKS = 2000
"""Acknowledgements kept on disk until published (past it the oldest are forgotten, counted:
their senders resend)."""
_OWED_VERSION = 1
_PEER_SIZE = 65
_ID_SIZE = 32
MAX_TRANSMITTED = 10_000
"""MVDS message ids remembered as having reached a peer at least once (for "sent")."""
TRANSMITTED = Gauge("chat_mvds_transmitted", "MVDS message ids remembered as published once")
OWED = Gauge("chat_mvds_owed_acks", "MVDS acknowledgements of stored messages not yet published")
OWED_EVENTS = Counter(
    "chat_mvds_owed_acks_events",
    "Owed acknowledgements forgotten at the bound (evicted) or unreadable at start (unreadable)",
    ["what"],
)


@dataclass(frozen=True, slots=True)
class ReliabilityConfig:
    """How hard the session works to deliver (defaults: status-go's where it has one);
    seconds on the session's monotonic clock."""

    tick_interval: float = 0.3
    """MVDS's epoch: payloads leave at most this often (``protocol/datasync``: 300 ms)."""
    resend_interval: float = mvds.RESEND_INTERVAL
    max_sends: int = mvds.MAX_SENDS
    store_check_interval: float = 3.0
    """The least time between two store checks (go-waku's ``DefaultHashQueryInterval``,
    ``waku/v2/api/publish/message_check.go``): one query confirms a batch, not a message."""
    store_check_after: float = 3.0
    """A published Waku message is asked about this long after it left (go-waku's
    ``DefaultMessageSentPeriod``); by then most 1:1 messages are acknowledged, and those
    are not asked about at all."""
    store_check_max_hashes: int = 50
    """Hashes per store check at most (go-waku's ``DefaultMaxHashQueryLength``)."""
    republish_after: float = 10.0
    """A Waku message a store was asked about and did not confirm, this long after it left,
    is sent again (go-waku's ``DefaultMessageExpiredPerid``). With checks every 3 s from 3 s
    on, each is asked about at least twice first: a light client's push ledger puts a node
    at fault after two misses in a row (``light_core.STORE_MISSES``)."""
    history_interval: float = 60.0
    """How often the store is asked for what we missed."""
    history_margin: float = 10.0
    """How far before the last sync each history query starts (clocks drift, stores lag)."""
    first_history_window: float = 24 * 3600.0


class Drops:
    """Counts each dropped message by reason; warns once per sender about those this device
    cannot read (bounded memory of who was warned)."""

    def __init__(self, capacity: int = MAX_WARNED) -> None:
        self.capacity = capacity
        self._warned: OrderedDict[bytes, None] = OrderedDict()

    def drop(self, reason: str, sender: bytes | None, detail: object) -> None:
        DROPPED.labels(reason).inc()
        if reason not in CANNOT_READ or sender is None:
            log.debug("dropped an incoming chat message (%s): %s", reason, detail)
            return
        if sender in self._warned:
            log.debug(
                "cannot read a message from %s (%s): %s", chat_key_text(sender), reason, detail
            )
            return
        self._warned[sender] = None
        if len(self._warned) > self.capacity:
            self._warned.popitem(last=False)
        log.warning(
            "cannot read messages from %s on this device (%s): %s; another process using this"
            " data dir, or a restored backup, can cause this",
            chat_key_text(sender),
            reason,
            detail,
        )


class OwedAcksError(ChatError):
    """The saved owed acknowledgements are malformed (or from a newer pystatus)."""


class OwedAcks:
    """MVDS acknowledgements of messages already stored but not yet published, kept on disk
    (sync-state key :data:`OWED_ACKS`) so that a crash between storing a message and
    publishing its acknowledgement does not lose the acknowledgement.

    Without them a restarted device cannot acknowledge again: the store brings the message
    back, but its Double Ratchet key is spent (``AlreadyRead``), so only the sender's MVDS
    resend (30 s later, then 60 s...) would make it stop. status-go keeps its acknowledgements
    in memory only (``protocol/datasync`` over the MVDS node's payload queue) and recovers by
    that resend alone. Acknowledging twice is harmless: a sender ignores an acknowledgement
    of what it no longer holds.

    Saved form: a version byte (1), then 97-byte records: the peer's uncompressed public key
    (65 bytes) and the MVDS message id (32 bytes). Bounded by ``capacity``, the oldest
    forgotten first."""

    def __init__(self, capacity: int = MAX_OWED_ACKS) -> None:
        self.capacity = capacity
        self._owed: OrderedDict[tuple[bytes, bytes], None] = OrderedDict()
        self.dirty = False
        """Changed since :meth:`saved` last handed out the state."""

    def __len__(self) -> int:
        return len(self._owed)

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        return iter(list(self._owed))

    def add(self, peer: bytes, message: bytes) -> None:
        """``message`` from ``peer`` is stored: its acknowledgement is owed until published."""
        if len(peer) != _PEER_SIZE or len(message) != _ID_SIZE:
            return  # no 1:1 peer (nothing of ours sends to it): not kept across a restart
        self._owed[(peer, message)] = None
        self._owed.move_to_end((peer, message))
        if len(self._owed) > self.capacity:
            self._owed.popitem(last=False)
            OWED_EVENTS.labels("evicted").inc()
        self.dirty = True
        OWED.set(len(self._owed))

    def published(self, peer: bytes, messages: Iterable[bytes]) -> None:
        """A payload carrying these acknowledgements reached the network."""
        for message in messages:
            if self._owed.pop((peer, message), 0) is None:
                self.dirty = True
        OWED.set(len(self._owed))

    def saved(self) -> bytes:
        """The state to save (clears :attr:`dirty`)."""
        self.dirty = False
        return bytes([_OWED_VERSION]) + b"".join(p + m for p, m in self._owed)

    @staticmethod
    def load(saved: bytes) -> list[tuple[bytes, bytes]]:
        """(peer, MVDS message id) pairs from :meth:`saved`; raises :class:`OwedAcksError`."""
        size = _PEER_SIZE + _ID_SIZE
        if not saved or saved[0] != _OWED_VERSION:
            raise OwedAcksError(f"owed acknowledgements of unknown version {saved[:1].hex()}")
        body = saved[1:]
        if len(body) % size:
            raise OwedAcksError(f"owed acknowledgements of {len(body)} bytes, not records")
        return [
            (body[i : i + _PEER_SIZE], body[i + _PEER_SIZE : i + size])
            for i in range(0, len(body), size)
        ]


class Transmitted:
    """The MVDS message ids of ours that a publish took to at least one peer (a relay peer
    or a light-push node that answered 200): "sent", the Status app's single tick, as opposed
    to "delivered" (acknowledged). The newest ``capacity`` are remembered."""

    def __init__(self, capacity: int = MAX_TRANSMITTED) -> None:
        self.capacity = capacity
        self._ids: OrderedDict[bytes, None] = OrderedDict()

    def __contains__(self, message: object) -> bool:
        return message in self._ids

    def add(self, messages: Iterable[bytes]) -> None:
        for message in messages:
            self._ids[message] = None
            self._ids.move_to_end(message)
            if len(self._ids) > self.capacity:
                self._ids.popitem(last=False)
        TRANSMITTED.set(len(self._ids))
