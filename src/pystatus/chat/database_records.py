"""The rows the chat database reads and writes (see :mod:`pystatus.chat.database`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    chat_id: str
    author: str
    clock: int
    timestamp: int
    body: bytes
    """The ChatMessage; once edited, the edited one."""
    status: str | None = None
    edited_at: int = 0
    """The clock of the edit that gave ``body`` (0: never edited)."""
    deleted: bool = False
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A message waiting for a peer's data sync acknowledgement."""

    sync_id: bytes
    peer: bytes
    message_id: str
    group_id: bytes
    timestamp: int
    body: bytes


@dataclass(frozen=True, slots=True)
class ChatRow:
    """A chat to create, or to make active: ``active`` False only creates it inactive
    (a chat never falls back into requests by an upsert)."""

    id: str
    kind: str
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class ContactRecord:
    chat_key: str
    added_at: int
    """When the contact was first seen or added (ns since the epoch)."""
    request_state: str
    """The contact-request state, JSON (see :mod:`pystatus.chat.contacts`)."""
    display_name: str = ""
    name_clock: int = 0


@dataclass(frozen=True, slots=True)
class EditRecord:
    message_id: str
    body: bytes
    """The edited ChatMessage."""
    clock: int


@dataclass(frozen=True, slots=True)
class PinRecord:
    chat_id: str
    message_id: str
    pinned: bool
    clock: int
    author: str


@dataclass(slots=True)
class Batch:
    """Everything one commit writes."""

    messages: list[StoredMessage | StoredReaction] = field(default_factory=list)
    device_state: bytes | None = None
    outbox_added: list[OutboxEntry] = field(default_factory=list)
    outbox_removed: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    sync_state: dict[str, bytes] = field(default_factory=dict)
    chats: list[ChatRow] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    edits: list[EditRecord] = field(default_factory=list)
    """Applied only when newer than the message's last edit."""
    deletes: list[str] = field(default_factory=list)
    pins: list[PinRecord] = field(default_factory=list)
    """Applied only when newer than the chat's last pin of that message."""

    def merge(self, other: Batch) -> None:
        """Take ``other``'s chats, contacts, edits, deletes, pins and sync state (not its
        messages: a commit reports on those one by one, in order)."""
        if other.messages:
            raise ValueError("messages are not merged")
        self.outbox_added += other.outbox_added
        self.outbox_removed += other.outbox_removed
        self.statuses += other.statuses
        self.sync_state.update(other.sync_state)
        self.chats += other.chats
        self.contacts += other.contacts
        self.edits += other.edits
        self.deletes += other.deletes
        self.pins += other.pins


@dataclass(frozen=True, slots=True)
class StoredReaction:
    message_id: str
    author: str
    type: int
    clock: int
    retracted: bool


@dataclass(frozen=True, slots=True)
class Chat:
    id: str
    kind: str
    name: str
    last_clock: int
    active: bool = True
    """False: a 1:1 chat in "requests" (someone we have not added wrote first)."""
