"""What became of each message we sent (sans-IO: time is passed in, in seconds).

A message is *pending* until a Waku message carrying it reaches at least one relay peer
(*sent*), *stored* once a store node answers for that Waku message's hash, *delivered* once a
recipient device acknowledges it, and *failed* when its protocol gave up; resending makes it
pending again. Statuses only move forward, except that a failed message can still turn out
delivered, and a resend starts over.

Every Waku message we publish is watched until a store node confirms it, as go-waku's message
check does (``waku/v2/api/publish/message_check.go``): the store is asked in batches (the caller
asks at most every few seconds, :meth:`DeliveryTracker.store_checks_due` gives up to 50 hashes
at least ``store_check_after`` seconds old), and a Waku message whose every message a recipient
acknowledged is no longer watched (go-waku's ``DeleteByMessageIDs``, which status-go calls on an
MVDS acknowledgement): it needs no store's word. One that a store was asked about and that is
still unconfirmed ``republish_after`` seconds after it left is reported overdue, so that what
it carried (messages, acknowledgements) goes out again instead of waiting for a backoff.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum

from prometheus_client import Counter, Gauge


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    STORED = "stored"
    DELIVERED = "delivered"
    FAILED = "failed"


_RANK = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.STORED: 2,
    DeliveryStatus.FAILED: 3,
    DeliveryStatus.DELIVERED: 4,
}
STORE_CHECK_AFTER = 3.0
"""go-waku's ``DefaultMessageSentPeriod`` (seconds)."""
REPUBLISH_AFTER = 10.0
"""go-waku's ``DefaultMessageExpiredPerid`` (seconds)."""
MAX_HASHES_PER_CHECK = 50
"""go-waku's ``DefaultMaxHashQueryLength``."""
MAX_TRACKED = 100_000
MAX_ENVELOPES = 10_000
WATCHED = Gauge(
    "chat_store_check_watched", "Published Waku messages awaiting a store's confirmation"
)
UNWATCHED = Counter(
    "chat_store_check_unwatched",
    "Published Waku messages no longer awaiting a store's confirmation, by why: stored,"
    " delivered (every message in it acknowledged), overdue (sent again), evicted (past"
    " MAX_ENVELOPES), replaced (the same Waku message published again)",
    ["why"],
)


@dataclass(slots=True)
class Envelope:
    """One Waku message we published and what it carried."""

    hash: bytes
    published_at: float
    messages: list[str] = field(default_factory=list)
    """Ids of our messages in it."""
    contents: object = None
    """What the caller needs to send its contents again."""
    asked: bool = False
    """A store was asked about it at least once."""


