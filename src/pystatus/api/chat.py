"""/chat/v1: the node's account chatting over its own relay (with `pystatus node --chat`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.messenger import ChatEvent, Messenger

MAX_TEXT = 4096


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
    )


def _public_name(name: str) -> str:
    if not name or len(name) > 100 or not name.isprintable():
        raise ApiError(400, "a public chat name is 1 to 100 printable characters")
    return name


def chat_routes(messenger: Messenger) -> APIRouter:
    router = APIRouter(tags=["chat"])

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
