"""One device of an account in the simulated network (:mod:`pystatus.testnet.simnet`): a
:class:`~pystatus.chat.session.ChatSession`, the part of the Messenger's adapter that the
reliability scenarios exercise, and a :class:`SimDatabase` standing for its chat database.

What the device keeps across a crash is exactly what its session's
:class:`~pystatus.chat.actions.Commit` actions (and the sends the "API" acknowledged) wrote to
the :class:`SimDatabase`; everything else (the session, writes not yet committed, store
queries under way) is lost, and :meth:`SimDevice.boot` rebuilds the session from the database
the way ``Messenger.start`` does (``src/pystatus/chat/messenger.py``): device state, the
largest clock stored, the last history sync, the outbox, the unfinished statuses, the topics.

Received text messages are handled as the Messenger's content handlers do
(:mod:`pystatus.chat.incoming`): read and validated (``parse_chat_message``), filed under
status-go's ``matchChatEntity`` chat, the clock observed, stored once by message id, and only
then acknowledged. Time is the network's: monotonic seconds ``now`` and wall-clock ns.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import coincurve

from pystatus.chat import mvds
from pystatus.chat.actions import Action, Commit, Deliver
from pystatus.chat.content import (
    ChatMessageType,
    InvalidContent,
    build_chat_message,
    build_contact_code_advertisement,
    build_pair_installation,
    local_chat_id,
    parse_chat_message,
)
from pystatus.chat.database_records import OutboxEntry
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.messenger import REPUBLISH_WINDOW
from pystatus.chat.reliability import OWED_ACKS, ReliabilityConfig
from pystatus.chat.session import LAST_SYNCED, ChatSession
from pystatus.chat.state import load_device_state
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from pystatus.errors import ChatError, PystatusError
from pystatus.waku.message import WakuMessage

SEGMENT_SIZE = 1 << 20
"""The Status cluster's 1 MiB Waku message limit: texts here never need segments."""


class SimulationError(PystatusError):
    """The simulation cannot go on: a bound was reached, or the session stopped moving time
    forward (a deadline that stays in the past)."""


@dataclass(frozen=True, slots=True)
class StoredText:
    """A text message in a device's database (ours or received)."""

    message_id: str
    chat_id: str
    author: bytes
    """The author's uncompressed public key."""
    clock: int
    """The chat's Lamport clock (status-go's ChatMessage.clock)."""
    text: str
    outgoing: bool
    timestamp_ms: int
    """When its author sent it (wall clock, Unix ms)."""
    body: bytes
    """The ChatMessage as it came, to wrap again."""


