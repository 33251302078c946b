"""The chat core: one account's device on the Waku network, sans-IO.

:class:`ChatSession` holds what status-go's messenger keeps between messages below the
content layer: the topics listened to and how each opens, the Double Ratchet sessions
(:class:`~pystatus.chat.encryption.EncryptionService`), 2/MVDS data sync for 1:1 chats,
segment reassembly, the hashes already seen, the delivery status of what we sent (pending,
sent, stored, delivered, failed) and when the store is next asked. It never awaits and never
reads a clock: ``now`` is **monotonic seconds** (any clock that only moves forward: the
asyncio adapter passes ``time.monotonic()``, a simulation its virtual clock) and ``now_ns``
**wall-clock nanoseconds since the epoch**, used only for what goes on the wire (Waku
timestamps, MVDS timestamps) and store time ranges.

How to drive it: build it; restore what the database kept (the encryption state, then
:meth:`state_saved`; :meth:`restore_outbox`; :meth:`restore_owed_acks`; :meth:`track` for
each unfinished message and :meth:`republish` for unconfirmed public ones;
``last_synced_ns``); listen
(:meth:`listen_own`, :meth:`watch_public`, :meth:`watch_contact_code` return content topics
for the transport). Then feed each input as it happens: :meth:`receive` for a Waku message,
:meth:`outbox_entry` + (after committing it) :meth:`queue` for a 1:1 message, and
:meth:`send_private` / :meth:`send_public` for what goes without data sync; :meth:`published`
with each :class:`Publish`'s outcome; :meth:`store_answer` / :meth:`history_synced` /
:meth:`store_failed` for store answers; :meth:`acknowledge` (or :meth:`rejected`) once a
:class:`Deliver` was committed; :meth:`set_connected` before each :meth:`handle_timer`. Carry
out the actions each returns in order (a :class:`Commit` before what follows it; a
:class:`Listen` to the transport), and call :meth:`handle_timer` whenever ``now`` reaches
:meth:`next_deadline` (None: nothing is due until the next input). A simulation joins
sessions by handing one's :class:`Publish` payloads to the others' :meth:`receive`
(dropping, duplicating or delaying them as it likes) and answering :class:`Commit` at once;
``tests/chat/test_session.py`` drives two by hand.

What needs the database (contacts, edited messages, pin clocks) is not read here: a received
message's content is handed out as a :class:`Deliver` action and the adapter's content
handlers (:mod:`pystatus.chat.incoming`) read the database, then answer with
:meth:`acknowledge`. That is the "lookup answered by the adapter" design: the session stays
synchronous and the handlers keep their bounded caches in front of the database.

Wire: status-go v1.1.0 (``protocol/common/message_sender.go`` handleMessage for receiving,
``protocol/datasync/transport.go`` for MVDS, ``protocol/messenger_mailserver.go`` for history).
Sending per chat kind is in :mod:`pystatus.chat.one_to_one` and :mod:`pystatus.chat.public`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import cast

import coincurve
from prometheus_client import Counter

from pystatus.chat import mvds, topics
from pystatus.chat.actions import (
    Action,
    AdvertiseContactCode,
    CheckStored,
    Commit,
    Listen,
    Publish,
    SyncHistory,
)
from pystatus.chat.database import OutboxEntry
from pystatus.chat.delivery import DeliveryStatus, DeliveryTracker, Envelope
from pystatus.chat.encryption import (
    EncryptionService,
)
from pystatus.chat.events import STATUS, ChatEvent, StatusEvent
from pystatus.chat.keys import chat_key_text
from pystatus.chat.listening import Listening
from pystatus.chat.membership import is_group_chat_id
from pystatus.chat.one_to_one import Sealed, seal_pairing, seal_private
from pystatus.chat.public import Unpublished, seal_public
from pystatus.chat.receiving import Receiving
from pystatus.chat.reliability import Drops, OwedAcks, ReliabilityConfig, Transmitted
from pystatus.chat.segmentation import (
    Reassembler,
)
from pystatus.chat.state import dump_device_state
from pystatus.errors import ChatError

log = logging.getLogger(__name__)

EVICTED = Counter("chat_session_evicted", "Session state dropped at a bound, by table", ["table"])

MAX_SEEN = 100_000
"""Waku message hashes remembered to take each message once (relay and store both bring)."""
MAX_TRACKED_CHATS = 100_000
"""Our messages whose chat is remembered, for status events (the oldest forgotten)."""
MAX_ACKS_ON_RECONNECT = 10_000
LAST_SYNCED = "last-synced"
CONTACT_CODE_INTERVAL = 6 * 3600.0
"""How often our bundle is advertised on our contact-code topic (and at start)."""
OFFLINE_RECHECK = 1.0
"""While offline, how often the adapter is asked to look at the transport again (the
:class:`~pystatus.chat.transport.Transport` has no connection event)."""


class ChatSession(Receiving):
    def __init__(
        self,
        identity: bytes,
        encryption: EncryptionService,
        *,
        config: ReliabilityConfig | None = None,
        has_store: bool = False,
        segment_size: int,
        mvds_state: mvds.MVDS | None = None,
    ) -> None:
        """``identity``: our chat private key (32 bytes); ``has_store``: a store confirms
        what we publish and serves history; ``segment_size``: the largest Waku payload
        before segmenting (bytes)."""
        self.identity = identity
        self.encryption = encryption
        self.public_key = bytes(coincurve.PrivateKey(identity).public_key.format(compressed=False))
        self.config = config or ReliabilityConfig()
        self.has_store = has_store
        self.segment_size = segment_size
        self.mvds = mvds_state or mvds.MVDS(
            resend_interval=self.config.resend_interval, max_sends=self.config.max_sends
        )
        self.tracker = DeliveryTracker(
            store_check_after=self.config.store_check_after,
            republish_after=self.config.republish_after,
        )
        self.listening = Listening(self.public_key)
        """Content topic -> how to open it."""
        self.drops = Drops()
        self.owed_acks = OwedAcks()
        self.transmitted = Transmitted()
        self.chat_key = chat_key_text(self.public_key)
        self.own_topic = topics.partitioned_content_topic(self.public_key)
        self.contact_code_name = topics.contact_code_topic_name(self.public_key)
        self.last_synced_ns: int | None = None
        self.connected = False
        self._clock = 0
        self._sync_ids: dict[bytes, str] = {}  # MVDS id -> our message id
        self._chat_of: OrderedDict[str, str] = OrderedDict()
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._segments = Reassembler()
        self._saved_changes = -1
        self._acks_on_reconnect: dict[bytes, list[bytes]] = {}
        self.unpublished = Unpublished()
        self._next_tick = 0.0
        self._next_check = 0.0
        self._checking = False
        self._next_history: float | None = 0.0 if has_store else None
        self._syncing = False
        self._contact_code_at: float | None = None
        self._offline_recheck: float | None = None

    # -- topics ---------------------------------------------------------------------------

    def watch_public(self, name: str) -> list[str]:
        """Listen to a public chat; the content topics added."""
        return self.listening.public(name)

    def watch_contact_code(self, public_key: bytes) -> list[str]:
        return self.listening.contact_code(public_key)

    def listen_own(self) -> list[str]:
        return self.listening.own()

    # -- clocks and bookkeeping -----------------------------------------------------------

    def next_clock(self, now_ms: int, seen: int = 0) -> int:
        """The next Lamport clock: max(last + 1, now in ms), as status-go's chats keep it
        (``protocol/models.go`` NextClockAndTimestamp)."""
        self._clock = max(self._clock, seen)
        self._clock = max(self._clock + 1, now_ms)
        return self._clock

    def observe_clock(self, clock: int) -> None:
        """A clock seen in a received message: ours continue after it."""
        self._clock = max(self._clock, clock)

    def seen(self, digest: bytes) -> bool:
        return digest in self._seen

    def saw(self, digest: bytes) -> bool:
        """Remember a Waku message hash; False when it was already known."""
        if digest in self._seen:
            return False
        self._seen[digest] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return True

    def track(self, message_id: str, chat_id: str, status: DeliveryStatus) -> None:
        """Follow the delivery of a message of ours (also: one restored at start)."""
        if self.tracker.status(message_id) is None or status == DeliveryStatus.PENDING:
            self.tracker.track(message_id, status)
        self._chat_of[message_id] = chat_id
        self._chat_of.move_to_end(message_id)
        if len(self._chat_of) > MAX_TRACKED_CHATS:
            self._chat_of.popitem(last=False)

    def status_event(self, message_id: str, status: DeliveryStatus) -> ChatEvent:
        chat_id = self._chat_of.get(message_id, "")
        return StatusEvent(
            message_id, chat_id, self.chat_key, "", 0, 0, "", True, kind=STATUS, status=status
        )

    def _statuses(self, message_ids: Iterable[str], status: DeliveryStatus) -> Commit | None:
        ids = list(message_ids)
        if not ids:
            return None
        return Commit(
            statuses=tuple((m, str(status)) for m in ids),
            events=tuple(self.status_event(m, status) for m in ids),
        )

    def device_state(self) -> bytes | None:
        """The encryption state to save, when it changed since the last call (versioned,
        :mod:`pystatus.chat.state`)."""
        if self.encryption.changes == self._saved_changes:
            return None
        self._saved_changes = self.encryption.changes
        return dump_device_state(self.encryption)

    def state_unsaved(self) -> None:
        """A commit holding the state failed: hand it out again next time."""
        self._saved_changes = -1

    def state_saved(self) -> None:
        """What the database holds is current (at start, after restoring it)."""
        self._saved_changes = self.encryption.changes

    def unacknowledged(self) -> int:
        return len(self.mvds.outgoing())

    # -- life cycle -----------------------------------------------------------------------

    def restore_outbox(self, entries: Iterable[OutboxEntry], now: float) -> None:
        """Our 1:1 messages still waiting for acknowledgement when the database was saved:
        they go out again at once."""
        for entry in entries:
            message = mvds.SyncMessage(entry.group_id, entry.timestamp, entry.body)
            self.mvds.send(message, [entry.peer], now, send_count=1)
            self._sync_ids[message.id] = entry.message_id

    def start(self, now: float) -> list[Action]:
        """First actions: the contact-code advert is due at once once connected."""
        self._contact_code_at = None
        return []

    # -- sending --------------------------------------------------------------------------

    def outbox_entry(
        self, recipient: bytes, message_id: str, wrapped: bytes, now_ns: int
    ) -> OutboxEntry:
        """A wrapped message as the body of an MVDS message for ``recipient`` (status-go's
        group id; its timestamp in seconds); commit it, then :meth:`queue` it."""
        group = mvds.one_to_one_group_id(self.public_key, recipient)
        sync = mvds.SyncMessage(group, now_ns // 10**9, wrapped)
        return OutboxEntry(sync.id, recipient, message_id, group, sync.timestamp, wrapped)

    def queue(self, entries: Iterable[OutboxEntry], now: float) -> None:
        """Committed outbox entries: they leave at the next MVDS epoch."""
        for entry in entries:
            message = mvds.SyncMessage(entry.group_id, entry.timestamp, entry.body)
            self.mvds.send(message, [entry.peer], now)
            self._sync_ids[message.id] = entry.message_id

    def _with_state(self, publishes: list[Publish]) -> list[Action]:
        """Ratchet steps are committed before the messages they encrypted leave."""
        state = self.device_state()
        head: list[Action] = [Commit(device_state=state)] if state is not None else []
        return head + self._negotiated() + list(publishes)

    def _negotiated(self) -> list[Action]:
        added = self.listening.negotiated(self.encryption)
        return [Listen(tuple(added))] if added else []

    def send_private(
        self, recipient: bytes, wrapped: bytes, now_ns: int, *, kind: str = "message"
    ) -> list[Action]:
        """Send a wrapped message to ``recipient``'s devices and ours without data sync
        (chat identities, reactions, notes to self)."""
        sealed = seal_private(
            self.encryption, self.identity, self.public_key, recipient, wrapped, self.segment_size
        )
        return self._with_state([self._publish(s, now_ns, kind) for s in sealed])

    def send_public(
        self, name: str, wrapped: bytes, now_ns: int, carried: Iterable[str] = ()
    ) -> list[Action]:
        """Publish to a public chat; ``carried``: our message ids in it, tracked (a
        segmented message by its last segment). Raises :class:`ChatError` for a private
        group's chat id: what belongs to a group never goes out on a topic named by it."""
        if is_group_chat_id(name):
            raise ChatError("a private group is no public chat: its messages go to each member")
        sealed = seal_public(
            self.encryption,
            self.identity,
            name,
            topics.public_chat_content_topic(name),
            wrapped,
            self.segment_size,
        )
        out = [self._publish(s, now_ns, "public") for s in sealed]
        out[-1] = Publish(
            out[-1].content_topic,
            out[-1].payload,
            now_ns,
            "public",
            tuple(carried),
            ("public", name, wrapped),
            self.has_store,
        )
        return self._with_state(out)

    def contact_code(self, wrapped: bytes, now: float, now_ns: int) -> list[Action]:
        """Publish our ContactCodeAdvertisement (``wrapped``) with our bundle, as
        status-go's publishContactCode."""
        name = self.contact_code_name
        sealed = seal_public(
            self.encryption,
            self.identity,
            name,
            topics.content_topic(topics.topic_of(name)),
            wrapped,
            1 << 62,  # status-go sends the advert whole
        )
        self._contact_code_at = now
        return self._with_state([self._publish(s, now_ns, "control") for s in sealed])

    def announce_device(self, wrapped: bytes, now_ns: int) -> list[Action]:
        """A PairInstallation (``wrapped``) to our own devices."""
        sealed = seal_pairing(self.encryption, self.identity, self.public_key, wrapped)
        return self._with_state([self._publish(sealed, now_ns, "control")])

    def _publish(self, sealed: Sealed, now_ns: int, kind: str) -> Publish:
        return Publish(sealed.content_topic, sealed.payload, now_ns, kind)

    def republish(
        self, name: str, wrapped: bytes, message_id: str, status: DeliveryStatus, now_ns: int
    ) -> list[Action]:
        """At start, a public message of ours still ``pending`` or ``sent`` when the device
        stopped (its resend lived in memory): published again when it never left, or when a
        store can now confirm it; call after :meth:`track`. Receivers drop the copy by its
        message id."""
        if status == DeliveryStatus.PENDING or (status == DeliveryStatus.SENT and self.has_store):
            return self.send_public(name, wrapped, now_ns, [message_id])
        return []

    def resent(self, message_id: str, chat_id: str) -> None:
        """The user sends a failed message again: it is pending once more."""
        self.track(message_id, chat_id, DeliveryStatus.PENDING)

    def published(
        self, action: Publish, outcome: tuple[bytes, int] | None, now: float
    ) -> list[Action]:
        """How a :class:`Publish` went: (RFC 14 hash, peers it reached), or None when
        nothing took it (what it carried then waits for its resend)."""
        if outcome is None:
            public = action.retry[:1] == ("public",)
            if public and not self.unpublished.add(action.retry, action.carried, now):
                EVICTED.labels("unpublished").inc()
            return []
        digest, peers = outcome
        self.saw(digest)
        if action.retry[:1] == ("mvds",) and peers > 0:  # its acks are out: no longer owed
            _, peer, carried, acks = action.retry
            self.owed_acks.published(cast(bytes, peer), cast(tuple[bytes, ...], acks))
            self.transmitted.add(cast(tuple[bytes, ...], carried))
        if not action.carried and not action.track:
            return []
        envelope = Envelope(digest, now, list(action.carried), action.retry)
        # Without a store to confirm with, reaching a relay peer is all we learn.
        sent = self.tracker.published(envelope, peers, watch=action.track)
        commit = self._statuses(sent, DeliveryStatus.SENT)
        return [commit] if commit is not None else []

    # -- receiving ------------------------------------------------------------------------

    def _acknowledgements(self) -> list[Action]:
        removed = []
        delivered = []
        for sync_id, peer in self.mvds.acknowledged:
            removed.append((sync_id, cast(bytes, peer)))
            message_id = self._sync_ids.pop(sync_id, None)
            if message_id is not None and self.tracker.delivered(message_id):
                delivered.append(message_id)
        self.mvds.acknowledged.clear()
        if not removed:
            return []
        return [
            Commit(
                outbox_removed=tuple(removed),
                statuses=tuple((m, str(DeliveryStatus.DELIVERED)) for m in delivered),
                events=tuple(self.status_event(m, DeliveryStatus.DELIVERED) for m in delivered),
            )
        ]

    # -- the store ------------------------------------------------------------------------

    def store_answer(self, found: Iterable[bytes], now: float) -> list[Action]:
        """The store holds ``found`` (hashes asked in :class:`CheckStored`)."""
        self._checking = False
        self._next_check = now + self.config.store_check_interval
        commit = self._statuses(self.tracker.stored(list(found)), DeliveryStatus.STORED)
        return [commit] if commit is not None else []

    def store_failed(self, now: float, *, history: bool = False) -> None:
        """A store query failed: asked again in a few seconds."""
        if history:
            self._syncing = False
            self._next_history = now + min(self.config.history_interval, 5.0)
        else:
            self._checking = False
            self._next_check = now + max(self.config.store_check_interval, 1.0)

    def history_query(self, now: float, now_ns: int) -> SyncHistory:
        """What to ask the store for now: since the last sync (less a margin), or the first
        window."""
        if self.last_synced_ns is None:
            start_ns = now_ns - int(self.config.first_history_window * 1e9)
        else:
            start_ns = self.last_synced_ns - int(self.config.history_margin * 1e9)
        self._syncing = True
        return SyncHistory(tuple(self.listening.topics), start_ns, now_ns)

    def history_synced(self, query: SyncHistory, now: float) -> list[Action]:
        """Every new message of ``query`` was fed to :meth:`receive`."""
        self._syncing = False
        self.last_synced_ns = query.end_ns
        self._next_history = now + self.config.history_interval
        return [Commit(sync_state=((LAST_SYNCED, query.end_ns.to_bytes(8, "big")),))]

    # -- time -----------------------------------------------------------------------------

    def set_connected(self, connected: bool, now: float) -> None:
        """Whether a message published now would reach the network; after none, everything
        unacknowledged goes out again and the store is asked at once."""
        if connected and not self.connected:
            for outgoing in self.mvds.outgoing():
                self.mvds.resend_now(outgoing.message.id, now)
            for peer, acks in self._acks_on_reconnect.items():
                for ack in acks:
                    self.mvds.acknowledge(peer, ack, now)
            self._acks_on_reconnect.clear()
            self.unpublished.reconnected(now)
            if self.has_store:
                self._next_history = now
        self.connected = connected
        self._offline_recheck = None if connected else now + OFFLINE_RECHECK

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` has work (monotonic seconds), or None."""
        times: list[float] = []
        due = self.mvds.next_deadline()
        if due is not None:
            times.append(max(due, self._next_tick))
        check = self.tracker.next_deadline()
        if check is not None and self.has_store and not self._checking:
            times.append(max(check, self._next_check))
        if self._next_history is not None and not self._syncing:
            times.append(self._next_history)
        if self.connected:
            code_at = self._contact_code_at
            times.append(0.0 if code_at is None else code_at + CONTACT_CODE_INTERVAL)
        if self._offline_recheck is not None:
            times.append(self._offline_recheck)
        if self.owed_acks.dirty:
            times.append(0.0)  # saved at once
        if self.connected and (unpublished := self.unpublished.next_deadline()) is not None:
            times.append(unpublished)
        segments = self._segments.next_deadline()
        if segments is not None:
            times.append(segments)
        return min(times) if times else None

    def handle_timer(self, now: float, now_ns: int) -> list[Action]:
        """Do what is due at ``now``: MVDS payloads, store checks and resends, history,
        the contact-code advert, segment expiry."""
        out: list[Action] = []
        segments = self._segments.next_deadline()
        if segments is not None and segments <= now:
            self._segments.handle_timer(now)
        if self._offline_recheck is not None and self._offline_recheck <= now:
            self._offline_recheck = now + OFFLINE_RECHECK
        out += self.owed_commit()
        if self.connected and (
            self._contact_code_at is None or self._contact_code_at + CONTACT_CODE_INTERVAL <= now
        ):
            self._contact_code_at = now  # the adapter's advert resets it too
            out.append(AdvertiseContactCode())
        due = self.mvds.next_deadline()
        if due is not None and due <= now and self._next_tick <= now:
            out += self._tick(now, now_ns)
        if self.has_store and not self._checking and self._next_check <= now:
            # Overdue first: only what an earlier batch asked about, answered or failed.
            for envelope in self.tracker.overdue(now):
                out += self._retry(envelope, now, now_ns)
            hashes = self.tracker.store_checks_due(now, self.config.store_check_max_hashes)
            if hashes:
                self._checking = True
                out.append(CheckStored(tuple(hashes)))
            else:
                self._next_check = now + self.config.store_check_interval
        if self._next_history is not None and not self._syncing and self._next_history <= now:
            out.append(self.history_query(now, now_ns))
        if self.connected:
            for retry, carried in self.unpublished.due(now):
                out += self._retry(Envelope(b"", now, list(carried), retry), now, now_ns)
        return out

    def _tick(self, now: float, now_ns: int) -> list[Action]:
        self._next_tick = now + self.config.tick_interval
        tick = self.mvds.tick(now)
        out: list[Action] = list(self._acknowledgements())
        removed = list(tick.failed)
        failed = [m for m in (self._sync_ids.pop(i, None) for i, _ in removed) if m is not None]
        failed = [m for m in failed if self.tracker.failed(m)]
        publishes: list[Publish] = []
        for peer, payload in tick.payloads.items():
            recipient = cast(bytes, peer)
            carried = tick.carried.get(peer, [])
            acks = tick.acks.get(peer, [])
            messages = tuple(m for m in (self._sync_ids.get(i) for i in carried) if m)
            sealed = seal_private(
                self.encryption,
                self.identity,
                self.public_key,
                recipient,
                payload,
                self.segment_size,
            )
            for part in sealed:
                kind = "message" if carried else "ack"
                if part.to_recipient:
                    retry = ("mvds", recipient, tuple(carried), tuple(acks))
                    publishes.append(
                        Publish(
                            part.content_topic,
                            part.payload,
                            now_ns,
                            kind,
                            messages,
                            retry,
                            self.has_store,
                        )
                    )
                else:
                    publishes.append(self._publish(part, now_ns, kind))
        out += self._negotiated()
        state = self.device_state()
        if removed or failed or state is not None:
            out.append(
                Commit(
                    outbox_removed=tuple((i, cast(bytes, p)) for i, p in removed),
                    statuses=tuple((m, str(DeliveryStatus.FAILED)) for m in failed),
                    events=tuple(self.status_event(m, DeliveryStatus.FAILED) for m in failed),
                    device_state=state,
                )
            )
        return out + publishes

    def _retry(self, envelope: Envelope, now: float, now_ns: int) -> list[Action]:
        """No store saw ``envelope`` in time: send what it carried again."""
        contents = envelope.contents
        if not isinstance(contents, tuple) or not contents:
            return []
        if contents[0] == "mvds":
            _, peer, carried, acks = contents
            if not self.connected:
                waiting = self._acks_on_reconnect.setdefault(peer, [])
                waiting.extend(acks)
                if len(waiting) > MAX_ACKS_ON_RECONNECT:
                    del waiting[: len(waiting) - MAX_ACKS_ON_RECONNECT]
                    EVICTED.labels("acks_on_reconnect").inc()
                if len(self._acks_on_reconnect) > MAX_ACKS_ON_RECONNECT:
                    self._acks_on_reconnect.pop(next(iter(self._acks_on_reconnect)))
                    EVICTED.labels("acks_on_reconnect").inc()
                return []
            for sync_id in carried:
                self.mvds.resend_now(sync_id, now)
            for ack in acks:
                self.mvds.acknowledge(peer, ack, now)
            return []
        if contents[0] == "public":
            _, name, data = contents
            outstanding = set(self.tracker.outstanding())
            carried_ids = [m for m in envelope.messages if m in outstanding]
            if carried_ids and not self.connected:  # sent again once connected
                if not self.unpublished.add(contents, tuple(carried_ids), now):
                    EVICTED.labels("unpublished").inc()
            elif carried_ids:
                return self.send_public(name, data, now_ns, carried_ids)
        return []
