"""Reactions, edits, deletes, pins and replies in a community channel through two Messengers
over two pystatus relay nodes, with status-go's rules (:mod:`pystatus.chat.community_actions`):
only the author edits, the author or a privileged member deletes, only a privileged member
pins; a forged pin is dropped on receipt. Plus the typed chat ids (:mod:`pystatus.chat.ids`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.community import COMMUNITY_CHAT
from pystatus.chat.community_actions import REFUSED
from pystatus.chat.community_chats import ReadOnlyChannel
from pystatus.chat.community_keys import group_id
from pystatus.chat.content import ChatMessageType, build_delete, build_edit, build_pin
from pystatus.chat.errors import NotPermitted
from pystatus.chat.ids import (
    CommunityChatId,
    GroupChatId,
    OneToOneChatId,
    PublicChatId,
    parse_chat_id,
)
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.reliability import DROPPED
from pystatus.chat.wrapper import MessageType, message_id, wrap
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for

COMMUNITY = "0x02" + "ab" * 32
CHANNEL = "5bd1ca5a-3b4c-4f56-9a1e-0c3e4f2a7b11"
KEY = "0x04" + "11" * 64


def test_chat_ids_are_typed_by_their_form() -> None:
    assert parse_chat_id(COMMUNITY + CHANNEL) == CommunityChatId(COMMUNITY, CHANNEL)
    assert parse_chat_id(COMMUNITY + CHANNEL).text == COMMUNITY + CHANNEL
    group = CHANNEL + "-" + KEY
    assert parse_chat_id(group) == GroupChatId(group)
    assert parse_chat_id("status") == PublicChatId("status")
    # a bare compressed key (no channel after it) is a 1:1 chat with that key
    generator = "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    assert isinstance(parse_chat_id(generator), OneToOneChatId)


async def _next(events: AsyncIterator[ChatEvent], kind: str, message_id: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not message_id or event.id == message_id):
                return event


def _refused(reason: str) -> float:
    return float(REFUSED.labels(reason)._value.get())


@contextlib.asynccontextmanager
async def _owner_and_alice(tmp_path: Path) -> AsyncIterator[tuple[Messenger, Messenger]]:
    """Two started messengers, the owner's and alice's, each on its own relay node (about
    1 s of CPU), stopped on the way out."""
    owner_account, alice_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice")
    )
    async with relay_nodes(2) as nodes:
        owner = relay_messenger(owner_account, nodes[0])
        alice = relay_messenger(alice_account, nodes[1])
        await owner.start()
        await alice.start()
        try:
            yield owner, alice
        finally:
            await alice.stop()
            await owner.stop()


async def test_react_edit_reply_pin_delete_in_a_channel(tmp_path: Path) -> None:
    """About 3 s of CPU: two messengers, two relay nodes."""
    async with _owner_and_alice(tmp_path) as (owner, alice):
        owner_events, alice_events = owner.events(), alice.events()
        community_id = await owner.create_community("Cats")
        general = await owner.add_community_channel(community_id, "general")
        await alice.join_community(community_id, display_name="alice")
        await owner.publish_community(community_id)  # alice was not listening before
        await wait_for(lambda: alice.community_joined(community_id), 15, what="joined")
        post = await alice.send_community(general, "hello cats")
        await _next(owner_events, "message", post)
        # a reaction, each way
        await owner.react(general, post, 2)
        got = await _next(alice_events, "reaction", post)
        assert (got.chat_id, got.author, got.reaction) == (general, owner.chat_key, 2)
        assert await alice.reactions(post) == [(owner.chat_key, 2)]
        # the author edits; the owner sees the new text
        await alice.edit(post, "hello, cats")
        got = await _next(owner_events, "edit", post)
        assert (got.chat_id, got.text, got.author) == (general, "hello, cats", alice.chat_key)
        # a reply names the post
        reply = await owner.send_community(general, "welcome", response_to=post)
        got = await _next(alice_events, "message", reply)
        assert got.response_to == post
        # only the author edits, and alice, no admin, may neither pin nor delete others'
        with pytest.raises(NotPermitted):
            await owner.edit(post, "not mine")
        with pytest.raises(ReadOnlyChannel):
            await alice.pin(reply)
        with pytest.raises(NotPermitted):
            await alice.delete(reply)
        # a pin forged past that check is dropped by the owner, and counted
        before = _refused("not_allowed")
        clock = int(time.time() * 1000)
        forged = build_pin(clock, general, reply, ChatMessageType.COMMUNITY_CHAT)
        wrapped = wrap(forged, MessageType.PIN_MESSAGE, alice._identity)
        await alice._perform(alice.session.send_public(general, wrapped, time.time_ns()))
        await wait_for(lambda: _refused("not_allowed") > before, 15, what="pin dropped")
        assert await owner.pinned(general) == []
        # the owner pins alice's post; alice sees it
        await owner.pin(post)
        got = await _next(alice_events, "pin", post)
        assert (got.chat_id, got.author) == (general, owner.chat_key)
        assert await alice.pinned(general) == [post]
        # the owner, privileged, deletes alice's post for everyone
        await owner.delete(post)
        got = await _next(alice_events, "delete", post)
        assert (got.chat_id, got.author) == (general, owner.chat_key)
        stored = await alice.database.message(post)
        assert stored is not None and stored.deleted


async def test_actions_in_an_encrypted_channel_go_under_its_key(tmp_path: Path) -> None:
    """In an encrypted community a reaction, an edit and a pin go under the hash ratchet key
    (status-go's SendCommunityMessage): a member holding it sees them; one who lost it holds
    the next one unread (``no_group_key``) until the control node sends the key again. About
    3 s of CPU."""
    async with _owner_and_alice(tmp_path) as (owner, alice):
        owner_events, alice_events = owner.events(), alice.events()
        community_id = await owner.create_community("Vault", manual_accept=True, encrypted=True)
        general = await owner.add_community_channel(community_id, "general")
        community = owner.community(community_id)
        assert community is not None
        group = group_id(community)
        await alice.join_community(community_id, display_name="alice")
        await owner.publish_community(community_id)
        await wait_for(lambda: bool(owner.community_requests(community_id)), 15, what="the request")
        await owner.accept_community_request(community_id, alice.chat_key)
        ratchet = alice.session.hash_ratchet
        assert ratchet is not None
        await wait_for(lambda: ratchet.current_key(group) is not None, 15, what="the key")
        post = await alice.send_community(general, "sealed")
        await _next(owner_events, "message", post)
        await owner.react(general, post, 4)
        got = await _next(alice_events, "reaction", post)
        assert (got.chat_id, got.reaction) == (general, 4)
        await alice.edit(post, "sealed twice")
        got = await _next(owner_events, "edit", post)
        assert got.text == "sealed twice"
        # without the key alice cannot read the owner's pin: it went under the key
        ratchet.store.forget_group(group)
        no_key = float(DROPPED.labels("no_group_key")._value.get())
        await owner.pin(post)
        await wait_for(
            lambda: float(DROPPED.labels("no_group_key")._value.get()) > no_key,
            15,
            what="the pin held: no key",
        )


async def test_an_edit_and_an_admin_delete_before_their_post(tmp_path: Path) -> None:
    """An edit, and an admin's delete, that arrive before the channel post they name wait
    for it and apply once it comes (status-go's checkForEdits and checkForDeletes), as in
    other chats. About 2 s of CPU."""
    async with _owner_and_alice(tmp_path) as (owner, alice):
        owner_events, alice_events = owner.events(), alice.events()
        community_id = await owner.create_community("Cats")
        general = await owner.add_community_channel(community_id, "general")
        await alice.join_community(community_id, display_name="alice")
        await owner.publish_community(community_id)
        await wait_for(lambda: alice.community_joined(community_id), 15, what="joined")
        owned = owner.community(community_id)
        assert owned is not None and len(owned.members) == 2  # the owner admitted her

        def post_by(messenger: Messenger, text: str) -> tuple[str, bytes]:
            body = chat_message_pb2.ChatMessage(
                clock=int(time.time() * 1000),
                timestamp=int(time.time() * 1000),
                text=text,
                chat_id=general,
                message_type=COMMUNITY_CHAT,  # type: ignore[arg-type]
                content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
            ).SerializeToString()
            wrapped = wrap(body, MessageType.CHAT_MESSAGE, messenger._identity)
            return "0x" + message_id(messenger._public_key, wrapped).hex(), wrapped

        # the owner gets alice's edit first, then her post: it shows the new text
        post, wrapped = post_by(alice, "first")
        clock = int(time.time() * 1000) + 1
        edit = build_edit(clock, general, post, "second", ChatMessageType.COMMUNITY_CHAT)
        edited = wrap(edit, MessageType.EDIT_MESSAGE, alice._identity)
        owner._handle_wrapped(alice._public_key, edited, general, None)
        owner._handle_wrapped(alice._public_key, wrapped, general, None)
        got = await _next(owner_events, "message", post)
        assert got.text == "second"
        # alice gets the owner's delete (an admin's) of a post of hers before the post
        post, wrapped = post_by(alice, "gone")
        delete = build_delete(clock, general, post, ChatMessageType.COMMUNITY_CHAT, deleted_by="x")
        deleting = wrap(delete, MessageType.DELETE_MESSAGE, owner._identity)
        alice._handle_wrapped(owner._public_key, deleting, general, None)
        alice._handle_wrapped(alice._public_key, wrapped, general, None)
        got = await _next(alice_events, "message", post)
        assert got.deleted
