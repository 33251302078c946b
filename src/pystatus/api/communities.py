"""/chat/v1/communities: the node's account in communities (with `pystatus node --chat`).

Communities are status-go's (:mod:`pystatus.chat.messenger_community`); ids are the
community's (``0x02...``/``0x03...``), channels are named by their chat id (community id +
channel id), members by chat key. Refusals: 400 for a malformed id, key or text; 404 for a
community this account does not know; 409 for what the community does not allow (a change by
someone who does not control it, a post in a read-only channel, a banned member).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pystatus.api.errors import ApiError
from pystatus.chat.community import Community, InvalidCommunity
from pystatus.chat.community_actions import GENERAL, category_named
from pystatus.chat.community_chats import CommunityNotAllowed
from pystatus.chat.content import ContentError
from pystatus.chat.errors import InvalidChatKey, NotPermitted, UnknownGroupKey, UnknownMessage
from pystatus.chat.keys import chat_key_text
from pystatus.chat.messenger import Messenger
from pystatus.chat.user_input import MAX_TEXT_LENGTH

_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_REFUSED: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad id, chat key or text", "content": _TEXT},
    404: {"description": "No such community in this account", "content": _TEXT},
    409: {"description": "Not allowed in this community", "content": _TEXT},
}


class ChannelJson(BaseModel):
    chatId: str
    name: str
    description: str = ""
    categoryId: str = ""
    category: str = Field(default="", description="The category's name (empty: none)")
    position: int = Field(default=0, description="The channel's place in its category")
    readOnly: bool = Field(
        description="Only privileged members post (a CAN_VIEW_CHANNEL permission)"
    )


class MemberJson(BaseModel):
    chatKey: str
    privileged: bool = Field(description="Owner, admin or token master")
    roles: list[str] = Field(
        default=[], description="owner, admin, token_master (status-go's MemberRole values)"
    )


class CommunityJson(BaseModel):
    id: str = Field(description="0x + the compressed community key")
    name: str
    description: str = ""
    access: str = Field(description="open (AUTO_ACCEPT) or manual (MANUAL_ACCEPT)")
    clock: int
    joined: bool
    controlled: bool = Field(description="This account is its control node")
    encrypted: bool = Field(default=False, description="Its posts go under the hash ratchet")
    members: list[MemberJson]
    banned: list[str]
    channels: list[ChannelJson]


class CreateBody(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    description: str = Field(default="", max_length=140)
    manualAccept: bool = False
    general: bool = Field(
        default=True,
        description="Add the channel #general, as the Status app does (status-go's"
        " CreateCommunity with createDefaultChannel)",
    )
    encrypted: bool = Field(
        default=False,
        description="Posts under a hash ratchet key the control node sends to each member it"
        " admits and rotates on a ban or departure (status-go reads it as token-gated; pair it"
        " with manualAccept: pystatus checks no token balances)",
    )


class ChannelBody(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    readOnly: bool = False
    category: str = Field(
        default="",
        max_length=30,
        description="The category's name: the channel goes into it (made when new)",
    )


class MemberBody(BaseModel):
    chatKey: str = Field(description="zQ3..., or 0x04... hex")


class BanBody(MemberBody):
    deleteAllMessages: bool = Field(
        default=False, description="Delete all their messages in the community too"
    )


class PostBody(BaseModel):
    chatId: str = Field(max_length=200, description="The channel's chat id")
    text: str = Field(max_length=MAX_TEXT_LENGTH)
    responseTo: str = Field(default="", max_length=200, description="The message replied to")


class ReactBody(BaseModel):
    reaction: int = Field(
        ge=1, le=6, description="1 love, 2 thumbs up, 3 thumbs down, 4 laugh, 5 sad, 6 angry"
    )
    retract: bool = Field(default=False, description="Take this reaction back")


class EditBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)


class PinBody(BaseModel):
    pinned: bool = True


class RequestJson(BaseModel):
    chatKey: str
    clock: int = Field(description="The request's clock, in seconds")
    displayName: str = ""


class SentJson(BaseModel):
    id: str


_WAITS_ON_RELAY = (
    "no store node known to ask for the community's description: the request to join "
    "leaves when the description comes on relay"
)


class WaitingJson(BaseModel):
    """An action accepted but not done (202): what it waits for, in ``statusDesc`` as nwaku's
    REST answers name their outcome."""

    id: str
    statusDesc: str


@contextlib.contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except (InvalidCommunity, InvalidChatKey, ContentError, ValueError) as exc:
        raise ApiError(400, str(exc)) from None
    except UnknownMessage as exc:
        raise ApiError(404, str(exc)) from None
    except (CommunityNotAllowed, NotPermitted, UnknownGroupKey) as exc:
        raise ApiError(409, str(exc)) from None


_ROLES = {1: "owner", 4: "admin", 5: "token_master"}


def _key(member: str) -> str:
    return chat_key_text(bytes.fromhex(member[2:]))


def community_json(messenger: Messenger, community: Community) -> CommunityJson:
    return CommunityJson(
        id=community.id,
        name=community.name,
        description=community.about,
        access="manual" if community.access == 3 else "open",
        clock=community.clock,
        joined=messenger.community_joined(community.id),
        controlled=messenger.community_controlled(community.id),
        encrypted=community.encrypted,
        members=[
            MemberJson(
                chatKey=_key(k),
                privileged=community.is_privileged(k),
                roles=[_ROLES[r] for r in community.members[k] if r in _ROLES],
            )
            for k in community.members
        ],
        banned=[_key(k) for k in sorted(community.banned)],
        channels=[
            ChannelJson(
                chatId=c.chat_id,
                name=c.name,
                description=c.description,
                categoryId=c.category_id,
                category=community.categories.get(c.category_id, ""),
                position=c.position,
                readOnly=c.read_only,
            )
            for c in sorted(community.channels.values(), key=lambda c: (c.category_id, c.position))
        ],
    )


def community_routes(messenger: Messenger) -> APIRouter:
    router = APIRouter(tags=["communities"])

    def known(community_id: str) -> Community:
        with _answers():
            community = messenger.community(community_id)
        if community is None:
            raise ApiError(404, f"no community {community_id[:80]}")
        return community

    @router.get("/chat/v1/communities")
    async def communities() -> list[CommunityJson]:
        """The communities this account knows."""
        return [community_json(messenger, c) for c in messenger.communities()]

    @router.post("/chat/v1/communities", responses=_REFUSED)
    async def create(body: CreateBody) -> CommunityJson:
        """Create a community this account controls (open unless ``manualAccept``), with
        the channel #general unless ``general`` is false."""
        with _answers():
            community_id = await messenger.create_community(
                body.name,
                about=body.description,
                manual_accept=body.manualAccept,
                encrypted=body.encrypted,
            )
            if body.general:
                await messenger.add_community_channel(community_id, GENERAL)
        return community_json(messenger, known(community_id))

    @router.get("/chat/v1/communities/{communityId}", responses=_REFUSED)
    async def community(communityId: str) -> CommunityJson:
        return community_json(messenger, known(communityId))

    @router.post(
        "/chat/v1/communities/{communityId}/join",
        response_model=SentJson,
        responses={**_REFUSED, 202: {"model": WaitingJson, "description": _WAITS_ON_RELAY}},
    )
    async def join(communityId: str) -> SentJson | JSONResponse:
        """Ask to join: the request leaves once the description is here (at once if known,
        else from a store node). 202 when no store node is known to ask: accepted, and the
        request leaves only when the description comes on relay."""
        with _answers():
            asked = await messenger.join_community(communityId)
        if not asked:
            waiting = WaitingJson(id=communityId, statusDesc=_WAITS_ON_RELAY)
            return JSONResponse(waiting.model_dump(), status_code=202)
        return SentJson(id=communityId)

    @router.get("/chat/v1/communities/{communityId}/requests", responses=_REFUSED)
    async def requests(communityId: str) -> list[RequestJson]:
        """Pending requests to a community this account controls."""
        known(communityId)
        return [
            RequestJson(chatKey=k, clock=c, displayName=n)
            for k, c, n in messenger.community_requests(communityId)
        ]

    @router.post("/chat/v1/communities/{communityId}/accept", responses=_REFUSED)
    async def accept(communityId: str, body: MemberBody) -> CommunityJson:
        known(communityId)
        with _answers():
            await messenger.accept_community_request(communityId, body.chatKey)
        return community_json(messenger, known(communityId))

    @router.post("/chat/v1/communities/{communityId}/ban", responses=_REFUSED)
    async def ban(communityId: str, body: BanBody) -> CommunityJson:
        """Ban a member; with ``deleteAllMessages`` (status-go's BanUserFromCommunity) their
        messages in the community are deleted at every member too."""
        known(communityId)
        with _answers():
            await messenger.ban_community_member(
                communityId, body.chatKey, delete_messages=body.deleteAllMessages
            )
        return community_json(messenger, known(communityId))

    @router.post("/chat/v1/communities/{communityId}/admins", responses=_REFUSED)
    async def add_admin(communityId: str, body: MemberBody) -> CommunityJson:
        """Make a member an admin of a community we control (ROLE_ADMIN, written by the
        control node: pystatus checks no BECOME_ADMIN token balances; 409 otherwise)."""
        known(communityId)
        with _answers():
            await messenger.set_community_admin(communityId, body.chatKey)
        return community_json(messenger, known(communityId))

    @router.delete("/chat/v1/communities/{communityId}/admins/{chatKey}", responses=_REFUSED)
    async def remove_admin(communityId: str, chatKey: str) -> CommunityJson:
        """Take the admin role back; the member stays."""
        known(communityId)
        with _answers():
            await messenger.set_community_admin(communityId, chatKey, admin=False)
        return community_json(messenger, known(communityId))

    @router.get("/chat/v1/communities/{communityId}/members", responses=_REFUSED)
    async def members(communityId: str) -> list[MemberJson]:
        return community_json(messenger, known(communityId)).members

    @router.get("/chat/v1/communities/{communityId}/channels", responses=_REFUSED)
    async def channels(communityId: str) -> list[ChannelJson]:
        return community_json(messenger, known(communityId)).channels

    @router.post("/chat/v1/communities/{communityId}/channels", responses=_REFUSED)
    async def add_channel(communityId: str, body: ChannelBody) -> ChannelJson:
        """Add a channel to a community this account controls."""
        community = known(communityId)
        with _answers():
            category_id = ""
            if body.category:
                category_id = await category_named(messenger, community.id, body.category)
            chat_id = await messenger.add_community_channel(
                communityId, body.name, read_only=body.readOnly, category_id=category_id
            )
        found = [c for c in community_json(messenger, known(communityId)).channels]
        return next(c for c in found if c.chatId == chat_id)

    @router.post("/chat/v1/communities/{communityId}/posts", responses=_REFUSED)
    async def post(communityId: str, body: PostBody) -> SentJson:
        """Post in a channel; 409 where this account may only read."""
        community = known(communityId)
        if community.channel_by_chat_id(body.chatId) is None:
            raise ApiError(404, "no such channel in this community")
        with _answers():
            return SentJson(
                id=await messenger.send_community(
                    body.chatId, body.text, response_to=body.responseTo
                )
            )

    async def in_channel(community_id: str, channel: str, message_id: str) -> str:
        """The channel's chat id (``channel``: its chat id or its id in the community),
        once the message is known to be in it; 404 otherwise."""
        community = known(community_id)
        chat_id = channel if channel.startswith(community.id) else community.id + channel
        if community.channel_by_chat_id(chat_id) is None:
            raise ApiError(404, "no such channel in this community")
        stored = await messenger.database.message(message_id)
        if stored is None or stored.chat_id != chat_id:
            raise ApiError(404, f"no message {message_id[:80]} in this channel")
        return chat_id

    base = "/chat/v1/communities/{communityId}/channels/{channel}/messages/{messageId}"

    @router.post(base + "/react", responses=_REFUSED)
    async def react(communityId: str, channel: str, messageId: str, body: ReactBody) -> SentJson:
        """React to a channel's message (or take the reaction back); 409 where this account
        may not react there."""
        chat_id = await in_channel(communityId, channel, messageId)
        with _answers():
            await messenger.react(chat_id, messageId, body.reaction, retract=body.retract)
        return SentJson(id=messageId)

    @router.post(base + "/edit", responses=_REFUSED)
    async def edit(communityId: str, channel: str, messageId: str, body: EditBody) -> SentJson:
        """Replace the text of a post of ours; 409 for someone else's."""
        await in_channel(communityId, channel, messageId)
        with _answers():
            await messenger.edit(messageId, body.text)
        return SentJson(id=messageId)

    @router.post(base + "/delete", responses=_REFUSED)
    async def delete(communityId: str, channel: str, messageId: str) -> SentJson:
        """Delete a post for everyone: ours, or anyone's where this account is an owner or
        admin (status-go's CanDeleteMessageForEveryone); 409 otherwise."""
        await in_channel(communityId, channel, messageId)
        with _answers():
            await messenger.delete(messageId)
        return SentJson(id=messageId)

    @router.post(base + "/pin", responses=_REFUSED)
    async def pin(communityId: str, channel: str, messageId: str, body: PinBody) -> SentJson:
        """Pin (or unpin) a post; 409 unless this account is an owner or admin there."""
        await in_channel(communityId, channel, messageId)
        with _answers():
            await messenger.pin(messageId, body.pinned)
        return SentJson(id=messageId)

    return router
