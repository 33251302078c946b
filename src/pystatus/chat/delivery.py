"""What became of each message we sent (sans-IO: time is passed in, in seconds).

A message is *pending* until a Waku message carrying it reaches at least one relay peer
(*sent*), *stored* once a store node answers for that Waku message's hash, *delivered* once a
recipient device acknowledges it, and *failed* when its protocol gave up; resending makes it
pending again. Statuses only move forward, except that a failed message can still turn out
delivered, and a resend starts over.

Every Waku message we publish is watched until a store node confirms it: one that is still
unconfirmed ``republish_after`` seconds later is reported overdue, so that what it carried
(messages, acknowledgements) goes out again instead of waiting for a backoff.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import StrEnum


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
STORE_CHECK_AFTER = 0.5
REPUBLISH_AFTER = 1.5
MAX_TRACKED = 100_000
MAX_ENVELOPES = 10_000


@dataclass(slots=True)
class Envelope:
    """One Waku message we published and what it carried."""

    hash: bytes
    published_at: float
    messages: list[str] = field(default_factory=list)
    """Ids of our messages in it."""
    contents: object = None
    """What the caller needs to send its contents again."""


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
            self._envelopes[envelope.hash] = envelope
            while len(self._envelopes) > MAX_ENVELOPES:
                self._envelopes.popitem(last=False)
        if relay_peers <= 0:
            return []
        return [m for m in envelope.messages if self._move(m, DeliveryStatus.SENT)]

    def store_checks_due(self, now: float, limit: int = 100) -> list[bytes]:
        """Hashes of our Waku messages old enough to ask a store about."""
        return [h for h, e in self._envelopes.items() if e.published_at + self._check_after <= now][
            :limit
        ]

    def stored(self, hashes: list[bytes]) -> list[str]:
        """A store answered for ``hashes``; returns the messages now *stored*."""
        changed = []
        for digest in hashes:
            envelope = self._envelopes.pop(digest, None)
            if envelope is not None:
                changed += [m for m in envelope.messages if self._move(m, DeliveryStatus.STORED)]
        return changed

    def overdue(self, now: float) -> list[Envelope]:
        """Envelopes no store confirmed in time (forgotten here: the caller sends again)."""
        late = [
            e for e in self._envelopes.values() if e.published_at + self._republish_after <= now
        ]
        for envelope in late:
            del self._envelopes[envelope.hash]
        return late

    def next_deadline(self) -> float | None:
        """When the oldest envelope watched is due for a store check (on the clock
        ``published_at`` is on), or None when none is watched."""
        if not self._envelopes:
            return None
        return min(e.published_at for e in self._envelopes.values()) + self._check_after

    def delivered(self, message_id: str) -> bool:
        return self._move(message_id, DeliveryStatus.DELIVERED)

    def failed(self, message_id: str) -> bool:
        return self._move(message_id, DeliveryStatus.FAILED)

    def outstanding(self) -> list[str]:
        """Messages neither delivered nor failed."""
        final = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
        return [m for m, s in self._status.items() if s not in final]
