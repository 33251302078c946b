"""A Status ``Messenger``: an account chatting over a pystatus node's relay.

The wire is status-go v1.1.0's. Sending a 1:1 message: the ChatMessage is wrapped and signed
with the chat key (ApplicationMetadataMessage) and that wrapped message is the body of a 2/MVDS
message (``protocol/common/message_sender.go``). MVDS payloads are encrypted by the multi-device
Double Ratchet for every installation of the recipient and of our own account, or, before the
recipient's bundle is known, under the installation ``none`` with a DH header; the
ProtocolMessage (with our bundle) travels in an RFC 26 envelope signed with the chat key:
ECIES to the recipient on their partitioned topic, or, once their devices agreed on the
negotiated secret, encrypted with its key on the negotiated topic; copies for our own devices
go to our partitioned topic. Our bundle is also advertised on our contact-code topic, and we
read our contacts' there.

A public chat message is wrapped and signed the same way and sent bare in the
ProtocolMessage's ``public_message``, in an envelope encrypted with the key every member
derives from the chat's name, on the chat's topic. Everything travels on the Status cluster's
default shard, ``/waku/2/rs/16/32`` (``protocol/common/shard/shard.go``).

Reliability: MVDS acknowledges each 1:1 message from the recipient's device and sends it again
with status-go's backoff until then; messages are ordered by their Lamport clock, which is
``max(last + 1, now in ms)``. Every Waku message sent is checked against the store node, and
sent again when the store never saw it; every ``history_interval`` and after a reconnection,
what the store holds since we were last in sync is listed by hash and what we did not see is
fetched. Each message's delivery status (pending, sent, stored, delivered, failed) is stored
with it and announced as an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
import uuid
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import coincurve
from prometheus_client import Counter

from pystatus.chat import mvds, topics
from pystatus.chat.account import Account
from pystatus.chat.database import (
    Batch,
    ChatDatabase,
    OutboxEntry,
    StoredMessage,
    StoredReaction,
)
from pystatus.chat.delivery import DeliveryStatus, DeliveryTracker, Envelope
from pystatus.chat.encryption import (
    EncryptionError,
    EncryptionService,
    NoBundle,
    NotForThisDevice,
    export_state,
    restore_state,
)
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.events import ChatEvent as ChatEvent
from pystatus.chat.events import message_event
from pystatus.chat.history import HistoryFetcher, StoreSource
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.chat.outgoing import Outgoing
from pystatus.chat.proto import chat_message_pb2, mvds_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import RatchetError
from pystatus.chat.segmentation import (
    AlreadyCompleted,
    Complete,
    Incomplete,
    Reassembler,
    SegmentationError,
    segment,
    segment_size,
)
from pystatus.chat.wrapper import InvalidWrapper, MessageType, unwrap, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.chat.writes import Write as _Write
from pystatus.errors import ChatError, PystatusError, WakuError
from pystatus.waku.errors import DecodeError
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import (
    PayloadError,
    decrypt_asymmetric,
    decrypt_symmetric,
    encrypt_asymmetric,
    encrypt_symmetric,
)
from pystatus.waku.relay import RelayedMessage, WakuRelay
from pystatus.waku.wire import parse

log = logging.getLogger(__name__)

PUBLISHED_BYTES = Counter(
    "chat_published_bytes",
    "Bytes of the Waku messages the messenger published, by what they carried",
    ["kind"],
)
DROPPED = Counter(
    "chat_dropped_messages",
    "Chat messages dropped: undecodable bytes, or decoded but invalid (bad keys, signatures,"
    " sessions or contents)",
    ["reason"],
)

ONE_TO_ONE = "one_to_one"
PUBLIC = "public"
MAX_SEEN = 100_000
LAST_SYNCED = "last-synced"
HISTORY_INTERVAL = 60.0
CONTACT_CODE_INTERVAL = 6 * 3600.0
"""How often our bundle is advertised on our contact-code topic (and at start)."""


@dataclass(frozen=True, slots=True)
class _Listener:
    """How to open what arrives on one content topic."""

    kind: str
    """``private`` (ECIES to our identity key), ``negotiated``, ``public`` or
    ``contact_code`` (symmetric under ``key``)."""
    key: bytes = b""
    name: str = ""
    """A public chat's name."""


@dataclass(frozen=True, slots=True)
class ReliabilityConfig:
    """How hard the messenger works to deliver (defaults: status-go's where it has one)."""

    tick_interval: float = 0.3
    """MVDS's epoch: how often payloads leave."""
    resend_interval: float = mvds.RESEND_INTERVAL
    max_sends: int = mvds.MAX_SENDS
    store_check_interval: float = 0.25
    store_check_after: float = 0.4
    republish_after: float = 1.0
    """A Waku message no store has seen this long after it left is sent again."""
    history_interval: float = HISTORY_INTERVAL
    """How often the store is asked for what we missed."""
    history_margin: float = 10.0
    """How far before the last sync each history query starts (clocks drift, stores lag)."""
    first_history_window: float = 24 * 3600.0


