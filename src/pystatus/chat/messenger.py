"""A Status ``Messenger``: an account chatting over a pystatus node's relay.

Sending a 1:1 message: the ChatMessage is wrapped and signed with the chat key, encrypted by
the multi-device Double Ratchet protocol for every installation of the recipient and of our
own account, and the resulting ProtocolMessage travels in an RFC 26 envelope signed with the
chat key and encrypted (ECIES) to the recipient on the recipient's partitioned topic, and to
ourselves on ours when we have other devices. Before a recipient's bundle is known the first
message carries our bundle and the wrapped message in the clear inside the ECIES envelope;
their answer brings their bundle and every later message is ratcheted.

A public chat message is wrapped and signed the same way and sent in an envelope encrypted
with the key every member derives from the chat's name, on the chat's topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import coincurve

from pystatus.chat import topics
from pystatus.chat.account import Account
from pystatus.chat.database import ChatDatabase, StoredMessage, StoredReaction
from pystatus.chat.encryption import (
    EncryptionError,
    EncryptionService,
    NoBundle,
    NotForThisDevice,
    export_state,
    restore_state,
)
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.keys import chat_key_text, public_key_from_chat_key_text
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import RatchetError
from pystatus.chat.wrapper import InvalidWrapper, MessageType, unwrap, wrap
from pystatus.chat.wrapper import message_id as wrapper_message_id
from pystatus.errors import ChatError, WakuError
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import (
    PayloadError,
    decrypt_asymmetric,
    decrypt_symmetric,
    encrypt_asymmetric,
    encrypt_symmetric,
)
from pystatus.waku.relay import RelayedMessage, WakuRelay

log = logging.getLogger(__name__)

ONE_TO_ONE = "one_to_one"
PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class ChatEvent:
    """A chat message sent or received by this account."""

    id: str
    chat_id: str
    author: str
    """The author's chat key, ``zQ3...``."""
    text: str
    clock: int
    timestamp: int
    response_to: str
    outgoing: bool
    kind: str = "message"
    """``message``, ``contact_request`` or ``reaction`` (then ``id`` is the reacted message)."""
    reaction: int = 0
    """For a reaction: its EmojiReaction type (1 love, 2 thumbs up, ...); negative: retracted."""


@dataclass(slots=True)
class _Write:
    stored: StoredMessage | StoredReaction
    event: ChatEvent | None
    committed: asyncio.Future[None] | None


def _one_to_one_chat_id(public_key: bytes) -> str:
    """status-go's id of a 1:1 chat: the other person's uncompressed public key in 0x-hex."""
    return "0x" + coincurve.PublicKey(public_key).format(compressed=False).hex()


