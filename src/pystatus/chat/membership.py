"""Private group membership: signed events and the group they fold into, as status-go v1.1.0.

Wire (``protocol/v1/membership_update_message.go``, ``protocol/protobuf/
membership_update_message.proto``): a ``MembershipUpdateMessage`` names the group by its chat
id and carries the group's events, each ``signature (65 bytes) || serialized
MembershipUpdateEvent``. The signature is a recoverable secp256k1 signature (r || s || v, v in
{0, 1}) over keccak256(chat id as UTF-8 || serialized event); the key it recovers is the
event's author, written as status-go writes keys: ``0x`` + hex of the 65-byte uncompressed key.

A group's chat id is ``<UUID v4>-0x04...<creator's key>``; status-go checks only that it ends
with the creator's key and is longer than it.

The group is the fold of its events, sorted by clock, each checked against the state before
it (status-go's ``Group.validateEvent``): the first must be CHAT_CREATED; name, colour, image
and member additions come from members; MEMBER_JOINED from a member; MEMBER_REMOVED names one
key and comes from that key (leaving) or from an admin removing a non-admin; ADMINS_ADDED from
an admin naming at least one member; ADMIN_REMOVED from an admin removing only themselves. One
invalid event rejects the whole update, as status-go's does. Clocks: non-zero and at most
120 s ahead of the receiver's wall clock (``protocol/message_validator.go``).

Pure functions and frozen values: no clock is read (``now_ms`` is passed in), no I/O.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import coincurve
from google.protobuf.message import DecodeError as ProtobufDecodeError
from prometheus_client import Counter

from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import membership_update_message_pb2 as pb
from pystatus.errors import ChatError
from pystatus.waku.enr import keccak256

SIGNATURE_LENGTH = 65
MAX_EVENTS = 1_000
"""Events one update may carry (status-go sets no bound; each costs a key recovery)."""
MAX_MEMBERS = 1_000
"""Keys one event may name, and members a group may hold."""
MAX_FUTURE_DRIFT_MS = 120_000
"""How far ahead of our wall clock an event's clock may be (status-go's
``maxWhisperFutureDriftMs``)."""
MAX_TEXT = 1_024
"""Longest name or colour kept, in characters."""
MAX_IMAGE = 512 * 1024
"""Largest group image kept, in bytes."""

REJECTED = Counter(
    "chat_group_rejected_updates",
    "Membership updates refused, by reason",
    ["reason"],
)


class EventType(IntEnum):
    """``MembershipUpdateEvent.EventType``, numbers as on the wire."""

    UNKNOWN = 0
    CHAT_CREATED = 1
    NAME_CHANGED = 2
    MEMBERS_ADDED = 3
    MEMBER_JOINED = 4
    MEMBER_REMOVED = 5
    ADMINS_ADDED = 6
    ADMIN_REMOVED = 7
    COLOR_CHANGED = 8
    IMAGE_CHANGED = 9


class InvalidMembershipUpdate(ChatError):
    """A membership update that does not decode, carries a bad signature, or whose events
    status-go would refuse. ``reason`` names the check (also the metric's label)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _reject(reason: str, detail: str) -> InvalidMembershipUpdate:
    REJECTED.labels(reason).inc()
    return InvalidMembershipUpdate(reason, detail)


def key_text(public_key: bytes) -> str:
    """A public key as status-go writes it in events and chat ids: ``0x`` + 130 hex digits
    (uncompressed). Raises ``ValueError`` for bytes that are no secp256k1 key."""
    return "0x" + coincurve.PublicKey(public_key).format(compressed=False).hex()


def new_chat_id(creator_public_key: bytes, unique: uuid.UUID | None = None) -> str:
    """A new group's chat id: UUID v4 text, ``-``, the creator's key (status-go's
    ``groupChatID``). ``unique`` is for tests; by default a random UUID."""
    return f"{unique or uuid.uuid4()}-{key_text(creator_public_key)}"


def is_group_chat_id(chat_id: str) -> bool:
    """Whether ``chat_id`` has the form of a private group's: 36 characters of UUID text,
    ``-0x04`` and the 128 remaining hex digits of the creator's key (status-go's form)."""
    return len(chat_id) == 36 + 1 + 132 and chat_id[36:41] == "-0x04"


@dataclass(frozen=True, slots=True)
class MembershipEvent:
    """One signed event of a group. ``author`` is the signer's key (``0x04...`` hex);
    ``raw`` the serialized event as signed; ``signature`` 65 bytes. Two events are the same
    event when their signatures are equal (status-go's ``Equal``)."""

    chat_id: str
    type: EventType
    clock: int
    members: tuple[str, ...]
    name: str
    color: str
    image: bytes
    author: str
    signature: bytes
    raw: bytes

    @property
    def wire(self) -> bytes:
        """The event as it travels: signature || serialized event."""
        return self.signature + self.raw


def sign_event(
    identity: bytes,
    chat_id: str,
    type: EventType,
    clock: int,
    *,
    members: Sequence[str] = (),
    name: str = "",
    color: str = "",
    image: bytes = b"",
) -> MembershipEvent:
    """A new event signed with chat private key ``identity`` (32 bytes), as status-go's
    ``MembershipUpdateEvent.Sign``. Raises :class:`InvalidMembershipUpdate` for an empty
    chat id (status-go refuses to sign one)."""
    if not chat_id:
        raise InvalidMembershipUpdate("chat_id", "an event needs a chat id")
    message = pb.MembershipUpdateEvent(
        clock=clock,
        members=list(members),
        name=name,
        type=int(type),  # type: ignore[arg-type]
        color=color,
        image=image,
    )
    raw = message.SerializeToString()
    key = coincurve.PrivateKey(identity)
    signature = key.sign_recoverable(keccak256(chat_id.encode() + raw), hasher=None)
    return MembershipEvent(
        chat_id,
        type,
        clock,
        tuple(members),
        name,
        color,
        image,
        key_text(key.public_key.format(compressed=False)),
        signature,
        raw,
    )


def decode_event(chat_id: str, data: bytes) -> MembershipEvent:
    """One event from the wire (signature || serialized event) of group ``chat_id``; its
    author recovered from the signature. Raises :class:`InvalidMembershipUpdate`."""
    if len(data) <= SIGNATURE_LENGTH:
        raise _reject("length", f"an event of {len(data)} bytes")
    signature, raw = data[:SIGNATURE_LENGTH], data[SIGNATURE_LENGTH:]
    try:
        author = coincurve.PublicKey.from_signature_and_message(
            signature, keccak256(chat_id.encode() + raw), hasher=None
        ).format(compressed=False)
    except (ValueError, TypeError):
        raise _reject("signature", "the signature recovers no key") from None
    message = pb.MembershipUpdateEvent()
    try:
        message.ParseFromString(raw)
    except (ProtobufDecodeError, ValueError, RuntimeError):
        raise _reject("undecodable", "not a MembershipUpdateEvent") from None
    if len(message.members) > MAX_MEMBERS:
        raise _reject("too_many", f"an event naming {len(message.members)} keys")
    try:
        type = EventType(message.type)
    except ValueError:
        type = EventType.UNKNOWN  # status-go decodes it, then finds it invalid
    return MembershipEvent(
        chat_id,
        type,
        message.clock,
        tuple(message.members),
        message.name,
        message.color,
        bytes(message.image),
        "0x" + author.hex(),
        signature,
        raw,
    )


@dataclass(frozen=True, slots=True)
class MembershipUpdate:
    """A decoded ``MembershipUpdateMessage``: the group's id, its events (signatures
    checked, in wire order) and what it carries, if anything."""

    chat_id: str
    events: tuple[MembershipEvent, ...]
    message: chat_message_pb2.ChatMessage | None = None
    emoji_reaction: chat_message_pb2.EmojiReaction | None = None


def encode_update(
    chat_id: str,
    events: Iterable[MembershipEvent],
    message: chat_message_pb2.ChatMessage | None = None,
    emoji_reaction: chat_message_pb2.EmojiReaction | None = None,
) -> bytes:
    """The serialized ``MembershipUpdateMessage`` (status-go's ``EncodeMembershipUpdate``:
    every event of the group, and the message riding on them)."""
    out = pb.MembershipUpdateMessage(chat_id=chat_id, events=[e.wire for e in events])
    if message is not None:
        out.message.CopyFrom(message)
    elif emoji_reaction is not None:
        out.emoji_reaction.CopyFrom(emoji_reaction)
    return out.SerializeToString()


def decode_update(data: bytes) -> MembershipUpdate:
    """A ``MembershipUpdateMessage`` from its bytes, each event's signature checked.
    Raises :class:`InvalidMembershipUpdate` (counted in ``chat_group_rejected_updates``)."""
    message = pb.MembershipUpdateMessage()
    try:
        message.ParseFromString(data)
    except (ProtobufDecodeError, ValueError, RuntimeError):
        raise _reject("undecodable", "not a MembershipUpdateMessage") from None
    if len(message.events) > MAX_EVENTS:
        raise _reject("too_many", f"{len(message.events)} events")
    events = tuple(decode_event(message.chat_id, bytes(e)) for e in message.events)
    entity = message.WhichOneof("chat_entity")
    return MembershipUpdate(
        message.chat_id,
        events,
        message.message if entity == "message" else None,
        message.emoji_reaction if entity == "emoji_reaction" else None,
    )


def check_clocks(events: Iterable[MembershipEvent], now_ms: int) -> None:
    """status-go's ``ValidateMembershipUpdateMessage``: every clock non-zero and at most
    120 s past ``now_ms`` (wall-clock ms). Raises :class:`InvalidMembershipUpdate`."""
    for event in events:
        if event.clock == 0:
            raise _reject("clock", "an event with clock 0")
        if event.clock > now_ms + MAX_FUTURE_DRIFT_MS:
            raise _reject("clock", f"clock {event.clock} is ahead of {now_ms}")


@dataclass(frozen=True, slots=True)
class Group:
    """A private group as its events make it. ``members`` and ``admins`` are keys
    (``0x04...``) in the order they joined; ``events`` sorted by clock. Build it with
    :func:`fold` (or :meth:`apply`), never by hand."""

    chat_id: str
    creator: str
    name: str
    color: str
    image: bytes
    members: tuple[str, ...]
    admins: tuple[str, ...]
    events: tuple[MembershipEvent, ...] = field(repr=False)
    removed_at: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    """Key -> clock of the event that last removed it (a member who left or was removed)."""

    def is_member(self, key: str) -> bool:
        return key in self.members

    def is_admin(self, key: str) -> bool:
        return key in self.admins

    def was_ever_member(self, key: str) -> bool:
        """The creator, or named by a MEMBERS_ADDED event (status-go's ``WasEverMember``)."""
        return key == self.creator or any(
            e.type == EventType.MEMBERS_ADDED and key in e.members for e in self.events
        )

    @property
    def last_clock(self) -> int:
        return self.events[-1].clock if self.events else 0

    def apply(self, events: Iterable[MembershipEvent]) -> Group:
        """This group with ``events`` merged in (an event already held, by signature, is
        skipped: status-go's ``MergeMembershipUpdateEvents``), refolded from the start.
        Raises :class:`InvalidMembershipUpdate`."""
        held = {e.signature for e in self.events}
        merged = list(self.events)
        for event in events:
            if event.signature not in held:
                held.add(event.signature)
                merged.append(event)
        return fold(self.chat_id, merged)


class _State:
    """The mutable fold behind :func:`fold` (ordered sets, as status-go's ``stringSet``)."""

    def __init__(self) -> None:
        self.name = ""
        self.color = ""
        self.image = b""
        self.members: dict[str, None] = {}
        self.admins: dict[str, None] = {}
        self.removed_at: dict[str, int] = {}

    def in_group(self, key: str) -> bool:
        return key in self.admins or key in self.members

    def valid(self, event: MembershipEvent) -> bool:
        """status-go's ``Group.validateEvent``, with a bound on the group's size."""
        author = event.author
        match event.type:
            case EventType.CHAT_CREATED:
                return not self.admins and not self.members
            case EventType.NAME_CHANGED:
                return self.in_group(author) and bool(event.name)
            case EventType.COLOR_CHANGED:
                return self.in_group(author) and bool(event.color)
            case EventType.IMAGE_CHANGED:
                return self.in_group(author) and bool(event.image)
            case EventType.MEMBERS_ADDED:
                return self.in_group(author)
            case EventType.MEMBER_JOINED:
                return author in self.members
            case EventType.MEMBER_REMOVED:
                if len(event.members) != 1:
                    return False
                target = event.members[0]
                return author == target or (author in self.admins and target not in self.admins)
            case EventType.ADMINS_ADDED:
                # status-go asks only that one of the keys named be a member.
                return author in self.admins and any(m in self.members for m in event.members)
            case EventType.ADMIN_REMOVED:
                return (
                    len(event.members) == 1 and author in self.admins and author == event.members[0]
                )
            case _:
                return False

    def process(self, event: MembershipEvent) -> None:
        match event.type:
            case EventType.CHAT_CREATED:
                self.name, self.color = event.name, event.color
                self.members[event.author] = None
                self.admins[event.author] = None
            case EventType.NAME_CHANGED:
                self.name = event.name
            case EventType.COLOR_CHANGED:
                self.color = event.color
            case EventType.IMAGE_CHANGED:
                self.image = event.image
            case EventType.ADMINS_ADDED:
                self.admins.update(dict.fromkeys(event.members))
            case EventType.ADMIN_REMOVED:
                self.admins.pop(event.members[0], None)
            case EventType.MEMBERS_ADDED:
                self.members.update(dict.fromkeys(event.members))
                for key in event.members:
                    self.removed_at.pop(key, None)
            case EventType.MEMBER_REMOVED:
                key = event.members[0]
                self.admins.pop(key, None)
                self.members.pop(key, None)
                self.removed_at[key] = event.clock
            case _:
                pass


def fold(chat_id: str, events: Iterable[MembershipEvent]) -> Group:
    """The group ``chat_id`` made by ``events`` (any order: they are sorted by clock, ties
    kept in the order given), validated as status-go's ``NewGroupWithEvents``: every event of
    this chat id and valid against the state before it, the first a CHAT_CREATED, the chat id
    ending with the creator's key. Raises :class:`InvalidMembershipUpdate`."""
    ordered = sorted(events, key=lambda e: e.clock)
    if not ordered:
        raise _reject("no_events", "a group needs its CHAT_CREATED event")
    if len(ordered) > MAX_EVENTS * 10:
        raise _reject("too_many", f"a group of {len(ordered)} events")
    state = _State()
    for event in ordered:
        if event.chat_id != chat_id:
            raise _reject("chat_id", "events of another group")
        if not state.valid(event):
            raise _reject("event", f"{event.type.name} at clock {event.clock} is not allowed")
        state.process(event)
        if len(state.members) > MAX_MEMBERS:
            raise _reject("too_many", "a group over its member bound")
    first = ordered[0]
    creator = first.author
    if first.type != EventType.CHAT_CREATED:
        raise _reject("event", f"the first event is {first.type.name}")
    if not chat_id.endswith(creator) or chat_id == creator:
        raise _reject("chat_id", "the chat id does not end with its creator's key")
    if len(state.name) > MAX_TEXT or len(state.color) > MAX_TEXT or len(state.image) > MAX_IMAGE:
        raise _reject("too_large", "a name, colour or image over its bound")
    return Group(
        chat_id,
        creator,
        state.name,
        state.color,
        state.image,
        tuple(state.members),
        tuple(state.admins),
        tuple(ordered),
        dict(state.removed_at),
    )