@dataclass(slots=True)
class SimDatabase:
    """What a device has committed: all that survives its crash."""

    messages: dict[str, StoredText] = field(default_factory=dict)
    outbox: dict[tuple[bytes, bytes], OutboxEntry] = field(default_factory=dict)
    """(MVDS message id, peer) -> the entry waiting for that peer's acknowledgement."""
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Our message id -> (delivery status, chat id)."""
    sync_state: dict[str, bytes] = field(default_factory=dict)
    device_state: bytes | None = None
    public_chats: set[str] = field(default_factory=set)
    contacts: set[bytes] = field(default_factory=set)
    announced: Counter[str] = field(default_factory=Counter)
    """Received message id -> how often it was announced as new (the UI's count)."""

    def apply(self, commit: Commit) -> None:
        """One :class:`Commit`, in one transaction (there is nothing here to fail)."""
        for entry in commit.outbox_added:
            self.outbox[(entry.sync_id, entry.peer)] = entry
        for key in commit.outbox_removed:
            self.outbox.pop(key, None)
        for message_id, status in commit.statuses:
            _, chat_id = self.statuses.get(message_id, ("", ""))
            self.statuses[message_id] = (status, chat_id)
        self.sync_state.update(commit.sync_state)
        if commit.device_state is not None:
            self.device_state = commit.device_state

    def store(self, message: StoredText) -> bool:
        """Insert ``message`` unless its id is there; True when it was new."""
        if message.message_id in self.messages:
            return False
        self.messages[message.message_id] = message
        if not message.outgoing:
            self.announced[message.message_id] += 1
        return True

    def chat(self, chat_id: str) -> list[StoredText]:
        """A chat's messages in the order the app shows them: by clock, then id."""
        found = [m for m in self.messages.values() if m.chat_id == chat_id]
        return sorted(found, key=lambda m: (m.clock, m.message_id))

    def max_clock(self) -> int:
        return max((m.clock for m in self.messages.values()), default=0)


class SimDevice:
    """One installation of an account: its database, and its session while it runs.

    ``wall_ns`` reads the network's wall clock (ns since the epoch); ``seed`` makes its MVDS
    jitter repeatable."""

    def __init__(
        self,
        name: str,
        identity: bytes,
        *,
        config: ReliabilityConfig,
        has_store: bool,
        wall_ns: Callable[[], int],
        seed: int,
    ) -> None:
        self.name = name
        self.identity = identity
        self.public_key = bytes(coincurve.PrivateKey(identity).public_key.format(compressed=False))
        self.installation_id = str(uuid.UUID(int=random.Random(seed).getrandbits(128)))
        self.config = config
        self.has_store = has_store
        self.db = SimDatabase()
        self.session: ChatSession | None = None
        self.incarnation = 0
        """Bumped by each crash: what was under way for an earlier one is dropped."""
        self.topics: set[str] = set()
        """Content topics the device's transport delivers (the relay filters the rest)."""
        self.link_up = True
        self.on_listen: Callable[[Iterable[str]], None] | None = None
        """Told the content topics added while running (a light device's transport)."""
        self.held: list[Action] | None = None
        """While its core waits for a light push to be answered (the Messenger awaits each
        publish): the actions to carry out after it, in order."""
        self.inbox: deque[tuple[WakuMessage, bytes]] = deque()
        """Messages (and their hashes) that arrived while the core waited."""
        self.redelivered = 0
        """Deliver actions, within one incarnation, for a message already acknowledged (its
        session's data sync should have kept them back)."""
        self._acknowledged: set[tuple[bytes, bytes]] = set()
        self._wall_ns = wall_ns
        self._rng = random.Random(seed)

    @property
    def chat_id(self) -> str:
        """The 1:1 chat id others file this account's messages under."""
        return "0x" + self.public_key.hex()

    @property
    def running(self) -> bool:
        return self.session is not None

    def live(self) -> ChatSession:
        if self.session is None:
            raise SimulationError(f"{self.name} is not running")
        return self.session

    # -- life cycle -------------------------------------------------------------------------

    def boot(self, now: float) -> list[Action]:
        """Start a session from what the database holds, as ``Messenger.start``; returns its
        first actions (recent public messages of ours never confirmed published again, the
        device announcing itself to its account's others)."""
        saved = self.db.device_state
        if saved is not None:
            encryption = load_device_state(self.identity, saved)
            encryption.clock = self._wall_ns
        else:
            encryption = EncryptionService(self.identity, self.installation_id, self._wall_ns)
        session = ChatSession(
            self.identity,
            encryption,
            config=self.config,
            has_store=self.has_store,
            segment_size=SEGMENT_SIZE,
            mvds_state=mvds.MVDS(
                rng=random.Random(self._rng.getrandbits(64)),
                resend_interval=self.config.resend_interval,
                max_sends=self.config.max_sends,
            ),
        )
        if saved is not None:
            session.state_saved()
        session.observe_clock(self.db.max_clock())
        if LAST_SYNCED in self.db.sync_state:
            session.last_synced_ns = int.from_bytes(self.db.sync_state[LAST_SYNCED], "big")
        session.restore_outbox(list(self.db.outbox.values()), now)
        if OWED_ACKS in self.db.sync_state:
            session.restore_owed_acks(self.db.sync_state[OWED_ACKS], now)
        republish: list[Action] = []
        for message_id, (status, chat_id) in self.db.statuses.items():
            if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
                continue
            session.track(message_id, chat_id, DeliveryStatus(status))
            stored = self.db.messages.get(message_id)
            if chat_id.startswith("0x") or stored is None:
                continue
            # A public message's resend was in memory only: the Messenger publishes it
            # again at start when it is recent.
            age_ms = self._wall_ns() // 10**6 - stored.timestamp_ms
            if age_ms < REPUBLISH_WINDOW * 1000:
                wrapped = wrap(stored.body, MessageType.CHAT_MESSAGE, self.identity)
                republish += session.republish(
                    chat_id, wrapped, message_id, DeliveryStatus(status), self._wall_ns()
                )
        added = session.listen_own()
        for contact in sorted(self.db.contacts):
            added += session.watch_contact_code(contact)
        for name in sorted(self.db.public_chats):
            added += session.watch_public(name)
        added += session.listening.negotiated(session.encryption)
        self.topics = set(added)
        self.session = session
        self._acknowledged.clear()
        actions = session.start(now) + republish
        return actions + self.announce_device()

    def crash(self) -> None:
        """Lose everything not committed: the session and the writes under way."""
        self.session = None
        self.incarnation += 1
        self.topics = set()
        self.held = None
        self.inbox.clear()

    def listen(self, content_topics: Iterable[str]) -> None:
        """The transport delivers ``content_topics`` from now on."""
        added = set(content_topics) - self.topics
        self.topics |= added
        if added and self.on_listen is not None and self.session is not None:
            self.on_listen(added)

    def add_contact(self, public_key: bytes) -> None:
        """Someone this account talks to: their contact code is listened to from now on."""
        self.db.contacts.add(public_key)
        if self.session is not None:
            self.listen(self.session.watch_contact_code(public_key))

    def join_public(self, name: str) -> None:
        self.db.public_chats.add(name)
        if self.session is not None:
            self.listen(self.session.watch_public(name))

    # -- sending (what the API acknowledges once committed) ----------------------------------

    def _text(self, chat_id: str, kind: ChatMessageType, text: str) -> tuple[StoredText, bytes]:
        """Our message and its wrapper."""
        session = self.live()
        now_ms = self._wall_ns() // 10**6
        clock = session.next_clock(now_ms)
        payload = build_chat_message(clock, now_ms, chat_id, kind, text)
        wrapped = wrap(payload, MessageType.CHAT_MESSAGE, self.identity)
        message_id = "0x" + unwrap(wrapped).message_id.hex()
        ours = StoredText(message_id, chat_id, self.public_key, clock, text, True, now_ms, payload)
        return ours, wrapped

    def send_text(self, recipient: bytes, text: str, now: float) -> str:
        """A 1:1 text: stored with its outbox entry in one commit (the API's answer), then
        queued for the next MVDS epoch. Returns its message id."""
        session = self.live()
        chat_id = "0x" + recipient.hex()
        ours, wrapped = self._text(chat_id, ChatMessageType.ONE_TO_ONE, text)
        message_id = ours.message_id
        entry = session.outbox_entry(recipient, message_id, wrapped, self._wall_ns())
        self.db.store(ours)
        self.db.outbox[(entry.sync_id, entry.peer)] = entry
        self.db.statuses[message_id] = (DeliveryStatus.PENDING, chat_id)
        session.track(message_id, chat_id, DeliveryStatus.PENDING)
        session.queue([entry], now)
        return message_id

    def send_public(self, name: str, text: str) -> tuple[str, list[Action]]:
        """A public chat text, stored, then published; (its id, the session's actions)."""
        session = self.live()
        self.join_public(name)
        ours, wrapped = self._text(name, ChatMessageType.PUBLIC_GROUP, text)
        message_id = ours.message_id
        self.db.store(ours)
        self.db.statuses[message_id] = (DeliveryStatus.PENDING, name)
        session.track(message_id, name, DeliveryStatus.PENDING)
        return message_id, session.send_public(name, wrapped, self._wall_ns(), [message_id])

    def advertise_contact_code(self, now: float) -> list[Action]:
        wrapped = wrap(
            build_contact_code_advertisement(),
            MessageType.CONTACT_CODE_ADVERTISEMENT,
            self.identity,
        )
        return self.live().contact_code(wrapped, now, self._wall_ns())

    def announce_device(self) -> list[Action]:
        session = self.live()
        clock = session.next_clock(self._wall_ns() // 10**6)
        pairing = build_pair_installation(clock, self.installation_id, "pystatus-sim", self.name)
        wrapped = wrap(pairing, MessageType.SYNC_PAIR_INSTALLATION, self.identity)
        return session.announce_device(wrapped, self._wall_ns())

    # -- receiving --------------------------------------------------------------------------

    def read(self, deliver: Deliver) -> StoredText | None:
        """What the content handlers make of a delivered message: a text to store, or None
        (another kind, shown or ignored without storing). Raises :class:`ChatError`
        (InvalidContent, InvalidWrapper) for what status-go's validators reject."""
        session = self.live()
        if deliver.ack is not None and deliver.ack in self._acknowledged:
            self.redelivered += 1
        unwrapped = unwrap(deliver.wrapped)
        if unwrapped.type != MessageType.CHAT_MESSAGE or deliver.contact_code:
            return None
        if deliver.sender is not None and unwrapped.author != deliver.sender:
            raise ChatError("the wrapper's author did not sign the envelope")
        content = parse_chat_message(unwrapped.payload)
        chat_id = local_chat_id(
            content.message_type, content.chat_id, author=unwrapped.author, me=self.public_key
        )
        if deliver.public_chat is not None and chat_id != deliver.public_chat:
            raise InvalidContent("a public message naming another chat than its topic's")
        session.observe_clock(content.clock)
        return StoredText(
            "0x" + unwrapped.message_id.hex(),
            chat_id,
            unwrapped.author,
            content.clock,
            content.text,
            unwrapped.author == self.public_key,
            content.timestamp,
            unwrapped.payload,
        )

    def committed(self, deliver: Deliver, text: StoredText | None, now: float) -> None:
        """The write for ``deliver`` committed (with the ratchet state it moved, as the
        Messenger's batch does): acknowledge it."""
        session = self.live()
        if text is not None:
            self.db.store(text)
        state = session.device_state()
        if state is not None:
            self.db.device_state = state
        if deliver.ack is not None:
            session.acknowledge(deliver.ack, now)
            self._acknowledged.add(deliver.ack)

    # -- what the tests read ----------------------------------------------------------------

    def status(self, message_id: str) -> str | None:
        found = self.db.statuses.get(message_id)
        return None if found is None else found[0]