class Messenger:
    def __init__(
        self,
        account: Account,
        relay: WakuRelay,
        pubsub_for: Callable[[str], str],
        *,
        installation_id: str | None = None,
    ) -> None:
        """``pubsub_for`` maps a content topic to the pubsub topic (shard) it travels on;
        with a :class:`~pystatus.node.node.WakuNode`, its ``content_topic_to_pubsub``."""
        self.account = account
        self.relay = relay
        self._pubsub_for = pubsub_for
        self.installation_id = installation_id or secrets.token_hex(8)
        self.encryption = EncryptionService(account.keys.chat, self.installation_id)
        self.database = ChatDatabase(account.directory / "chat.sqlite3", account.keys.database)
        self._identity = account.keys.chat
        self._public_key = account.keys.chat_public_key
        self._public_chats: dict[str, str] = {}  # content topic -> chat name
        self._own_topic = topics.partitioned_content_topic(self._public_key)
        self._clock = 0
        self._events: asyncio.Queue[ChatEvent] = asyncio.Queue()
        # Messages to store, sent and received alike, committed in batches: a sender's future
        # resolves once its message is committed (group commit).
        self._pending: asyncio.Queue[_Write] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._contacts: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._chat_key = account.chat_key

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.database.open()
        saved = await self.database.device_state()
        if saved is not None:
            self.encryption = restore_state(self.account.keys.chat, json.loads(saved))
            self.installation_id = self.encryption.installation_id
        self._clock = await self.database.max_clock()
        self._contacts = set(await self.database.contacts())
        relay = self.relay
        relay.subscribe_topic(self._pubsub_for(self._own_topic))
        for chat in await self.database.chats():
            if chat.kind == PUBLIC:
                self._watch_public(chat.name)
        relay.add_observer(self._on_relayed)
        self._writer = asyncio.get_running_loop().create_task(self._write_loop(), name="chat db")
        await self.announce_device()

    async def stop(self) -> None:
        self.relay.remove_observer(self._on_relayed)
        for content_topic in [self._own_topic, *self._public_chats]:
            self.relay.unsubscribe_topic(self._pubsub_for(content_topic))
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

    # -- contacts and chats -------------------------------------------------------------------

    async def add_contact(self, chat_key: str) -> str:
        """Start a 1:1 chat with ``chat_key`` (``zQ3...``); returns the chat id."""
        public_key = public_key_from_chat_key_text(chat_key)
        chat_id = _one_to_one_chat_id(public_key)
        if chat_key not in self._contacts:
            await self.database.add_contact(chat_key, time.time_ns())
            await self.database.upsert_chat(chat_id, ONE_TO_ONE, chat_key)
            self._contacts.add(chat_key)
        return chat_id

    async def join_public_chat(self, name: str) -> str:
        await self.database.upsert_chat(name, PUBLIC, name)
        self._watch_public(name)
        return name

    def _watch_public(self, name: str) -> None:
        content_topic = topics.public_chat_content_topic(name)
        if content_topic not in self._public_chats:
            self._public_chats[content_topic] = name
            self.relay.subscribe_topic(self._pubsub_for(content_topic))

    async def chats(self) -> list[tuple[str, str, str]]:
        """(chat id, kind, name) of every chat, most recently active first."""
        return [(c.id, c.kind, c.name) for c in await self.database.chats()]

    async def history(self, chat_id: str, limit: int = 50) -> list[ChatEvent]:
        events = []
        for stored in await self.database.history(chat_id, limit):
            message = chat_message_pb2.ChatMessage.FromString(stored.body)
            events.append(self._event(stored, message, stored.author == self.chat_key))
        return events

    async def events(self) -> AsyncIterator[ChatEvent]:
        """Every message received from now on (after it is stored)."""
        while True:
            yield await self._events.get()

    # -- sending ------------------------------------------------------------------------------

    def _tick(self, seen: int = 0) -> int:
        self._clock = max(self._clock, seen) + 1
        return self._clock

    async def send(self, chat_key: str, text: str, *, response_to: str = "") -> str:
        """Send ``text`` to ``chat_key`` 1:1; returns the message id once it is stored."""
        return await self._send_text(
            chat_key, text, response_to, chat_message_pb2.ChatMessage.TEXT_PLAIN
        )

    async def send_contact_request(self, chat_key: str, text: str) -> str:
        """Ask ``chat_key`` to become a contact, with an introduction."""
        return await self._send_text(
            chat_key, text, "", chat_message_pb2.ChatMessage.CONTACT_REQUEST
        )

    async def _send_text(self, chat_key: str, text: str, response_to: str, content: int) -> str:
        recipient = public_key_from_chat_key_text(chat_key)
        chat_id = await self.add_contact(chat_key)
        message = self._chat_message(chat_id, text, response_to, chat_message_pb2.ONE_TO_ONE)
        message.content_type = content  # type: ignore[assignment]
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        self._send_private(recipient, wrapped)
        return await self._store_sent(chat_id, wrapped, message)

    def _send_private(self, recipient: bytes, wrapped: bytes) -> None:
        """Encrypt for the recipient's devices and ours, publish to them and to us."""
        try:
            protocol = self.encryption.encrypt(recipient, wrapped)
        except NoBundle:
            protocol = pb.ProtocolMessage(
                installation_id=self.installation_id, public_message=wrapped
            )
            protocol.bundles.append(self.encryption.own_bundle())
        data = protocol.SerializeToString()
        if recipient != self._public_key:
            self._publish(
                topics.partitioned_content_topic(recipient),
                encrypt_asymmetric(data, recipient, signer=self._identity),
            )
        if self.encryption.installations.get(self._public_key) or recipient == self._public_key:
            self._publish(
                self._own_topic, encrypt_asymmetric(data, self._public_key, signer=self._identity)
            )

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
            self._publish_public(chat_id, wrapped)
        else:
            try:
                recipient = bytes.fromhex(chat_id[2:])
                coincurve.PublicKey(recipient)
            except ValueError:
                raise InvalidChatKey(f"{chat_id!r} is not a 1:1 chat id") from None
            self._send_private(recipient, wrapped)
        stored = StoredReaction(message_id, self._chat_key, reaction, payload.clock, retract)
        committed = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(_Write(stored, None, committed))
        await committed

    async def reactions(self, message_id: str) -> list[tuple[str, int]]:
        """(author chat key, reaction type) standing on a message."""
        return await self.database.reactions(message_id)

    async def announce_device(self) -> None:
        """Tell the account's other devices about this one (they answer in kind)."""
        pairing = chat_message_pb2.PairInstallation(
            clock=self._tick(), installation_id=self.installation_id, device_type="pystatus"
        )
        wrapped = wrap(pairing.SerializeToString(), MessageType.PAIR_INSTALLATION, self._identity)
        protocol = pb.ProtocolMessage(installation_id=self.installation_id, public_message=wrapped)
        protocol.bundles.append(self.encryption.own_bundle())
        self._publish(
            self._own_topic,
            encrypt_asymmetric(
                protocol.SerializeToString(), self._public_key, signer=self._identity
            ),
        )

    async def send_public(self, name: str, text: str, *, response_to: str = "") -> str:
        await self.join_public_chat(name)
        message = self._chat_message(name, text, response_to, chat_message_pb2.PUBLIC_GROUP)
        wrapped = wrap(message.SerializeToString(), MessageType.CHAT_MESSAGE, self._identity)
        self._publish_public(name, wrapped)
        return await self._store_sent(name, wrapped, message)

    def _publish_public(self, name: str, wrapped: bytes) -> None:
        protocol = pb.ProtocolMessage(installation_id=self.installation_id, public_message=wrapped)
        self._publish(
            topics.public_chat_content_topic(name),
            encrypt_symmetric(
                protocol.SerializeToString(), topics.public_chat_key(name), signer=self._identity
            ),
        )

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

    def _publish(self, content_topic: str, payload: bytes) -> None:
        message = WakuMessage(payload, content_topic, version=1, timestamp=time.time_ns())
        self.relay.publish(self._pubsub_for(content_topic), message)

    async def _store_sent(
        self, chat_id: str, wrapped: bytes, message: chat_message_pb2.ChatMessage
    ) -> str:
        message_id = "0x" + wrapper_message_id(self._public_key, wrapped).hex()
        stored = StoredMessage(
            message_id,
            chat_id,
            self._chat_key,
            message.clock,
            message.timestamp,
            message.SerializeToString(),
        )
        committed = asyncio.get_running_loop().create_future()
        self._pending.put_nowait(_Write(stored, None, committed))
        await committed
        return message_id

    # -- receiving ----------------------------------------------------------------------------

    def _on_relayed(self, item: RelayedMessage) -> None:
        topic = item.message.content_topic
        if item.message.version != 1:
            return
        try:
            if topic == self._own_topic:
                opened = decrypt_asymmetric(item.message.payload, self._identity)
            elif topic in self._public_chats:
                name = self._public_chats[topic]
                opened = decrypt_symmetric(item.message.payload, topics.public_chat_key(name))
            else:
                return
            if opened.signer is None:
                raise ChatError("unsigned envelope")
            self._receive(opened.signer, opened.payload, topic)
        except NotForThisDevice:
            return
        except (PayloadError, EncryptionError, RatchetError, InvalidWrapper, ChatError) as exc:
            log.debug("dropped a chat message on %s: %s", topic, exc)
        except (WakuError, ValueError) as exc:
            log.debug("undecodable chat message on %s: %s", topic, exc)

    def _receive(self, sender: bytes, data: bytes, topic: str) -> None:
        protocol = pb.ProtocolMessage.FromString(data)
        if sender == self._public_key and protocol.installation_id == self.installation_id:
            return  # our own message, relayed back to us
        own_devices = set(self.encryption.installations.get(self._public_key, {}))
        if protocol.public_message:
            for bundle in protocol.bundles:
                if coincurve.PublicKey(bundle.identity).format(compressed=False) == sender:
                    self.encryption.add_bundle(bundle)
            wrapped = protocol.public_message
        else:
            wrapped = self.encryption.decrypt(sender, protocol)
        if (
            sender == self._public_key
            and set(self.encryption.installations.get(self._public_key, {})) - own_devices
        ):
            # A device of ours we did not know: tell it about us in turn.
            task = asyncio.get_running_loop().create_task(self.announce_device())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        message = unwrap(wrapped)
        if message.author != sender:
            raise ChatError("the wrapper's author is not the envelope's signer")
        outgoing = message.author == self._public_key  # our own other device sent it
        if message.type == MessageType.EMOJI_REACTION:
            self._receive_reaction(message.author, message.payload, outgoing)
            return
        if message.type != MessageType.CHAT_MESSAGE:
            return
        chat_message = chat_message_pb2.ChatMessage.FromString(message.payload)
        if topic in self._public_chats:
            chat_id = self._public_chats[topic]
        elif outgoing:
            chat_id = chat_message.chat_id
        else:
            chat_id = _one_to_one_chat_id(message.author)
        self._tick(chat_message.clock)
        stored = StoredMessage(
            "0x" + message.message_id.hex(),
            chat_id,
            chat_key_text(message.author),
            chat_message.clock,
            chat_message.timestamp,
            message.payload,
        )
        self._pending.put_nowait(_Write(stored, self._event(stored, chat_message, outgoing), None))

    def _receive_reaction(self, author: bytes, payload: bytes, outgoing: bool) -> None:
        reaction = chat_message_pb2.EmojiReaction.FromString(payload)
        if not 1 <= reaction.type <= 6 or not reaction.message_id:
            return
        self._tick(reaction.clock)
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
        self._pending.put_nowait(_Write(stored, event, None))

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._pending.get()]
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                for write in batch:
                    if write.event is not None and write.event.chat_id.startswith("0x"):
                        with contextlib.suppress(ValueError):  # an id naming no key: no chat
                            name = chat_key_text(bytes.fromhex(write.event.chat_id[2:]))
                            await self.database.upsert_chat(write.event.chat_id, ONE_TO_ONE, name)
                # The ratchet steps these messages took commit with them.
                state = json.dumps(export_state(self.encryption)).encode()
                added = await self.database.add_messages(
                    [write.stored for write in batch], device_state=state
                )
            except (ChatError, sqlite3.Error) as exc:
                log.error("chat database write failed: %s", exc)
                failure = ChatError(f"the chat database failed: {exc}")
                for write in batch:
                    if write.committed is not None and not write.committed.done():
                        write.committed.set_exception(failure)
                    self._pending.task_done()
                continue
            for write, new in zip(batch, added, strict=True):
                if write.committed is not None and not write.committed.done():
                    write.committed.set_result(None)
                if new and write.event is not None:
                    self._events.put_nowait(write.event)
                self._pending.task_done()

    @staticmethod
    def _event(
        stored: StoredMessage, message: chat_message_pb2.ChatMessage, outgoing: bool
    ) -> ChatEvent:
        contact_request = message.content_type == chat_message_pb2.ChatMessage.CONTACT_REQUEST
        return ChatEvent(
            stored.id,
            stored.chat_id,
            stored.author,
            message.text,
            message.clock,
            message.timestamp,
            message.response_to,
            outgoing,
            kind="contact_request" if contact_request else "message",
        )