class EventStream:
    """Events as an async iterator; dropping it stops the collection."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[ChatEvent] = asyncio.Queue()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ChatEvent:
        return await self.queue.get()


def _one_to_one_chat_id(public_key: bytes) -> str:
    """status-go's id of a 1:1 chat: the other person's uncompressed public key in 0x-hex."""
    return "0x" + coincurve.PublicKey(public_key).format(compressed=False).hex()


def _sync_payload(data: bytes) -> mvds_pb2.Payload | None:
    """``data`` as an MVDS payload, or None when it is a bare wrapped message (status-go's
    test: it parses and holds any MVDS record)."""
    try:
        payload = parse(mvds_pb2.Payload(), data, "MVDS payload")
    except DecodeError:
        return None
    records = (
        payload.acks or payload.messages or payload.offers or payload.requests
    ) or payload.group_offers
    return payload if records else None


class Messenger(Outgoing):
    def __init__(
        self,
        account: Account,
        relay: WakuRelay,
        pubsub_for: Callable[[str], str] | None = None,
        *,
        installation_id: str | None = None,
        store: StoreSource | None = None,
        reliability: ReliabilityConfig | None = None,
        max_message_size: int = topics.MAX_MESSAGE_SIZE,
    ) -> None:
        """``pubsub_for`` maps a content topic to the pubsub topic (shard) it travels on:
        status-go's static shards by default (:func:`topics.status_pubsub_topic`).
        ``installation_id``: this device's, a UUID by default as status-go's.
        ``store``: a store node to confirm sent messages with and fetch missed ones from.
        ``max_message_size``: the network's Waku message limit (bytes); larger payloads are
        split into status-go's segments, with Reed-Solomon parity."""
        self.account = account
        self.relay = relay
        self._pubsub_for = pubsub_for or topics.status_pubsub_topic
        self.installation_id = installation_id or str(uuid.uuid4())
        self.encryption = EncryptionService(account.keys.chat, self.installation_id)
        self.database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        self.config = reliability or ReliabilityConfig()
        self._identity = account.keys.chat
        self._public_key = account.keys.chat_public_key
        self._public_chats: dict[str, str] = {}  # content topic -> chat name
        self._listening: dict[str, _Listener] = {}  # content topic -> how to open it
        self._negotiated_seen = -1
        self._own_topic = topics.partitioned_content_topic(self._public_key)
        self._contact_code_topic = topics.contact_code_topic_name(self._public_key)
        self._clock = 0
        self._watchers: weakref.WeakSet[EventStream] = weakref.WeakSet()
        self._listeners: list[Callable[[ChatEvent], None]] = []
        # Messages to store, sent and received alike, committed in batches: a sender's future
        # resolves once its message is committed (group commit).
        self._pending: asyncio.Queue[_Write] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._contacts: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._chat_key = account.chat_key
        # Reliability.
        self._mvds = mvds.MVDS(
            resend_interval=self.config.resend_interval, max_sends=self.config.max_sends
        )
        self._sync_ids: dict[bytes, str] = {}  # MVDS id -> our message id
        # Our message id -> its chat id, for status events (the oldest forgotten).
        self._chat_of: OrderedDict[str, str] = OrderedDict()
        self.tracker = DeliveryTracker(
            store_check_after=self.config.store_check_after,
            republish_after=self.config.republish_after,
        )
        self.fetcher = HistoryFetcher(store) if store is not None else None
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._last_synced_ns: int | None = None
        self._had_peers = False
        self._acks_on_reconnect: dict[bytes, list[bytes]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._sync_now = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._contact_code_at = 0.0
        self._segment_size = segment_size(max_message_size)
        self._segments = Reassembler()
        self._init_outgoing()  # contacts, profile, edits, deletes, pins (outgoing.py)

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.database.open()
        saved = await self.database.device_state()
        if saved is not None:
            self.encryption = restore_state(self.account.keys.chat, json.loads(saved))
            self.installation_id = self.encryption.installation_id
        self._clock = await self.database.max_clock()
        self._contacts = set(await self.database.contacts())
        await self._restore_sync_state()
        relay = self.relay
        self._listen(self._own_topic, _Listener("private"))
        self._listen(topics.personal_content_topic(self._public_key), _Listener("private"))
        self._watch_contact_code(self._public_key)
        for contact in self._contacts:
            self._watch_contact_code(public_key_from_chat_key_text(contact))
        self._refresh_negotiated()
        for chat in await self.database.chats():
            if chat.kind == PUBLIC:
                self._watch_public(chat.name)
        relay.add_observer(self._on_relayed)
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_loop(), name="chat db")
        self._loops = [loop.create_task(self._tick_loop(), name="chat sync")]
        if self.fetcher is not None:
            self._loops.append(loop.create_task(self._store_loop(), name="chat store"))
        await self.announce_device()

    async def _restore_sync_state(self) -> None:
        state = await self.database.sync_state()
        self._load_profile(state)
        if LAST_SYNCED in state:
            self._last_synced_ns = int.from_bytes(state[LAST_SYNCED], "big")
        now = self._now()
        for entry in await self.database.outbox():
            message = mvds.SyncMessage(entry.group_id, entry.timestamp, entry.body)
            self._mvds.send(message, [entry.peer], now, send_count=1)
            self._sync_ids[message.id] = entry.message_id
        for message_id, status, chat_id in await self.database.unfinished(self._chat_key):
            self.tracker.track(message_id, DeliveryStatus(status))
            self._remember_chat(message_id, chat_id)

    async def stop(self) -> None:
        self.relay.remove_observer(self._on_relayed)
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        for content_topic in self._listening:
            self.relay.unsubscribe_topic(self._pubsub_for(content_topic))
        self._listening.clear()
        self._negotiated_seen = -1
        self._public_chats.clear()
        if self._writer is not None and not self._writer.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._pending.join()  # what was acknowledged or received is stored
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await self.database.close()

    async def __aenter__(self) -> Messenger:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def chat_key(self) -> str:
        return self._chat_key

    def pair(self, other: Messenger) -> None:
        """Let two installations of one account know each other (device pairing)."""
        if other.account.chat_key != self.account.chat_key:
            raise ChatError("only installations of the same account pair")
        self.encryption.add_bundle(other.encryption.own_bundle())
        other.encryption.add_bundle(self.encryption.own_bundle())

    @staticmethod
    def _now() -> float:
        return time.time()

    # -- contacts and chats -------------------------------------------------------------------

    async def add_contact(self, chat_key: str) -> str:
        """Start a 1:1 chat with ``chat_key`` (``zQ3...``); returns the chat id."""
        public_key = public_key_from_chat_key_text(chat_key)
        chat_id = _one_to_one_chat_id(public_key)
        if chat_key not in self._contacts:
            await self.database.add_contact(chat_key, time.time_ns())
            self._contacts.add(chat_key)
            self._watch_contact_code(public_key)
        await self.database.upsert_chat(chat_id, ONE_TO_ONE, chat_key)  # out of requests
        return chat_id

    async def join_public_chat(self, name: str) -> str:
        await self.database.upsert_chat(name, PUBLIC, name)
        self._watch_public(name)
        return name

    def _watch_public(self, name: str) -> None:
        content_topic = topics.public_chat_content_topic(name)
        if content_topic not in self._public_chats:
            self._public_chats[content_topic] = name
            self._listen(content_topic, _Listener("public", topics.public_chat_key(name), name))

    def _listen(self, content_topic: str, listener: _Listener) -> None:
        if content_topic not in self._listening:
            self._listening[content_topic] = listener
            self.relay.subscribe_topic(self._pubsub_for(content_topic))

    def _watch_contact_code(self, public_key: bytes) -> None:
        """Read a contact's bundle adverts (status-go listens on each contact's)."""
        name = topics.contact_code_topic_name(public_key)
        content_topic = topics.content_topic(topics.topic_of(name))
        if content_topic not in self._listening:
            self._listen(content_topic, _Listener("contact_code", topics.public_chat_key(name)))

    def _refresh_negotiated(self) -> None:
        """Listen on the negotiated topic of everyone we exchanged encrypted messages with
        (called for every message: the list is read again only when someone joined it)."""
        if self.encryption.secrets_changed == self._negotiated_seen:
            return
        self._negotiated_seen = self.encryption.secrets_changed
        for _, secret in self.encryption.secrets():
            content_topic = topics.negotiated_content_topic(secret)
            if content_topic not in self._listening:
                self._listen(content_topic, _Listener("negotiated", topics.negotiated_key(secret)))

    async def chats(self) -> list[tuple[str, str, str]]:
        """(chat id, kind, name) of every chat, most recently active first."""
        return [(c.id, c.kind, c.name) for c in await self.database.chats()]

    async def history(self, chat_id: str, limit: int = 50) -> list[ChatEvent]:
        events = []
        for stored in await self.database.history(chat_id, limit):
            message = chat_message_pb2.ChatMessage.FromString(stored.body)
            events.append(self._event(stored, message, stored.author == self.chat_key))
        return events

    async def message(self, message_id: str) -> ChatEvent | None:
        stored = await self.database.message(message_id)
        if stored is None:
            return None
        message = chat_message_pb2.ChatMessage.FromString(stored.body)
        return self._event(stored, message, stored.author == self.chat_key)

    def status(self, message_id: str) -> DeliveryStatus | None:
        """The delivery status of a message we sent (since this process started or still
        unfinished when it did; :meth:`message` reads the stored one)."""
        return self.tracker.status(message_id)

    def events(self) -> EventStream:
        """Every message received and every delivery status change from the moment of this
        call (each after it is stored); every caller gets every event."""
        stream = EventStream()
        self._watchers.add(stream)
        return stream

    def add_listener(self, listener: Callable[[ChatEvent], None]) -> None:
        """Call ``listener`` with every event (as :meth:`events` yields them)."""
        self._listeners.append(listener)

    def _announce(self, event: ChatEvent) -> None:
        for stream in self._watchers:
            stream.queue.put_nowait(event)
        for listener in self._listeners:
            listener(event)

    # -- sending ------------------------------------------------------------------------------

    def _tick(self, seen: int = 0) -> int:
        """The next Lamport clock: max(last + 1, now in ms), as status-go's chats keep it
        (``protocol/models.go`` NextClockAndTimestamp), so our messages sort among history."""
        self._clock = max(self._clock, seen)
        self._clock = max(self._clock + 1, time.time_ns() // 10**6)
        return self._clock

    def _observe(self, clock: int) -> None:
        """A clock seen in a received message: ours continue after it."""
        self._clock = max(self._clock, clock)

    async def send(self, chat_key: str, text: str, *, response_to: str = "") -> str:
        """Send ``text`` to ``chat_key`` 1:1; returns the message id once it is stored (its
        status then moves on from pending, see :meth:`events`)."""
        return await self._send_text(
            chat_key, text, response_to, chat_message_pb2.ChatMessage.TEXT_PLAIN
        )

    async def _send_text(
        self,
        chat_key: str,
        text: str,
        response_to: str,
        content: int,
        *,
        image: chat_message_pb2.ImageMessage | None = None,
        events: list[ChatEvent] | None = None,
    ) -> str:
        recipient = public_key_from_chat_key_text(chat_key)
        chat_id = await self.add_contact(chat_key)
        message = self._chat_message(chat_id, text, response_to, chat_message_pb2.ONE_TO_ONE)
        message.content_type = content  # type: ignore[assignment]
        if image is not None:
            message.image.CopyFrom(image)
        await self._before_send(chat_id, recipient, message)
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        if recipient == self._public_key:
            self._send_private(recipient, wrapped)  # a note to self: nobody to acknowledge it
            return await self._store_sent(
                chat_id, message_id, message, DeliveryStatus.SENT, events=events
            )
        entry = self._sync_entry(recipient, message_id, wrapped)
        await self._store_sent(
            chat_id, message_id, message, DeliveryStatus.PENDING, [entry], events=events
        )
        return message_id

    def _sync_entry(self, recipient: bytes, message_id: str, wrapped: bytes) -> OutboxEntry:
        """A wrapped message as the body of an MVDS message for ``recipient`` (status-go's
        group id; timestamps in seconds)."""
        group = mvds.one_to_one_group_id(self._public_key, recipient)
        sync = mvds.SyncMessage(group, time.time_ns() // 10**9, wrapped)
        return OutboxEntry(sync.id, recipient, message_id, group, sync.timestamp, wrapped)

    def _queue_sync(self, entry: OutboxEntry) -> None:
        message = mvds.SyncMessage(entry.group_id, entry.timestamp, entry.body)
        self._mvds.send(message, [entry.peer], self._now())
        self._sync_ids[message.id] = entry.message_id
        self._wake.set()

    def _encrypt_private(self, recipient: bytes, data: bytes) -> list[tuple[str, bytes]]:
        """(content topic, payload) of the Waku messages carrying ``data`` to the recipient's
        devices and ours: ratcheted when their bundle is known, else under a DH header; on
        the negotiated topic once their devices agreed, else on their partitioned topic."""
        return [
            (topic, sealed)
            for topic, serialized, seal in self._private_parts(recipient, data)
            for sealed in (seal(part) for part in segment(serialized, self._segment_size))
        ]

    def _private_parts(
        self, recipient: bytes, data: bytes
    ) -> list[tuple[str, bytes, Callable[[bytes], bytes]]]:
        """(content topic, serialized ProtocolMessage, how to seal it) for each destination."""
        own_devices = bool(self.encryption.installations.get(self._public_key))
        own: pb.ProtocolMessage | None = None
        try:
            protocol = self.encryption.encrypt(recipient, data)
        except NoBundle:
            protocol = self.encryption.encrypt_dh(recipient, data)
            if own_devices and recipient != self._public_key:
                own = self.encryption.encrypt(self._public_key, data)
        self._refresh_negotiated()
        serialized = protocol.SerializeToString()
        identity = self._identity
        out: list[tuple[str, bytes, Callable[[bytes], bytes]]] = []
        if recipient != self._public_key:
            secret = self.encryption.negotiated(recipient)
            if secret is not None:
                key = topics.negotiated_key(secret)
                out.append(
                    (
                        topics.negotiated_content_topic(secret),
                        serialized,
                        lambda part: encrypt_symmetric(part, key, signer=identity),
                    )
                )
            else:
                out.append(
                    (
                        topics.partitioned_content_topic(recipient),
                        serialized,
                        lambda part: encrypt_asymmetric(part, recipient, signer=identity),
                    )
                )
        if own_devices or recipient == self._public_key:
            mine = own.SerializeToString() if own is not None else serialized
            me = self._public_key
            out.append(
                (
                    self._own_topic,
                    mine,
                    lambda part: encrypt_asymmetric(part, me, signer=identity),
                )
            )
        return out

    def _send_private(self, recipient: bytes, wrapped: bytes) -> None:
        """Encrypt for the recipient's devices and ours, publish to them and to us."""
        for content_topic, payload in self._encrypt_private(recipient, wrapped):
            self._publish(content_topic, payload, "message")

    async def resend(self, message_id: str) -> None:
        """Send a failed message of ours again."""
        stored = await self.database.message(message_id)
        if stored is None or stored.author != self._chat_key:
            raise ChatError(f"no message {message_id} of ours")
        if stored.status != DeliveryStatus.FAILED and self.tracker.status(message_id) != (
            DeliveryStatus.FAILED
        ):
            raise ChatError(f"message {message_id} has not failed")
        message = chat_message_pb2.ChatMessage.FromString(stored.body)
        wrapped = wrap(stored.body, MessageType.CHAT_MESSAGE, self._identity)
        self.tracker.track(message_id)
        self._remember_chat(message_id, stored.chat_id)
        write = _Write(statuses=[(message_id, DeliveryStatus.PENDING)])
        if message.message_type == chat_message_pb2.PUBLIC_GROUP:
            self._publish_public(stored.chat_id, wrapped, message_id)
        else:
            recipient = bytes.fromhex(stored.chat_id[2:])
            write.outbox_added.append(self._sync_entry(recipient, message_id, wrapped))
        write.status_events.append(self._status_event(message_id, DeliveryStatus.PENDING))
        await self._commit(write)
        for entry in write.outbox_added:
            self._queue_sync(entry)

    async def react(
        self, chat_id: str, message_id: str, reaction: int, *, retract: bool = False
    ) -> None:
        """React to a message (EmojiReaction types: 1 love, 2 thumbs up, 3 thumbs down,
        4 laugh, 5 sad, 6 angry), or take the reaction back."""
        if not 1 <= reaction <= 6:
            raise ChatError("a reaction type is 1 to 6")
        public = not chat_id.startswith("0x")
        payload = chat_message_pb2.EmojiReaction(
            clock=self._tick(),
            chat_id=chat_id,
            message_id=message_id,
            message_type=(chat_message_pb2.PUBLIC_GROUP if public else chat_message_pb2.ONE_TO_ONE),
            type=reaction,  # type: ignore[arg-type]
            retracted=retract,
        )
        wrapped = wrap(payload.SerializeToString(), MessageType.EMOJI_REACTION, self._identity)
        if public:
            self._publish_public(chat_id, wrapped, None)
        else:
            try:
                recipient = bytes.fromhex(chat_id[2:])
                coincurve.PublicKey(recipient)
            except ValueError:
                raise InvalidChatKey(f"{chat_id!r} is not a 1:1 chat id") from None
            self._send_private(recipient, wrapped)
        stored = StoredReaction(message_id, self._chat_key, reaction, payload.clock, retract)
        await self._commit(_Write(stored))

    async def reactions(self, message_id: str) -> list[tuple[str, int]]:
        """(author chat key, reaction type) standing on a message."""
        return await self.database.reactions(message_id)

    async def announce_device(self) -> None:
        """Tell the account's other devices about this one (they answer in kind): a
        PairInstallation under a DH header to our own key, as status-go's
        SendPairInstallation, with our bundle."""
        pairing = chat_message_pb2.PairInstallation(
            clock=self._tick(), installation_id=self.installation_id, device_type="pystatus"
        )
        wrapped = wrap(pairing.SerializeToString(), MessageType.PAIR_INSTALLATION, self._identity)
        protocol = self.encryption.encrypt_dh(self._public_key, wrapped, negotiate=False)
        self._publish(
            self._own_topic,
            encrypt_asymmetric(
                protocol.SerializeToString(), self._public_key, signer=self._identity
            ),
        )

    def advertise_contact_code(self) -> None:
        """Publish our bundle on our contact-code topic, as status-go's publishContactCode:
        a ContactCodeAdvertisement in a public message, under the topic name's key."""
        wrapped = wrap(
            self._contact_code_payload(), MessageType.CONTACT_CODE_ADVERTISEMENT, self._identity
        )
        protocol = pb.ProtocolMessage(installation_id=self.installation_id, public_message=wrapped)
        protocol.bundles.append(self.encryption.own_bundle())
        name = self._contact_code_topic
        self._publish(
            topics.content_topic(topics.topic_of(name)),
            encrypt_symmetric(
                protocol.SerializeToString(), topics.public_chat_key(name), signer=self._identity
            ),
        )
        self._contact_code_at = self._now()

    async def send_public(self, name: str, text: str, *, response_to: str = "") -> str:
        await self.join_public_chat(name)
        message = self._chat_message(name, text, response_to, chat_message_pb2.PUBLIC_GROUP)
        await self._before_send(name, None, message)
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        self.tracker.track(message_id)
        status = self._publish_public(name, wrapped, message_id)
        return await self._store_sent(name, message_id, message, status)

    def _publish_public(self, name: str, wrapped: bytes, message_id: str | None) -> DeliveryStatus:
        """Publish to a public chat; ``message_id``: ours, to track its delivery."""
        return self._publish_public_data(name, wrapped, [message_id] if message_id else [])

    def _publish_public_data(self, name: str, data: bytes, carried: list[str]) -> DeliveryStatus:
        # status-go's BuildPublicMessage: the bare wrapped message, with our bundle.
        protocol = pb.ProtocolMessage(installation_id=self.installation_id, public_message=data)
        protocol.bundles.append(self.encryption.own_bundle())
        key = topics.public_chat_key(name)
        outcomes = [
            self._publish(
                topics.public_chat_content_topic(name),
                encrypt_symmetric(part, key, signer=self._identity),
                "public",
            )
            for part in segment(protocol.SerializeToString(), self._segment_size)
        ]
        if any(outcome is None for outcome in outcomes):
            return DeliveryStatus.PENDING
        # A segmented message is tracked by its last segment.
        digest, peers = cast(tuple[bytes, int], outcomes[-1])
        sent = self._track_envelope(
            Envelope(digest, self._now(), carried, ("public", name, data)), peers
        )
        return DeliveryStatus.SENT if sent else DeliveryStatus.PENDING

    def _chat_message(
        self, chat_id: str, text: str, response_to: str, kind: int
    ) -> chat_message_pb2.ChatMessage:
        return chat_message_pb2.ChatMessage(
            clock=self._tick(),
            timestamp=time.time_ns() // 10**6,
            text=text,
            response_to=response_to,
            chat_id=chat_id,
            message_type=kind,  # type: ignore[arg-type]
            content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
        )

    def _publish(
        self, content_topic: str, payload: bytes, kind: str = "control"
    ) -> tuple[bytes, int] | None:
        """Publish; (Waku message hash, relay peers reached), or None when refused. ``kind``
        says what it carries, for the byte count: message, ack, public or control."""
        message = WakuMessage(payload, content_topic, version=1, timestamp=time.time_ns())
        PUBLISHED_BYTES.labels(kind).inc(len(message.encode()))
        try:
            outcome = self.relay.publish(self._pubsub_for(content_topic), message)
        except WakuError as exc:
            log.info("could not publish on %s: %s", content_topic, exc)
            return None
        self._saw(outcome.hash)
        return outcome.hash, outcome.peers

    def _track_envelope(self, envelope: Envelope, peers: int) -> bool:
        """Watch a published envelope; True when what it carried counts as sent."""
        # Without a store to confirm with, reaching a relay peer is all we learn.
        sent = self.tracker.published(envelope, peers, watch=self.fetcher is not None)
        self._queue_statuses(sent, DeliveryStatus.SENT)
        return bool(sent)

    async def _store_sent(
        self,
        chat_id: str,
        message_id: str,
        message: chat_message_pb2.ChatMessage,
        status: DeliveryStatus,
        outbox: list[OutboxEntry] | None = None,
        *,
        events: list[ChatEvent] | None = None,
    ) -> str:
        stored = StoredMessage(
            message_id,
            chat_id,
            self._chat_key,
            message.clock,
            message.timestamp,
            message.SerializeToString(),
            status,
        )
        if self.tracker.status(message_id) is None:
            self.tracker.track(message_id, status)
        self._remember_chat(message_id, chat_id)
        await self._commit(_Write(stored, outbox_added=outbox or [], events=events or []))
        for entry in outbox or []:
            self._queue_sync(entry)
        return message_id

    async def _commit(self, write: _Write) -> None:
        write.committed = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(write)
        await write.committed

    # -- delivery status ----------------------------------------------------------------------

    def _remember_chat(self, message_id: str, chat_id: str) -> None:
        self._chat_of[message_id] = chat_id
        if len(self._chat_of) > MAX_SEEN:
            self._chat_of.popitem(last=False)

    def _status_event(self, message_id: str, status: DeliveryStatus) -> ChatEvent:
        chat_id = self._chat_of.get(message_id, "")
        return ChatEvent(
            message_id, chat_id, self._chat_key, "", 0, 0, "", True, kind="status", status=status
        )

    def _queue_statuses(self, message_ids: list[str], status: DeliveryStatus) -> None:
        """Store (and then announce) status changes the tracker already made."""
        if not message_ids:
            return
        self._pending.put_nowait(
            _Write(
                statuses=[(m, status) for m in message_ids],
                status_events=[self._status_event(m, status) for m in message_ids],
            )
        )

    async def _tick_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.tick_interval):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # let concurrent senders join this payload
            try:
                await self._sync_tick()
            except PystatusError as exc:
                log.warning("data sync tick failed: %s", exc)

    async def _sync_tick(self) -> None:
        now = self._now()
        # Segments of payloads that never completed expire (the reassembler's clock is
        # monotonic; the check is two dictionary peeks when nothing is due).
        deadline = self._segments.next_deadline()
        if deadline is not None and deadline <= time.monotonic():
            self._segments.handle_timer(time.monotonic())
        peers = len(self.relay.relay_peers())
        if peers and not self._had_peers:
            self._reconnected(now)
        self._had_peers = bool(peers)
        if peers and now - self._contact_code_at >= CONTACT_CODE_INTERVAL:
            self.advertise_contact_code()
        tick = self._mvds.tick(now)
        self._collect_acknowledgements()
        removed = list(tick.failed)
        failed = [m for m in (self._sync_ids.pop(i, None) for i, _ in removed) if m is not None]
        failed = [m for m in failed if self.tracker.failed(m)]
        if not tick.payloads and not removed:
            return
        # Ratchet steps are committed before the messages they encrypt leave.
        outgoing = [
            (cast(bytes, peer), self._encrypt_private(cast(bytes, peer), payload))
            for peer, payload in tick.payloads.items()
        ]
        await self._commit(
            _Write(
                outbox_removed=[(i, cast(bytes, p)) for i, p in removed],
                statuses=[(m, DeliveryStatus.FAILED) for m in failed],
                status_events=[self._status_event(m, DeliveryStatus.FAILED) for m in failed],
            )
        )
        for peer, envelopes in outgoing:
            carried = tick.carried.get(peer, [])
            acks = tick.acks.get(peer, [])
            for content_topic, payload in envelopes:
                outcome = self._publish(content_topic, payload, "message" if carried else "ack")
                if outcome is None or (
                    content_topic == self._own_topic and peer != self._public_key
                ):
                    continue
                messages = [m for m in (self._sync_ids.get(i) for i in carried) if m]
                envelope = Envelope(outcome[0], now, messages, ("mvds", peer, carried, acks))
                self._track_envelope(envelope, outcome[1])

    def _reconnected(self, now: float) -> None:
        """Relay peers again after none: everything unacknowledged goes out now."""
        for outgoing in self._mvds.outgoing():
            self._mvds.resend_now(outgoing.message.id, now)
        for peer, acks in self._acks_on_reconnect.items():
            for ack in acks:
                self._mvds.acknowledge(peer, ack)
        self._acks_on_reconnect.clear()
        self._sync_now.set()

    def _collect_acknowledgements(self) -> None:
        delivered = []
        removed = []
        for sync_id, peer in self._mvds.acknowledged:
            removed.append((sync_id, cast(bytes, peer)))
            message_id = self._sync_ids.pop(sync_id, None)
            if message_id is not None and self.tracker.delivered(message_id):
                delivered.append(message_id)
        self._mvds.acknowledged.clear()
        if removed or delivered:
            self._pending.put_nowait(
                _Write(
                    outbox_removed=removed,
                    statuses=[(m, DeliveryStatus.DELIVERED) for m in delivered],
                    status_events=[
                        self._status_event(m, DeliveryStatus.DELIVERED) for m in delivered
                    ],
                )
            )

    def _retry(self, envelope: Envelope, now: float, connected: bool) -> None:
        """No store saw ``envelope`` in time: send what it carried again."""
        contents = envelope.contents
        if not isinstance(contents, tuple):
            return
        if contents[0] == "mvds":
            _, peer, carried, acks = contents
            if not connected:
                self._acks_on_reconnect[peer].extend(acks)
                return
            for sync_id in carried:
                self._mvds.resend_now(sync_id, now)
            for ack in acks:
                self._mvds.acknowledge(peer, ack)
            self._wake.set()
        elif contents[0] == "public" and connected:
            _, name, data = contents
            carried_ids = [m for m in envelope.messages if m in self.tracker.outstanding()]
            if carried_ids:
                self._publish_public_data(name, data, carried_ids)

    # -- store: confirmations and history -----------------------------------------------------

    async def _store_loop(self) -> None:
        assert self.fetcher is not None
        config = self.config
        next_history = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(config.store_check_interval):
                    await self._sync_now.wait()
            now = self._now()
            if self._sync_now.is_set():
                self._sync_now.clear()
                next_history = now
            connected = bool(self.relay.relay_peers())
            try:
                await self._check_stored(now, connected)
                if now >= next_history:
                    # An unreachable store is asked again within a few seconds, not at once.
                    next_history = now + min(config.history_interval, 5.0)
                    await self.sync_history()
                    next_history = now + config.history_interval
            except (PystatusError, OSError, TimeoutError) as exc:
                log.info("store unreachable: %s", exc)

    async def _check_stored(self, now: float, connected: bool) -> None:
        assert self.fetcher is not None
        due = self.tracker.store_checks_due(now)
        if due:
            found = await self.fetcher.stored(due)
            self._queue_statuses(self.tracker.stored(found), DeliveryStatus.STORED)
        for envelope in self.tracker.overdue(now):
            self._retry(envelope, now, connected)

    def _saw(self, digest: bytes) -> bool:
        """Remember a Waku message hash; False when it was already known."""
        if digest in self._seen:
            return False
        self._seen[digest] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return True

    async def sync_history(self) -> int:
        """Fetch from the store what reached our topics since we were last in sync and we
        did not see; returns how many messages that was."""
        if self.fetcher is None:
            raise ChatError("no store node to fetch history from")
        end_ns = time.time_ns()
        if self._last_synced_ns is None:
            start_ns = end_ns - int(self.config.first_history_window * 1e9)
        else:
            start_ns = self._last_synced_ns - int(self.config.history_margin * 1e9)
        by_pubsub: dict[str, list[str]] = defaultdict(list)
        for content_topic in self._listening:
            by_pubsub[self._pubsub_for(content_topic)].append(content_topic)
        fetched = 0
        for pubsub_topic, content_topics in by_pubsub.items():
            entries = await self.fetcher.missed(
                pubsub_topic, content_topics, start_ns, end_ns, lambda h: h in self._seen
            )
            for entry in entries:
                assert entry.message is not None
                new = self._saw(entry.hash)
                self.fetcher.count(new)
                if new:
                    fetched += 1
                    self._open_envelope(entry.message)
        self._last_synced_ns = end_ns
        self._pending.put_nowait(_Write(sync_state={LAST_SYNCED: end_ns.to_bytes(8, "big")}))
        return fetched

    # -- receiving ----------------------------------------------------------------------------

    def _on_relayed(self, item: RelayedMessage) -> None:
        if not self._saw(item.hash):
            return  # fetched from the store before the relay brought it
        self._open_envelope(item.message)

    def _open_envelope(self, message: WakuMessage) -> None:
        topic = message.content_topic
        listener = self._listening.get(topic)
        if message.version != 1 or listener is None:
            return
        try:
            if listener.kind == "private":
                opened = decrypt_asymmetric(message.payload, self._identity)
            else:
                opened = decrypt_symmetric(message.payload, listener.key)
            if opened.signer is None:
                raise ChatError("unsigned envelope")  # status-go drops them too
            payload = opened.payload
            reassembled = self._segments.receive(opened.signer, payload, time.monotonic())
            if isinstance(reassembled, Incomplete | AlreadyCompleted):
                return
            if isinstance(reassembled, Complete):
                payload = reassembled.payload
            self._receive(opened.signer, payload, listener)
        except NotForThisDevice:
            return
        except (
            PayloadError,
            EncryptionError,
            RatchetError,
            InvalidWrapper,
            SegmentationError,
            ChatError,
        ) as exc:
            DROPPED.labels("invalid").inc()
            log.debug("dropped a chat message on %s: %s", topic, exc)
        except (WakuError, ValueError) as exc:
            DROPPED.labels("undecodable").inc()
            log.debug("undecodable chat message on %s: %s", topic, exc)

    def _receive(self, sender: bytes, data: bytes, listener: _Listener) -> None:
        """One opened envelope: status-go's encryption, data sync and application layers
        (``protocol/common/message_sender.go`` handleMessage)."""
        protocol = parse(pb.ProtocolMessage(), data, "protocol message")
        if sender == self._public_key and protocol.installation_id == self.installation_id:
            return  # our own message, relayed back to us
        public = listener.kind in ("public", "contact_code")
        if public and not protocol.public_message:
            raise ChatError("a public chat message with nothing in it")
        own_devices = set(self.encryption.installations.get(self._public_key, {}))
        if protocol.public_message:
            for bundle in protocol.bundles:
                with contextlib.suppress(ChatError, ValueError):  # a bad bundle: ignored
                    if coincurve.PublicKey(bundle.identity).format(compressed=False) == sender:
                        self.encryption.add_bundle(bundle)
            wrapped = protocol.public_message
        else:
            if not protocol.direct_message:
                raise ChatError("a protocol message with no payload")
            wrapped = self.encryption.decrypt(sender, protocol)
            self._refresh_negotiated()
        if (
            sender == self._public_key
            and set(self.encryption.installations.get(self._public_key, {})) - own_devices
        ):
            # A device of ours we did not know: tell it about us in turn.
            task = asyncio.get_running_loop().create_task(self.announce_device())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if not wrapped:
            return  # a bundle advert: the bundle was all it carried
        if listener.kind == "contact_code":
            # The advert's bundle was taken above; a chat identity may ride along.
            self._handle_wrapped(sender, wrapped, None, None, contact_code=True)
            return
        if listener.kind == "public":
            self._handle_wrapped(sender, wrapped, listener.name, None)
            return
        payload = _sync_payload(wrapped)
        if payload is None:
            self._handle_wrapped(sender, wrapped, None, None)
        elif sender == self._public_key:
            # Our other device's copy of what it sent: shown, not acknowledged.
            for item in payload.messages:
                try:
                    self._handle_wrapped(None, bytes(item.body), None, None, own_copy=True)
                except (ChatError, WakuError, ValueError) as exc:
                    self._drop("a copy from our device", exc, None)
        else:
            self._receive_sync(sender, wrapped)

    def _receive_sync(self, sender: bytes, data: bytes) -> None:
        """An MVDS payload: acknowledgements for us, and messages whose bodies are wrapped
        messages (acknowledged once stored, or at once when they cannot be read)."""
        new = self._mvds.receive(sender, data)
        self._collect_acknowledgements()
        for sync in new:
            ack = (sender, sync.id)
            try:
                self._handle_wrapped(sender, sync.body, None, ack)
            except (ChatError, WakuError, ValueError) as exc:
                self._drop("a 1:1 message", exc, ack)
        if new:
            self._wake.set()

    def _drop(self, what: str, exc: Exception, ack: tuple[bytes, bytes] | None) -> None:
        """Count and log an invalid message, and acknowledge it: it will not get any better."""
        DROPPED.labels("invalid").inc()
        log.debug("dropped %s: %s", what, exc)
        if ack is not None:
            self._mvds.acknowledge(*ack)

    def _handle_wrapped(
        self,
        sender: bytes | None,
        wrapped: bytes,
        public_chat: str | None,
        ack: tuple[bytes, bytes] | None,
        *,
        own_copy: bool = False,
        contact_code: bool = False,
    ) -> None:
        """Store and announce one wrapped message; ``sender``: the envelope's signer, who
        must be its author (None for ``own_copy``: what another device of ours sent, whose
        wrapper must be signed by our key); ``ack``: the MVDS acknowledgement due once
        stored; ``contact_code``: it came on a contact-code topic. Handled by type in
        :mod:`pystatus.chat.incoming`."""
        message = unwrap(wrapped)
        if sender is not None and message.author != sender:
            raise ChatError("the wrapper's author is not the envelope's signer")
        if own_copy and message.author != self._public_key:
            raise ChatError("a copy from our device signed by someone else")
        after = (lambda: self._mvds.acknowledge(*ack)) if ack is not None else None
        outgoing = message.author == self._public_key  # our own other device sent it
        if message.type == MessageType.EMOJI_REACTION:
            self._receive_reaction(message.author, message.payload, outgoing, after)
            return
        resolve = self._incoming.handler(message, public_chat, outgoing, contact_code=contact_code)
        if resolve is None:
            if after is not None:
                after()
            return
        self._pending.put_nowait(_Write(resolve=resolve, after=after))

    def _receive_reaction(
        self, author: bytes, payload: bytes, outgoing: bool, after: Callable[[], None] | None
    ) -> None:
        reaction = parse(chat_message_pb2.EmojiReaction(), payload, "emoji reaction")
        if not 1 <= reaction.type <= 6 or not reaction.message_id:
            if after is not None:
                after()
            return
        self._observe(reaction.clock)
        author_key = chat_key_text(author)
        stored = StoredReaction(
            reaction.message_id, author_key, reaction.type, reaction.clock, reaction.retracted
        )
        event = ChatEvent(
            reaction.message_id,
            reaction.chat_id
            if outgoing or reaction.message_type == chat_message_pb2.PUBLIC_GROUP
            else _one_to_one_chat_id(author),
            author_key,
            "",
            reaction.clock,
            0,
            "",
            outgoing,
            kind="reaction",
            reaction=-reaction.type if reaction.retracted else reaction.type,
        )
        self._pending.put_nowait(_Write(stored, event, after=after))

    # -- the database writer ------------------------------------------------------------------

    def _batch(self, writes: list[_Write]) -> Batch:
        batch = Batch(
            messages=[w.stored for w in writes if w.stored is not None],
            # The ratchet steps these messages took commit with them.
            device_state=json.dumps(export_state(self.encryption)).encode(),
            contacts=self._contact_book.flush(),
        )
        for write in writes:
            if write.extra is not None:
                batch.merge(write.extra)
            batch.outbox_added += write.outbox_added
            batch.outbox_removed += write.outbox_removed
            batch.statuses += write.statuses
            batch.sync_state.update(write.sync_state)
        return batch

    async def _write_loop(self) -> None:
        while True:
            writes = [await self._pending.get()]
            while not self._pending.empty():
                writes.append(self._pending.get_nowait())
            try:
                for write in writes:
                    if write.resolve is not None:
                        await write.resolve(write)
                    event = write.event
                    if event is not None and write.extra is None and event.chat_id.startswith("0x"):
                        with contextlib.suppress(ValueError):  # an id naming no key: no chat
                            name = chat_key_text(bytes.fromhex(event.chat_id[2:]))
                            await self.database.upsert_chat(
                                event.chat_id, ONE_TO_ONE, name, active=event.outgoing
                            )
                added = iter(await self.database.commit(self._batch(writes)))
            except (ChatError, sqlite3.Error) as exc:
                log.error("chat database write failed: %s", exc)
                failure = ChatError(f"the chat database failed: {exc}")
                for write in writes:
                    if write.committed is not None and not write.committed.done():
                        write.committed.set_exception(failure)
                    self._pending.task_done()
                continue
            for write in writes:
                new = next(added) if write.stored is not None else False
                if write.committed is not None and not write.committed.done():
                    write.committed.set_result(None)
                if write.after is not None:
                    write.after()
                if new and write.event is not None:
                    self._announce(write.event)
                for event in write.status_events + write.events:
                    self._announce(event)
                self._pending.task_done()
            if any(w.after is not None for w in writes):
                self._wake.set()  # acknowledgements are due

    @staticmethod
    def _event(
        stored: StoredMessage, message: chat_message_pb2.ChatMessage, outgoing: bool
    ) -> ChatEvent:
        return message_event(stored, message, outgoing)