class DeliveryTracker:
    def __init__(
        self,
        *,
        store_check_after: float = STORE_CHECK_AFTER,
        republish_after: float = REPUBLISH_AFTER,
    ) -> None:
        self._check_after = store_check_after
        self._republish_after = republish_after
        self._status: OrderedDict[str, DeliveryStatus] = OrderedDict()
        self._envelopes: OrderedDict[bytes, Envelope] = OrderedDict()
        self._by_message: dict[str, list[bytes]] = {}
        """Hashes of the watched envelopes carrying each message (only those watched)."""

    def status(self, message_id: str) -> DeliveryStatus | None:
        return self._status.get(message_id)

    def _move(self, message_id: str, status: DeliveryStatus) -> bool:
        current = self._status.get(message_id)
        if current is None:
            return False
        if current == DeliveryStatus.DELIVERED:
            return False
        if status != DeliveryStatus.DELIVERED and _RANK[status] <= _RANK[current]:
            return False
        self._status[message_id] = status
        return True

    def track(self, message_id: str, status: DeliveryStatus = DeliveryStatus.PENDING) -> None:
        """Follow a message (``status``: where it stood, for one restored after a restart)."""
        self._status[message_id] = status
        self._status.move_to_end(message_id)
        while len(self._status) > MAX_TRACKED:
            self._status.popitem(last=False)

    def resent(self, message_id: str) -> bool:
        """The user sends a failed message again: it is pending once more."""
        if self._status.get(message_id) != DeliveryStatus.FAILED:
            return False
        self._status[message_id] = DeliveryStatus.PENDING
        return True

    def published(self, envelope: Envelope, relay_peers: int, *, watch: bool = True) -> list[str]:
        """Note that ``envelope`` left (and watch it for a store's confirmation); returns
        the messages now *sent*."""
        if watch:
            self._unwatch(envelope.hash, "replaced")
            self._envelopes[envelope.hash] = envelope
            WATCHED.inc()
            for message_id in envelope.messages:
                self._by_message.setdefault(message_id, []).append(envelope.hash)
            while len(self._envelopes) > MAX_ENVELOPES:
                self._unwatch(next(iter(self._envelopes)), "evicted")
        if relay_peers <= 0:
            return []
        return [m for m in envelope.messages if self._move(m, DeliveryStatus.SENT)]

    def _unwatch(self, digest: bytes, why: str) -> Envelope | None:
        envelope = self._envelopes.pop(digest, None)
        if envelope is None:
            return None
        WATCHED.dec()
        UNWATCHED.labels(why).inc()
        for message_id in envelope.messages:
            hashes = self._by_message.get(message_id)
            if hashes is not None and digest in hashes:
                hashes.remove(digest)
                if not hashes:
                    del self._by_message[message_id]
        return envelope

    def store_checks_due(self, now: float, limit: int = MAX_HASHES_PER_CHECK) -> list[bytes]:
        """Hashes (at most ``limit``, oldest first) of our Waku messages old enough to ask a
        store about; each is marked as asked."""
        due: list[bytes] = []
        for digest, envelope in self._envelopes.items():
            if len(due) >= limit:
                break
            if envelope.published_at + self._check_after > now:
                continue
            envelope.asked = True
            due.append(digest)
        return due

    def stored(self, hashes: list[bytes]) -> list[str]:
        """A store answered for ``hashes``; returns the messages now *stored*."""
        changed = []
        for digest in hashes:
            envelope = self._unwatch(digest, "stored")
            if envelope is not None:
                changed += [m for m in envelope.messages if self._move(m, DeliveryStatus.STORED)]
        return changed

    def overdue(self, now: float) -> list[Envelope]:
        """Envelopes a store was asked about without confirming them, ``republish_after``
        seconds or more after they left (forgotten here: the caller sends again). Call it
        before asking the next batch, so that each had its answer (or failure) first."""
        late = [
            digest
            for digest, envelope in self._envelopes.items()
            if envelope.asked and envelope.published_at + self._republish_after <= now
        ]
        return [e for e in (self._unwatch(d, "overdue") for d in late) if e is not None]

    def next_deadline(self) -> float | None:
        """When the oldest envelope watched is due for a store check (on the clock
        ``published_at`` is on), or None when none is watched."""
        if not self._envelopes:
            return None
        return min(e.published_at for e in self._envelopes.values()) + self._check_after

    def delivered(self, message_id: str) -> bool:
        """A recipient acknowledged ``message_id``; True when that moved it. Waku messages
        whose every message is now delivered are no longer watched."""
        moved = self._move(message_id, DeliveryStatus.DELIVERED)
        for digest in list(self._by_message.get(message_id, ())):
            envelope = self._envelopes.get(digest)
            if envelope is not None and all(
                self._status.get(m) == DeliveryStatus.DELIVERED for m in envelope.messages
            ):
                self._unwatch(digest, "delivered")
        return moved

    def failed(self, message_id: str) -> bool:
        return self._move(message_id, DeliveryStatus.FAILED)

    def outstanding(self) -> list[str]:
        """Messages neither delivered nor failed."""
        final = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
        return [m for m, s in self._status.items() if s not in final]
