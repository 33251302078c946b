"""A Status ``Messenger``: the asyncio adapter around a :class:`~pystatus.chat.session.ChatSession`.

The wire is status-go v1.1.0's; the session holds the protocol (envelopes, Double Ratchet,
MVDS, delivery tracking, timers) and this class only carries out its actions: it sleeps until
the session's next deadline (no polling), commits store writes through one group-committing
database writer before what they enable leaves (ratchet state before the ciphertext, received
messages before their acknowledgement), and reaches the network only through a
:class:`~pystatus.chat.transport.Transport` (a relay node, :class:`RelayTransport`, or a light
client). Content (chat messages, contacts, edits, deletes, pins) is handled by
:mod:`pystatus.chat.incoming` and :mod:`pystatus.chat.outgoing`, which read the database.

Never silent: every background task runs under one :class:`Supervisor`; its first unexpected
failure stops the messenger, fails every caller waiting (a :class:`MessengerFailed` naming the
cause), ends every event stream with it, and is raised again by :meth:`Messenger.stop`.
Bounded: received messages waiting for the core (dropped past ``MAX_INBOX``, counted), pending
writes (senders wait; received messages are dropped unacknowledged, counted, and resent by
their sender), event streams (:mod:`pystatus.chat.watchers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable

from pystatus.chat import topics
from pystatus.chat.account import Account
from pystatus.chat.actions import (
    Action,
    AdvertiseContactCode,
    AnnounceDevice,
    CheckStored,
    Commit,
    Deliver,
    Listen,
    Publish,
    SyncHistory,
)
from pystatus.chat.database import ChatDatabase
from pystatus.chat.delivery import DeliveryStatus, DeliveryTracker
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.events import ChatEvent as ChatEvent
from pystatus.chat.history import HistoryFetcher
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.messenger_community import CommunityMessaging
from pystatus.chat.messenger_group import GroupMessaging, is_group_chat_id
from pystatus.chat.messenger_read import Reading
from pystatus.chat.messenger_send import PUBLISHED_BYTES, Sending
from pystatus.chat.mvds import MVDS
from pystatus.chat.relay_transport import RelayTransport as RelayTransport
from pystatus.chat.reliability import DROPPED, OWED_ACKS
from pystatus.chat.reliability import ReliabilityConfig as ReliabilityConfig
from pystatus.chat.segmentation import segment_size
from pystatus.chat.session import LAST_SYNCED, ChatSession
from pystatus.chat.state import load_device_state
from pystatus.chat.supervisor import MessengerFailed as MessengerFailed
from pystatus.chat.supervisor import NotRunning, Supervisor
from pystatus.chat.transport import Received, Transport
from pystatus.chat.watchers import Announcer
from pystatus.chat.watchers import EventStream as EventStream
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.chat.writes import DatabaseWriter
from pystatus.chat.writes import Write as _Write
from pystatus.errors import ChatError, PystatusError
from pystatus.waku.message import WakuMessage, message_hash
from pystatus.waku.relay import WakuRelay

log = logging.getLogger(__name__)

ONE_TO_ONE = "one_to_one"
PUBLIC = "public"
HISTORY_INTERVAL = ReliabilityConfig().history_interval
REPUBLISH_WINDOW = 24 * 3600.0
"""Seconds: unconfirmed public messages younger than this are published again at start."""
MAX_INBOX = 10_000
"""Received Waku messages waiting for the core."""
MAX_PENDING_WRITES = 10_000
"""Writes waiting for the database."""


class Messenger(Reading, Sending, GroupMessaging, CommunityMessaging):
    def __init__(
        self,
        account: Account,
        transport: Transport,
        pubsub_for: Callable[[str], str] | None = None,
        *,
        installation_id: str | None = None,
        reliability: ReliabilityConfig | None = None,
        max_message_size: int = topics.MAX_MESSAGE_SIZE,
    ) -> None:
        """``transport``: how the network is reached (started and stopped with the
        messenger); its ``store`` confirms what we send and serves history.
        ``pubsub_for`` maps a content topic to the pubsub topic (shard) it travels on:
        status-go's static shards by default. ``installation_id``: this device's, a UUID by
        default as status-go's. ``max_message_size``: the network's Waku message limit
        (bytes); larger payloads are split into status-go's segments."""
        self.account = account
        self.transport = transport
        self._pubsub_for = pubsub_for or topics.status_pubsub_topic
        self.database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        self.config = reliability or ReliabilityConfig()
        self._identity = account.keys.chat
        self._public_key = account.keys.chat_public_key
        self._chat_key = account.chat_key
        self.session = ChatSession(
            self._identity,
            EncryptionService(self._identity, installation_id or str(uuid.uuid4())),
            config=self.config,
            has_store=transport.store is not None,
            segment_size=segment_size(max_message_size),
        )
        self._contact_code_topic = self.session.contact_code_name
        self.fetcher = HistoryFetcher(transport.store) if transport.store is not None else None
        self._announcer = Announcer()
        self._writer = DatabaseWriter(
            self.database,
            capacity=MAX_PENDING_WRITES,
            device_state=self.session.device_state,
            state_lost=self.session.state_unsaved,
            contacts=lambda: self._contact_book.flush(),
            announce=self._announce,
            acknowledged=lambda: self._wake.set(),
        )
        self._inbox: deque[Received] = deque()
        self._later: deque[Action] = deque()
        self.not_taken = 0
        """Waku messages the transport refused since start (every light-push node refused or
        failed; the relay refused it): a command reads it to say what it sent did not leave.
        A relay publish that reached no peer is not counted: it is not refused."""
        self._publishing = 0
        self._wake = asyncio.Event()
        self._supervisor = Supervisor(self._failed)
        self._running = False
        self._registered = False
        self._contacts = set()
        self._init_outgoing()  # contacts, profile, edits, deletes, pins (outgoing.py)
        self._init_groups()  # private groups (messenger_group.py)
        self._init_communities()  # communities (messenger_community.py)

    # -- what tests and callers read --------------------------------------------------------

    @property
    def encryption(self) -> EncryptionService:
        return self.session.encryption

    @property
    def installation_id(self) -> str:
        return self.session.encryption.installation_id

    @property
    def tracker(self) -> DeliveryTracker:
        return self.session.tracker

    @property
    def _mvds(self) -> MVDS:
        return self.session.mvds

    @property
    def relay(self) -> WakuRelay:
        """The relay of a :class:`RelayTransport` (raises :class:`ChatError` otherwise)."""
        if isinstance(self.transport, RelayTransport):
            return self.transport.relay
        raise ChatError("this messenger is a light client: it has no relay")

    @property
    def chat_key(self) -> str:
        return self._chat_key

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        await self.database.open()
        saved = await self.database.device_state()
        if saved is not None:
            self.session.encryption = load_device_state(self._identity, saved)
            self.session.state_saved()
        self.session.observe_clock(await self.database.max_clock())
        state = await self.database.sync_state()
        self._load_profile(state)
        self._restore_groups(state)
        self._restore_communities(state)
        self._restore_answer_resends(state)  # messenger_community_store.py
        if LAST_SYNCED in state:
            self.session.last_synced_ns = int.from_bytes(state[LAST_SYNCED], "big")
        self.session.restore_outbox(await self.database.outbox(), time.monotonic())
        if OWED_ACKS in state:  # acknowledgements a crash kept from leaving
            self.session.restore_owed_acks(state[OWED_ACKS], time.monotonic())
        republish: list[Action] = []
        for message_id, status, chat_id in await self.database.unfinished(self._chat_key):
            self.session.track(message_id, chat_id, DeliveryStatus(status))
            # A community post too: with no data sync, the store confirms it (issue 17).
            public = (
                not chat_id.startswith("0x") or self._community_republishable(chat_id)
            ) and not is_group_chat_id(chat_id)
            if public:  # its resend was in memory only
                stored = await self.database.message(message_id)
                age_ms = time.time_ns() // 10**6 - (stored.timestamp if stored else 0)
                if stored is not None and age_ms < REPUBLISH_WINDOW * 1000:
                    wrapped = wrap(stored.body, MessageType.CHAT_MESSAGE, self._identity)
                    republish += self._republish_own(  # sealed where its channel says
                        chat_id, wrapped, message_id, DeliveryStatus(status), time.time_ns()
                    )
        added = self.session.listen_own()
        self._contacts = set(await self.database.contacts())
        for contact in self._contacts:
            added += self.session.watch_contact_code(public_key_from_chat_key_text(contact))
        for chat in await self.database.chats():
            if chat.kind == PUBLIC and chat.active:
                added += self.session.watch_public(chat.name)
        added += self.session.listening.negotiated(self.session.encryption)
        self._listen(added)
        if not self._registered:
            self._registered = True
            self.transport.on_message(self._on_received)
        await self.transport.start()
        self._running = True
        self._supervisor.spawn(self._writer.run(), "chat database writer")
        self._supervisor.spawn(self._core_loop(), "chat core")
        self._perform_later(republish)
        await self.announce_device()

    async def stop(self) -> None:
        """Stop, once what was asked for left and what was received is stored (within 5 s);
        raises the :class:`MessengerFailed` that stopped it, if one did."""
        if self._running and self._supervisor.failure is None:
            with contextlib.suppress(TimeoutError, ChatError):
                async with asyncio.timeout(5):
                    while self._later:  # queued by synchronous callers: identities, adverts
                        await self._perform([self._later.popleft()])
                    await self._writer.queue.join()
                    # Acknowledgements go now, not at their delay (their senders would wait
                    # for a resend); those that did not leave stay owed, saved.
                    await self._perform(self.session.flush_acks(time.monotonic(), time.time_ns()))
                    await self._perform(self.session.owed_commit())
                    await self._writer.queue.join()
        self._running = False
        failure = await self._supervisor.stop()
        with contextlib.suppress(PystatusError, OSError):
            await self.transport.stop()
        await self.database.close()
        if failure is not None:
            raise failure

    async def __aenter__(self) -> Messenger:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def _failed(self, failure: MessengerFailed) -> None:
        self._running = False
        self._writer.fail(failure)
        self._announcer.fail(failure)

    def _check_running(self) -> None:
        if self._supervisor.failure is not None:
            raise self._supervisor.failure
        if not self._running:
            raise NotRunning("the messenger is not running")

    def pair(self, other: Messenger) -> None:
        """Let two installations of one account know each other (device pairing)."""
        if other.account.chat_key != self.account.chat_key:
            raise ChatError("only installations of the same account pair")
        self.encryption.add_bundle(other.encryption.own_bundle())
        other.encryption.add_bundle(self.encryption.own_bundle())

    # -- events -----------------------------------------------------------------------------

    def events(self) -> EventStream:
        """Every message received and every delivery status change from the moment of this
        call (each after it is stored); every caller gets every event. A watcher that falls
        behind by more than :data:`~pystatus.chat.watchers.STREAM_SIZE` loses the oldest."""
        return self._announcer.stream()

    def add_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        """Call ``listener`` with every event; one that raises is contained and counted."""
        self._announcer.add_listener(listener)

    def _announce(self, event: ChatEvent) -> None:
        self._announcer.announce(event)

    # -- the core: received messages, timers, actions ---------------------------------------

    def _listen(self, content_topics: list[str]) -> None:
        by_pubsub: dict[str, list[str]] = defaultdict(list)
        for content_topic in content_topics:
            by_pubsub[self._pubsub_for(content_topic)].append(content_topic)
        for pubsub_topic, wanted in by_pubsub.items():
            self.transport.listen(pubsub_topic, wanted)

    def _on_received(self, received: Received) -> None:
        if not self._running:
            return
        if len(self._inbox) >= MAX_INBOX:
            DROPPED.labels("overloaded").inc()  # relay or store brings it again
            return
        self._inbox.append(received)
        self._wake.set()

    def _open_envelope(self, message: WakuMessage) -> None:
        """Take ``message`` as if a transport brought it."""
        pubsub_topic = self._pubsub_for(message.content_topic)
        digest = message_hash(pubsub_topic, message)
        self._on_received(Received(pubsub_topic, message, digest))

    async def _core_loop(self) -> None:
        session = self.session
        while True:
            self._wake.clear()
            while self._inbox:
                item = self._inbox.popleft()
                await self._perform(session.receive(item.message, item.hash, time.monotonic()))
            while self._later:
                await self._perform([self._later.popleft()])
            now = time.monotonic()
            session.set_connected(self.transport.connected(), now)
            await asyncio.sleep(0)  # let concurrent senders join this MVDS epoch
            await self._perform(session.handle_timer(time.monotonic(), time.time_ns()))
            await self._perform(self._community_timer())
            if self._inbox or self._later:
                continue
            deadlines = (session.next_deadline(), self._community_deadline())
            deadline = min((d for d in deadlines if d is not None), default=None)
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def settled(self) -> bool:
        """Nothing waits for the core (received messages, queued actions) and no publish is
        under way: everything asked for so far was tried (see :attr:`not_taken`)."""
        return not self._inbox and not self._later and not self._publishing

    def _perform_later(self, actions: list[Action]) -> None:
        """Actions of a synchronous caller, carried out by the core in order."""
        self._later.extend(actions)
        self._wake.set()

    async def _perform(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Commit):
                await self._commit(_commit_write(action))
            elif isinstance(action, Publish):
                await self._publish(action)
            elif isinstance(action, Deliver):
                self._deliver(action)
            elif isinstance(action, Listen):
                self._listen(list(action.content_topics))
            elif isinstance(action, CheckStored):
                self._supervisor.spawn(self._check_stored(action), "chat store check")
            elif isinstance(action, SyncHistory):
                self._supervisor.spawn(self._history(action), "chat history")
            elif isinstance(action, AdvertiseContactCode):
                self.advertise_contact_code()
            elif isinstance(action, AnnounceDevice):
                self._supervisor.spawn(self.announce_device(), "chat device announcement")

    async def _publish(self, action: Publish) -> None:
        message = WakuMessage(
            action.payload, action.content_topic, version=1, timestamp=action.timestamp_ns
        )
        PUBLISHED_BYTES.labels(action.kind).inc(len(message.encode()))
        self._publishing += 1
        try:
            outcome = await self.transport.publish(self._pubsub_for(action.content_topic), message)
        except PystatusError as exc:
            self.not_taken += 1
            log.info("could not publish on %s: %s", action.content_topic, exc)
            await self._perform(self.session.published(action, None, time.monotonic()))
            return
        finally:
            self._publishing -= 1
        log.debug(
            "published %s on %s to %d peers", action.kind, action.content_topic, outcome.peers
        )
        result = (outcome.hash, outcome.peers)
        await self._perform(self.session.published(action, result, time.monotonic()))

    def _deliver(self, action: Deliver) -> None:
        try:
            self._handle_wrapped(
                action.sender,
                action.wrapped,
                action.public_chat,
                action.ack,
                own_copy=action.own_copy,
                contact_code=action.contact_code,
                bare=action.bare,
            )
        except (ChatError, ValueError) as exc:
            self.session.rejected(action, exc, time.monotonic())
            self._wake.set()

    # -- the database writer ----------------------------------------------------------------

    async def _commit(self, write: _Write) -> None:
        self._check_running()
        await self._writer.commit(write)

    def _queue_write(self, write: _Write) -> bool:
        """Queue a received message's write without waiting; False (counted) when full."""
        if self._writer.put_nowait(write):
            return True
        DROPPED.labels("overloaded").inc()  # not acknowledged: the sender sends it again
        return False


def _commit_write(action: Commit) -> _Write:
    return _Write(
        outbox_added=list(action.outbox_added),
        outbox_removed=list(action.outbox_removed),
        statuses=list(action.statuses),
        status_events=list(action.events),
        sync_state=dict(action.sync_state),
        device_state=action.device_state,
    )
