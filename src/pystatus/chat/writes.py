"""The messenger's database writer, and one unit of it: what to store, announce and do once
stored."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pystatus.chat.database import (
    Batch,
    ChatDatabase,
    ContactRecord,
    OutboxEntry,
    StoredMessage,
    StoredReaction,
)
from pystatus.chat.events import ChatEvent
from pystatus.chat.ids import OneToOneChatId
from pystatus.chat.keys import chat_key_text
from pystatus.errors import ChatError

log = logging.getLogger(__name__)

ONE_TO_ONE = "one_to_one"


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


class DatabaseWriter:
    """The messenger's one database writer: writes queue (bounded), and whatever is queued
    when the writer comes round commits in one transaction (group commit); then each write's
    future resolves, its ``after`` runs (acknowledgements) and its events are announced.

    A batch the database refuses fails its writes' futures (a :class:`ChatError`); received
    messages in it stay unacknowledged, so their senders send them again.
    """

    def __init__(
        self,
        database: ChatDatabase,
        *,
        capacity: int,
        device_state: Callable[[], bytes | None],
        state_lost: Callable[[], None],
        contacts: Callable[[], list[ContactRecord]],
        announce: Callable[[ChatEvent], None],
        acknowledged: Callable[[], None],
    ) -> None:
        """``device_state``: the encryption state when it changed since last asked;
        ``state_lost``: a batch holding it failed; ``contacts``: contacts changed since last
        asked; ``acknowledged``: writes with an ``after`` committed (acknowledgements due)."""
        self.database = database
        self.queue: asyncio.Queue[Write] = asyncio.Queue(capacity)
        self.in_flight: list[Write] = []
        self._device_state = device_state
        self._state_lost = state_lost
        self._contacts = contacts
        self._announce = announce
        self._acknowledged = acknowledged

    async def commit(self, write: Write) -> None:
        """Queue ``write`` (waiting for room: back-pressure) and wait until committed."""
        write.committed = asyncio.get_running_loop().create_future()
        await self.queue.put(write)
        await write.committed

    def put_nowait(self, write: Write) -> bool:
        """Queue without waiting (a received message's write); False when full."""
        try:
            self.queue.put_nowait(write)
        except asyncio.QueueFull:
            return False
        return True

    def fail(self, failure: ChatError) -> None:
        """The messenger stopped: every write waiting gets ``failure``."""
        for write in self.in_flight:
            if write.committed is not None and not write.committed.done():
                write.committed.set_exception(failure)
        while not self.queue.empty():
            write = self.queue.get_nowait()
            if write.committed is not None and not write.committed.done():
                write.committed.set_exception(failure)
            self.queue.task_done()

    def _batch(self, writes: list[Write]) -> Batch:
        states = [w.device_state for w in writes if w.device_state is not None]
        current = self._device_state()
        batch = Batch(
            messages=[w.stored for w in writes if w.stored is not None],
            # The ratchet steps these messages took commit with them (when there were any).
            device_state=current if current is not None else (states[-1] if states else None),
            contacts=self._contacts(),
        )
        for write in writes:
            if write.extra is not None:
                batch.merge(write.extra)
            batch.outbox_added += write.outbox_added
            batch.outbox_removed += write.outbox_removed
            batch.statuses += write.statuses
            batch.sync_state.update(write.sync_state)
        return batch

    async def _prepare(self, writes: list[Write]) -> None:
        for write in writes:
            if write.resolve is not None:
                await write.resolve(write)
            event = write.event
            if event is not None and write.extra is None and event.chat_id.startswith("0x"):
                with contextlib.suppress(ValueError, ChatError):  # an id naming no key
                    chat = OneToOneChatId.of(bytes.fromhex(event.chat_id[2:]))
                    await self.database.upsert_chat(
                        chat.text, ONE_TO_ONE, chat_key_text(chat.public_key), active=event.outgoing
                    )

    async def run(self) -> None:
        while True:
            writes = [await self.queue.get()]
            while not self.queue.empty():
                writes.append(self.queue.get_nowait())
            self.in_flight = writes
            try:
                await self._prepare(writes)
                added = iter(await self.database.commit(self._batch(writes)))
            except (ChatError, sqlite3.Error, OSError) as exc:
                log.error("chat database write failed: %s", exc)
                self._state_lost()
                failure = ChatError(f"the chat database failed: {exc}")
                for write in writes:
                    if write.committed is not None and not write.committed.done():
                        write.committed.set_exception(failure)
                    self.queue.task_done()
                continue
            self.in_flight = []
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
                self.queue.task_done()
            if any(w.after is not None for w in writes):
                self._acknowledged()
