"""The messenger's reading side: the store (confirmations and history) and the database
(chats, history, search, delivery status).

A base class of :class:`~pystatus.chat.messenger.Messenger` (its methods are the messenger's).
Store queries run as supervised tasks the session asked for (:class:`CheckStored`,
:class:`SyncHistory`); an unreachable store is an expected failure: logged, and asked again a
few seconds later (:meth:`ChatSession.store_failed`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from pystatus.chat.actions import Action, CheckStored, SyncHistory
from pystatus.chat.database import ChatDatabase, StoredMessage
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.events import ChatEvent, ContactRequestEvent, MessageEvent, message_event
from pystatus.chat.history import HistoryFetcher
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.session import ChatSession
from pystatus.chat.transport import Transport
from pystatus.errors import ChatError, PystatusError

log = logging.getLogger("pystatus.chat.messenger")

PUBLIC = "public"


class Reading:
    session: ChatSession
    database: ChatDatabase
    fetcher: HistoryFetcher | None
    transport: Transport
    _chat_key: str
    _wake: asyncio.Event
    _pubsub_for: Callable[[str], str]

    if TYPE_CHECKING:  # provided by the Messenger these are mixed into

        def _check_running(self) -> None: ...

        def _perform_later(self, actions: list[Action]) -> None: ...

        async def _perform(self, actions: list[Action]) -> None: ...

    # -- the store --------------------------------------------------------------------------

    async def _check_stored(self, action: CheckStored) -> None:
        assert self.fetcher is not None
        try:
            found = await self.fetcher.stored(list(action.hashes))
        except (PystatusError, OSError, TimeoutError) as exc:
            log.info("store unreachable: %s", exc)
            self.session.store_failed(time.monotonic())
        else:
            self.transport.store_verdict(action.hashes, found)
            self._perform_later(self.session.store_answer(found, time.monotonic()))
        self._wake.set()

    async def _history(self, query: SyncHistory) -> None:
        try:
            await self._run_history(query)
        except (PystatusError, OSError, TimeoutError) as exc:
            log.info("store unreachable: %s", exc)
            self.session.store_failed(time.monotonic(), history=True)
            self._wake.set()

    async def _run_history(self, query: SyncHistory) -> int:
        assert self.fetcher is not None
        by_pubsub: dict[str, list[str]] = defaultdict(list)
        for content_topic in query.content_topics:
            by_pubsub[self._pubsub_for(content_topic)].append(content_topic)
        fetched = 0
        for pubsub_topic, content_topics in by_pubsub.items():
            entries = await self.fetcher.missed(
                pubsub_topic, content_topics, query.start_ns, query.end_ns, self.session.seen
            )
            for entry in entries:
                assert entry.message is not None
                new = not self.session.seen(entry.hash)
                self.fetcher.count(new)
                if new:
                    fetched += 1
                    actions = self.session.receive(entry.message, entry.hash, time.monotonic())
                    await self._perform(actions)
        await self._perform(self.session.history_synced(query, time.monotonic()))
        return fetched

    async def sync_history(self) -> int:
        """Fetch from the store what reached our topics since we were last in sync and we
        did not see; returns how many messages that was. Raises :class:`ChatError` without a
        store, and the store's errors."""
        if self.fetcher is None:
            raise ChatError("no store node to fetch history from")
        self._check_running()
        return await self._run_history(self.session.history_query(time.monotonic(), time.time_ns()))

    # -- reading ----------------------------------------------------------------------------

    async def chats(self) -> list[tuple[str, str, str]]:
        """(chat id, kind, name) of every chat, most recently active first (public chats
        left are not listed)."""
        return [
            (c.id, c.kind, c.name)
            for c in await self.database.chats()
            if c.kind != PUBLIC or c.active
        ]

    async def history(self, chat_id: str, limit: int = 50) -> list[ChatEvent]:
        return [self._event(s) for s in await self.database.history(chat_id, limit)]

    async def message(self, message_id: str) -> ChatEvent | None:
        stored = await self.database.message(message_id)
        return None if stored is None else self._event(stored)

    async def search(self, query: str, limit: int = 50) -> list[MessageEvent | ContactRequestEvent]:
        """Messages whose text holds every word of ``query``, newest first
        (:meth:`ChatDatabase.search`: its errors, :class:`ChatError` subclasses)."""
        return [self._event(s) for s in await self.database.search(query, limit)]

    def _event(self, stored: StoredMessage) -> MessageEvent | ContactRequestEvent:
        message = chat_message_pb2.ChatMessage.FromString(stored.body)
        return message_event(stored, message, stored.author == self._chat_key)

    def status(self, message_id: str) -> DeliveryStatus | None:
        """The delivery status of a message we sent (since this process started or still
        unfinished when it did; :meth:`message` reads the stored one)."""
        return self.session.tracker.status(message_id)
