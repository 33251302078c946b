"""One unit of the messenger's database writer: what to store, announce and do once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pystatus.chat.database import Batch, OutboxEntry, StoredMessage, StoredReaction
from pystatus.chat.events import ChatEvent


@dataclass(slots=True)
class Write:
    stored: StoredMessage | StoredReaction | None = None
    event: ChatEvent | None = None
    """Announced once committed, if ``stored`` was new."""
    committed: asyncio.Future[None] | None = None
    after: Callable[[], None] | None = None
    """Run once the write is committed (acknowledging what was received)."""
    outbox_added: list[OutboxEntry] = field(default_factory=list)
    outbox_removed: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[str, str]] = field(default_factory=list)
    status_events: list[ChatEvent] = field(default_factory=list)
    sync_state: dict[str, bytes] = field(default_factory=dict)
    device_state: bytes | None = None
    """The encryption state, when the session says it changed (the newest in a batch wins)."""
    extra: Batch | None = None
    """Chats, edits, deletes and pins written with it; a write with ``extra`` names the chat
    of its ``event`` in it (the writer does not create that chat)."""
    events: list[ChatEvent] = field(default_factory=list)
    """Announced once committed, after ``event``."""
    resolve: Callable[[Write], Awaitable[None]] | None = None
    """Run by the writer, in queue order, before the batch is built: fills in the rest
    (received messages whose handling reads the database)."""

    def then(self, action: Callable[[], None]) -> None:
        """Run ``action`` too once committed (after what ``after`` did already)."""
        before = self.after

        def both() -> None:
            if before is not None:
                before()
            action()

        self.after = both
