"""How hard a chat session works to deliver, and how it accounts for what it drops."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from prometheus_client import Counter

from pystatus.chat import mvds
from pystatus.chat.keys import chat_key_text

log = logging.getLogger("pystatus.chat.session")

DROPPED = Counter(
    "chat_dropped_messages",
    "Incoming chat messages dropped, by reason: duplicate, not_listening, unencrypted,"
    " unsigned, undecodable, invalid, own_echo, not_for_this_installation, no_session",
    ["reason"],
)
CANNOT_READ = ("not_for_this_installation", "no_session")
"""Reasons meaning "this device cannot read it": logged at WARNING, once per sender."""
MAX_WARNED = 4096
"""Senders remembered as warned about (the oldest forgotten: warned again)."""


@dataclass(frozen=True, slots=True)
class ReliabilityConfig:
    """How hard the session works to deliver (defaults: status-go's where it has one);
    seconds on the session's monotonic clock."""

    tick_interval: float = 0.3
    """MVDS's epoch: payloads leave at most this often (``protocol/datasync``: 300 ms)."""
    resend_interval: float = mvds.RESEND_INTERVAL
    max_sends: int = mvds.MAX_SENDS
    store_check_interval: float = 0.25
    """The least time between two store checks."""
    store_check_after: float = 0.4
    """A published Waku message is asked about this long after it left."""
    republish_after: float = 1.0
    """A Waku message no store has seen this long after it left is sent again."""
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
