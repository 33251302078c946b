"""/chat/v1: the node's account chatting over its own relay (with `pystatus node --chat`)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.messenger import ChatEvent, Messenger

MAX_TEXT = 4096
EVENT_LOG = 10_000
MAX_WAIT = 10.0


class AccountInfo(BaseModel):
    chatKey: str
    walletAddress: str
    installationId: str


class ChatInfo(BaseModel):
    id: str
    kind: str
    name: str


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


class EventJson(ChatMessageJson):
    seq: int
    kind: str = Field(description="message, contact_request, reaction or status")
    reaction: int
    seenAt: int = Field(description="When this node had it, in ms since the epoch")


class EventsJson(BaseModel):
    next: int = Field(description="Pass as `since` to get what follows")
    events: list[EventJson]


class SendBody(BaseModel):
    to: str = Field(description="The recipient's chat key (zQ3...)")
    text: str = Field(max_length=MAX_TEXT)
    responseTo: str = ""


class PublicSendBody(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    responseTo: str = ""


class SentJson(BaseModel):
    id: str


_BAD: dict[int | str, dict[str, Any]] = {400: {"description": "Bad chat key or text"}}


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
    )


class EventLog:
    """The messenger's recent events, numbered, for clients that poll."""

    def __init__(self, messenger: Messenger) -> None:
        self._events: collections.deque[EventJson] = collections.deque(maxlen=EVENT_LOG)
        self._next = 1
        self._arrived = asyncio.Event()
        messenger.add_listener(self._add)

    def _add(self, event: ChatEvent) -> None:
        base = _json(event)
        self._events.append(
            EventJson(
                **base.model_dump(),
                seq=self._next,
                kind=event.kind,
                reaction=event.reaction,
                seenAt=time.time_ns() // 10**6,
            )
        )
        self._next += 1
        self._arrived.set()
        self._arrived = asyncio.Event()

    async def since(self, seq: int, wait: float) -> EventsJson:
        if self._next <= seq and wait > 0:
            arrived = self._arrived
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await arrived.wait()
        events = [e for e in self._events if e.seq >= seq]
        return EventsJson(next=self._next, events=events)


def _public_name(name: str) -> str:
    if not name or len(name) > 100 or not name.isprintable():
        raise ApiError(400, "a public chat name is 1 to 100 printable characters")
    return name


def chat_routes(messenger: Messenger) -> APIRouter:
    router = APIRouter(tags=["chat"])
    log = EventLog(messenger)

    @router.get("/chat/v1/account")
    async def account() -> AccountInfo:
        return AccountInfo(
            chatKey=messenger.chat_key,
            walletAddress=messenger.account.wallet_address,
            installationId=messenger.installation_id,
        )

    @router.get("/chat/v1/chats")
    async def chats() -> list[ChatInfo]:
        return [ChatInfo(id=i, kind=k, name=n) for i, k, n in await messenger.chats()]

    @router.get("/chat/v1/chats/{chatId}/messages")
    async def history(
        chatId: str, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[ChatMessageJson]:
        return [_json(event) for event in await messenger.history(chatId, limit)]

    @router.post("/chat/v1/messages", responses=_BAD)
    async def send(body: SendBody) -> SentJson:
        try:
            return SentJson(
                id=await messenger.send(body.to, body.text, response_to=body.responseTo)
            )
        except InvalidChatKey as exc:
            raise ApiError(400, str(exc)) from None

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

    @router.get("/chat/v1/events")
    async def events(
        since: Annotated[int, Query(ge=0, description="The first sequence number wanted")] = 0,
        wait: Annotated[
            float, Query(ge=0, le=MAX_WAIT, description="Seconds to wait for one to arrive")
        ] = 0.0,
    ) -> EventsJson:
        """Messages received and delivery status changes, numbered from 1 (long poll)."""
        return await log.since(since, wait)

    @router.post("/chat/v1/public/{name}/messages", responses=_BAD)
    async def send_public(name: str, body: PublicSendBody) -> SentJson:
        message_id = await messenger.send_public(
            _public_name(name), body.text, response_to=body.responseTo
        )
        return SentJson(id=message_id)

    @router.post("/chat/v1/public/{name}", responses=_BAD)
    async def join(name: str) -> ChatInfo:
        chat_id = await messenger.join_public_chat(_public_name(name))
        return ChatInfo(id=chat_id, kind="public", name=name)

    return router
