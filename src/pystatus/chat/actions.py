"""What a :class:`~pystatus.chat.session.ChatSession` asks its adapter to do.

Every input of the session returns a list of these, to be carried out in order. The order is
the contract: a :class:`Commit` comes before the :class:`Publish` it enables (the ratchet
steps that encrypted a payload are saved before the ciphertext leaves, a received message is
stored before its acknowledgement is queued), so an adapter that awaits each commit before
going on to the next action never sends what a crash could make it forget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pystatus.chat.database import OutboxEntry
from pystatus.chat.events import ChatEvent


@dataclass(frozen=True, slots=True)
class Publish:
    """Send one Waku message (RFC 26 version 1 ``payload`` on ``content_topic``) and tell
    the session how it went (:meth:`ChatSession.published`, with this action)."""

    content_topic: str
    payload: bytes
    timestamp_ns: int
    """The Waku message's timestamp: wall-clock nanoseconds since the epoch."""
    kind: str
    """What it carries, for the byte count: message, ack, public or control."""
    carried: tuple[str, ...] = ()
    """Ids of our messages in it (their status moves to *sent* once it left)."""
    retry: tuple[object, ...] = ()
    """What the session needs to send its contents again (opaque to the adapter)."""
    track: bool = False
    """Watch it for a store's confirmation."""


@dataclass(frozen=True, slots=True)
class Commit:
    """Write these in one transaction, then announce ``events`` (in order)."""

    outbox_added: tuple[OutboxEntry, ...] = ()
    outbox_removed: tuple[tuple[bytes, bytes], ...] = ()
    """(MVDS message id, peer public key) no longer waiting."""
    statuses: tuple[tuple[str, str], ...] = ()
    """(message id, delivery status)."""
    events: tuple[ChatEvent, ...] = ()
    sync_state: tuple[tuple[str, bytes], ...] = ()
    device_state: bytes | None = None
    """The encryption state, versioned (see :mod:`pystatus.chat.state`); only when it
    changed."""


@dataclass(frozen=True, slots=True)
class Deliver:
    """A wrapped Status message (ApplicationMetadataMessage) that arrived, for the content
    handlers (:mod:`pystatus.chat.incoming`), which read the database. Once what it changes
    is committed, the adapter calls :meth:`ChatSession.acknowledge` with ``ack``; when it is
    invalid, :meth:`ChatSession.rejected` (which acknowledges too: it will not get better)."""

    sender: bytes | None
    """The envelope's signer, who must be its author; None for a copy another device of
    ours sent (then our key must have signed the wrapper)."""
    wrapped: bytes
    public_chat: str | None = None
    """The public chat whose topic brought it."""
    ack: tuple[bytes, bytes] | None = None
    """(peer, MVDS message id) to acknowledge once stored."""
    own_copy: bool = False
    contact_code: bool = False
    """It came on someone's contact-code topic."""
    bare: bool = False
    """It came without the encryption layer (no ProtocolMessage), as status-go sends a
    community's messages; its wrapper may be signed by a community key, not ``sender``."""


@dataclass(frozen=True, slots=True)
class CheckStored:
    """Ask the store which of ``hashes`` (RFC 14 hashes of what we published) it holds;
    answer with :meth:`ChatSession.store_answer` (or ``store_failed``)."""

    hashes: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SyncHistory:
    """Ask the store for what reached our topics since ``start_ns`` that we did not see
    (wall-clock ns), feed each new message to :meth:`ChatSession.receive`, then call
    :meth:`ChatSession.history_synced` (or ``store_failed``)."""

    content_topics: tuple[str, ...]
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class Listen:
    """Content topics the session listens on from now on (a negotiated secret was agreed):
    the adapter asks the transport to deliver them."""

    content_topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AdvertiseContactCode:
    """Our bundle is due on our contact-code topic (every 6 hours, and after a restart):
    the adapter builds the advertisement (it holds the profile) and hands it to
    :meth:`ChatSession.contact_code`."""


@dataclass(frozen=True, slots=True)
class AnnounceDevice:
    """A device of ours we did not know wrote: tell it about us in turn."""


Action = (
    Publish
    | Commit
    | Deliver
    | CheckStored
    | SyncHistory
    | Listen
    | AdvertiseContactCode
    | AnnounceDevice
)


@dataclass(slots=True)
class Actions:
    """A list of actions being built (internal helper with typed appends)."""

    items: list[Action] = field(default_factory=list)

    def add(self, action: Action) -> None:
        self.items.append(action)
