"""/chat/v1: the node's account chatting over its own relay (with `pystatus node --chat`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.chat.community_chats import CommunityNotAllowed
from pystatus.chat.contacts import ContactInfo
from pystatus.chat.content import ContentError
from pystatus.chat.database import MAX_QUERY_LENGTH, MAX_SEARCH_LIMIT, InvalidSearch
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.errors import InvalidChatKey, NotPermitted, UnknownMessage
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.search import search_events
from pystatus.chat.user_input import (
    MAX_TEXT_LENGTH,
    InvalidChatName,
    normalize_public_chat_name,
    parse_chat_key,
)
from pystatus.node.datadir import DataDirError, DataDirUnusable, unusable, write_private

MAX_TEXT = MAX_TEXT_LENGTH  # one limit for the CLI and REST: status-go's ValidateText
EVENT_LOG = 10_000
MAX_WAIT = 10.0
EVENT_SEQ_FILE = "events.seq"
EVENT_SEQ_BLOCK = 1000
"""Sequence numbers reserved per write of :data:`EVENT_SEQ_FILE`: one small file write per
thousand events, and a restart skips at most this many numbers."""

_log = logging.getLogger(__name__)


class AccountInfo(BaseModel):
    chatKey: str
    walletAddress: str
    installationId: str
    displayName: str = ""


class ChatInfo(BaseModel):
    id: str
    kind: str
    name: str
    active: bool = Field(
        default=True, description="False: a 1:1 chat in requests (someone we have not added wrote)"
    )


class ChatMessageJson(BaseModel):
    id: str
    chatId: str
    author: str
    text: str
    clock: int
    timestamp: int
    responseTo: str
    outgoing: bool
    status: str = Field(
        description="Ours only: pending, sent (a relay peer took it), stored (a store node "
        "holds it), delivered (a recipient's device acknowledged it), failed (resend it)"
    )
    displayName: str = Field(default="", description="The display name the author sent with it")
    contentType: int = Field(
        default=0, description="1 text, 2 sticker, 7 image, 8 audio, 11 contact request, ..."
    )
    edited: bool = False
    deleted: bool = False
    pinned: bool = False


class EventJson(ChatMessageJson):
    seq: int
    kind: str = Field(
        description="message, contact_request, reaction, status, edit, delete, pin (the "
        "message `id` names) or contact (`id` is the contact's chat key)"
    )
    reaction: int
    contactState: str = Field(
        default="", description="For contact: none, sent, received, mutual or dismissed"
    )
    seenAt: int = Field(description="When this node had it, in ms since the epoch")


class ContactJson(BaseModel):
    chatKey: str
    chatId: str
    state: str = Field(
        description="none, sent (we asked), received (they asked), mutual or dismissed "
        "(we declined)"
    )
    mutual: bool
    added: bool = Field(description="We asked them or accepted their request")
    hasAddedUs: bool
    displayName: str
    requestId: str = Field(description="Their latest contact request's message id")


class ContactRequestBody(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="The introduction")


class EditBody(BaseModel):
    text: str = Field(max_length=MAX_TEXT)


class PinBody(BaseModel):
    pinned: bool = Field(default=True, description="False unpins")


class DisplayNameBody(BaseModel):
    displayName: str = Field(
        max_length=100, description="5 to 24 letters, digits, _, - or spaces; empty clears it"
    )


class EventsJson(BaseModel):
    next: int = Field(description="Pass as `since` to get what follows")
    events: list[EventJson]


class SendBody(BaseModel):
    to: str = Field(description="The recipient's chat key: zQ3..., or 0x04... / 0x02... hex")
    text: str = Field(max_length=MAX_TEXT)
    responseTo: str = ""


class PublicSendBody(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    responseTo: str = ""


class SentJson(BaseModel):
    id: str


_BAD: dict[int | str, dict[str, Any]] = {400: {"description": "Bad chat key or text"}}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_REFUSED: dict[int | str, dict[str, Any]] = {
    **_BAD,
    409: {
        "description": "Not for this message or contact: someone else's message, content "
        "that cannot be edited or deleted, no contact request to answer",
        "content": _TEXT,
    },
}


@contextlib.contextmanager
def _answers() -> Iterator[None]:
    """The messenger's refusals as answers: 400 bad input, 404 no such message, 409 not
    applicable."""
    try:
        yield
    except (InvalidChatKey, ContentError) as exc:
        raise ApiError(400, str(exc)) from None
    except UnknownMessage as exc:
        raise ApiError(404, str(exc)) from None
    except (NotPermitted, CommunityNotAllowed) as exc:  # a community's rules included
        raise ApiError(409, str(exc)) from None


def _json(event: ChatEvent) -> ChatMessageJson:
    return ChatMessageJson(
        id=event.id,
        chatId=event.chat_id,
        author=event.author,
        text=event.text,
        clock=event.clock,
        timestamp=event.timestamp,
        responseTo=event.response_to,
        outgoing=event.outgoing,
        status=event.status,
        displayName=event.display_name,
        contentType=event.content_type,
        edited=event.edited,
        deleted=event.deleted,
        pinned=event.pinned,
    )


def _contact(person: ContactInfo) -> ContactJson:
    return ContactJson(
        chatKey=person.chat_key,
        chatId=person.chat_id,
        state=person.state,
        mutual=person.mutual,
        added=person.added,
        hasAddedUs=person.has_added_us,
        displayName=person.display_name,
        requestId=person.request_id,
    )


class EventLog:
    """The messenger's recent events, numbered, for clients that poll ``since``.

    The numbers keep growing across restarts, so a client that read up to ``next`` before one
    is given what came after, never old events again nor nothing: ``<account dir>/events.seq``
    (0600) holds a number above every one handed out, reserved :data:`EVENT_SEQ_BLOCK` at a
    time, and the next run starts from it. The events themselves live in memory only (the
    last :data:`EVENT_LOG`); what a client missed while the node was down it reads from the
    chats' history.

    Raises DataDirUnusable when the file cannot be read, DataDirError when it holds no number.
    """

    def __init__(self, messenger: Messenger, directory: Path | None = None) -> None:
        self._events: collections.deque[EventJson] = collections.deque(maxlen=EVENT_LOG)
        self._directory = directory if directory is not None else messenger.account.directory
        self._next = self._reserved = self._load()
        self._failing = False
        self._arrived = asyncio.Event()
        messenger.add_listener(self._add)

    def _load(self) -> int:
        try:
            raw = (self._directory / EVENT_SEQ_FILE).read_bytes()
        except FileNotFoundError:
            return 1
        except OSError as exc:
            raise unusable(self._directory, f"read {EVENT_SEQ_FILE}", exc) from None
        text = raw.decode("ascii", errors="replace")
        if not text.strip().isdigit() or int(text) < 1:
            raise DataDirError(
                f"{self._directory / EVENT_SEQ_FILE} holds no event number (remove it: event "
                "numbers then start again from 1)"
            )
        return int(text)

    def _reserve(self) -> None:
        """Write down a number above the one about to be handed out, before handing it out."""
        wanted = self._next + EVENT_SEQ_BLOCK
        try:
            write_private(self._directory, EVENT_SEQ_FILE, f"{wanted}\n")
        except DataDirUnusable as exc:
            # Counted by the data dir's error metric (each try), logged once until it works
            # again; the next event tries again. Numbers go on meanwhile: after a restart
            # they may then repeat ones handed out.
            if not self._failing:
                _log.warning("event numbers not kept across restarts: %s", exc)
            self._failing = True
            return
        if self._failing:
            _log.warning("event numbers are kept across restarts again")
        self._failing = False
        self._reserved = wanted

    def _add(self, event: ChatEvent) -> None:
        if self._next >= self._reserved:
            self._reserve()
        base = _json(event)
        self._events.append(
            EventJson(
                **base.model_dump(),
                seq=self._next,
                kind=event.kind,
                reaction=event.reaction,
                contactState=event.contact_state,
                seenAt=time.time_ns() // 10**6,
            )
        )
        self._next += 1
        self._arrived.set()
        self._arrived = asyncio.Event()

    @property
    def next_seq(self) -> int:
        """The number the next event gets."""
        return self._next

    async def since(self, seq: int, wait: float) -> EventsJson:
        """Events numbered ``seq`` or more; with none yet, wait up to ``wait`` seconds for one.

        After a restart a ``seq`` from the last run is below every new number: nothing is
        kept from before, so this waits too, instead of answering at once with nothing.
        """
        if (not self._events or self._events[-1].seq < seq) and wait > 0:
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await arrived.wait()
        events = [e for e in self._events if e.seq >= seq]
        return EventsJson(next=self._next, events=events)


def _public_name(name: str) -> str:
    """The name as the Status app (and ``pystatus chat public``) would join it: ``#Status`` is
    ``status``, so a bot and an app user meet in one chat. 400 for what the app would refuse."""
    if len(name) > 100:
        raise ApiError(400, "a public chat name is at most 100 characters")
    try:
        return normalize_public_chat_name(name)
    except InvalidChatName as exc:
        raise ApiError(400, str(exc)) from None


def chat_routes(messenger: Messenger) -> APIRouter:
    router = APIRouter(tags=["chat"])
    log = EventLog(messenger)

    @router.get("/chat/v1/account")
    async def account() -> AccountInfo:
        return AccountInfo(
            chatKey=messenger.chat_key,
            walletAddress=messenger.account.wallet_address,
            installationId=messenger.installation_id,
            displayName=messenger.display_name,
        )

    @router.post("/chat/v1/account/display-name", responses=_BAD)
    async def display_name(body: DisplayNameBody) -> AccountInfo:
        """Set our display name: it goes to our contacts and into our contact code."""
        with _answers():
            await messenger.set_display_name(body.displayName)
        return await account()

    @router.get("/chat/v1/chats")
    async def chats() -> list[ChatInfo]:
        return [
            ChatInfo(id=c.id, kind=c.kind, name=c.name, active=c.active)
            for c in await messenger.database.chats()
        ]

    @router.get("/chat/v1/contacts")
    async def contacts() -> list[ContactJson]:
        """Everyone we have a record of, with their contact-request state."""
        return [_contact(person) for person in await messenger.contacts()]

    @router.get("/chat/v1/requests")
    async def requests() -> list[ContactJson]:
        """Contact requests to answer, and people whose chat sits in requests."""
        return [_contact(person) for person in await messenger.requests()]

    @router.post("/chat/v1/contacts/{chatKey}/request", responses=_REFUSED)
    async def contact_request(chatKey: str, body: ContactRequestBody) -> SentJson:
        """Ask someone to become a contact; returns the request's message id."""
        with _answers():
            return SentJson(id=await messenger.send_contact_request(chatKey, body.text))

    @router.post("/chat/v1/contacts/{chatKey}/accept", responses=_REFUSED)
    async def accept(chatKey: str) -> ContactJson:
        with _answers():
            await messenger.accept_contact_request(chatKey)
            return _contact(await messenger.contact(chatKey))

    @router.post("/chat/v1/contacts/{chatKey}/decline", responses=_REFUSED)
    async def decline(chatKey: str) -> ContactJson:
        with _answers():
            await messenger.decline_contact_request(chatKey)
            return _contact(await messenger.contact(chatKey))

    @router.post("/chat/v1/contacts/{chatKey}/retract", responses=_REFUSED)
    async def retract(chatKey: str) -> ContactJson:
        """Remove a contact, or take back our request."""
        with _answers():
            await messenger.retract_contact_request(chatKey)
            return _contact(await messenger.contact(chatKey))

    @router.get("/chat/v1/chats/{chatId}/messages")
    async def history(
        chatId: str, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[ChatMessageJson]:
        return [_json(event) for event in await messenger.history(chatId, limit)]

    @router.get("/chat/v1/search", responses=_BAD)
    async def search(
        q: Annotated[
            str,
            Query(
                min_length=1,
                max_length=MAX_QUERY_LENGTH,
                description="Words to find, all of them; taken as plain text (no syntax)",
            ),
        ],
        limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = 50,
    ) -> list[ChatMessageJson]:
        """Messages whose text holds every word of ``q`` (case and accents ignored), newest
        first; deleted ones never, edited ones by their new text. 400 for a blank ``q``."""
        try:
            # Messenger.search is on its way; until then the database's rows, as history reads.
            found = await search_events(messenger.database, messenger.chat_key, q, limit)
        except InvalidSearch as exc:
            raise ApiError(400, str(exc)) from None
        return [_json(event) for event in found]

    @router.post("/chat/v1/messages", responses=_BAD)
    async def send(body: SendBody) -> SentJson:
        with _answers():
            return SentJson(
                id=await messenger.send(
                    parse_chat_key(body.to), body.text, response_to=body.responseTo
                )
            )

    @router.get("/chat/v1/messages/{messageId}")
    async def message(messageId: str) -> ChatMessageJson:
        event = await messenger.message(messageId)
        if event is None:
            raise ApiError(404, f"no message {messageId}")
        return _json(event)

    @router.post(
        "/chat/v1/messages/{messageId}/resend",
        responses={409: {"description": "The message has not failed"}},
    )
    async def resend(messageId: str) -> SentJson:
        event = await messenger.message(messageId)
        if event is None or not event.outgoing:
            raise ApiError(404, f"no message {messageId} of ours")
        if event.status != DeliveryStatus.FAILED:
            raise ApiError(409, f"message {messageId} is {event.status or 'not ours'}")
        await messenger.resend(messageId)
        return SentJson(id=messageId)

    @router.post("/chat/v1/messages/{messageId}/edit", responses=_REFUSED)
    async def edit(messageId: str, body: EditBody) -> SentJson:
        """Replace the text of a message of ours."""
        with _answers():
            await messenger.edit(messageId, body.text)
        return SentJson(id=messageId)

    @router.post("/chat/v1/messages/{messageId}/delete", responses=_REFUSED)
    async def delete(messageId: str) -> SentJson:
        """Delete a message of ours for everyone."""
        with _answers():
            await messenger.delete(messageId)
        return SentJson(id=messageId)

    @router.post("/chat/v1/messages/{messageId}/pin", responses=_REFUSED)
    async def pin(messageId: str, body: PinBody) -> SentJson:
        """Pin a message in its chat (or unpin it)."""
        with _answers():
            await messenger.pin(messageId, body.pinned)
        return SentJson(id=messageId)

    @router.get("/chat/v1/events")
    async def events(
        since: Annotated[int, Query(ge=0, description="The first sequence number wanted")] = 0,
        wait: Annotated[
            float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for one to arrive")
        ] = 0.0,
    ) -> EventsJson:
        """Messages received and delivery status changes, numbered from 1 (long poll); the
        numbers keep growing across restarts (a restart may skip some)."""
        return await log.since(since, wait)

    @router.post("/chat/v1/public/{name}/messages", responses=_BAD)
    async def send_public(name: str, body: PublicSendBody) -> SentJson:
        with _answers():
            message_id = await messenger.send_public(
                _public_name(name), body.text, response_to=body.responseTo
            )
        return SentJson(id=message_id)

    @router.post("/chat/v1/public/{name}", responses=_BAD)
    async def join(name: str) -> ChatInfo:
        joined = _public_name(name)
        chat_id = await messenger.join_public_chat(joined)
        return ChatInfo(id=chat_id, kind="public", name=joined)

    return router
