"""Communities through two Messengers over two pystatus relay nodes (shards 32 and 64): create
with a read-only channel, ask to join and be approved, post, a read-only post refused and a
forged one dropped, a ban, and the community surviving a restart
(:mod:`pystatus.chat.messenger_community`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.community import COMMUNITY_CHAT
from pystatus.chat.community_chats import DROPPED, CommunityNotAllowed, ReadOnlyChannel
from pystatus.chat.messenger import ChatEvent
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.wrapper import MessageType, wrap
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not text or event.text == text):
                return event


def _dropped() -> float:
    return float(DROPPED.labels("not_allowed")._value.get())


async def test_join_by_approval_post_read_only_ban_restart(tmp_path: Path) -> None:
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
            owner_events, alice_events = owner.events(), alice.events()
            community_id = await owner.create_community("Cats", manual_accept=True)
            general = await owner.add_community_channel(community_id, "general")
            news = await owner.add_community_channel(community_id, "news", read_only=True)
            await alice.join_community(community_id, display_name="alice")
            await owner.publish_community(community_id)  # alice was not listening before
            # the description arrives, the request leaves, the owner sees it pending
            request = await _next(owner_events, "community", "request")
            assert request.author == alice.chat_key
            assert [r[0] for r in owner.community_requests(community_id)] == [alice.chat_key]
            await owner.accept_community_request(community_id, alice.chat_key)
            await _next(alice_events, "community", "joined")
            assert alice.community_joined(community_id)
            joined = alice.community(community_id)
            assert joined is not None
            assert {c.name for c in joined.channels.values()} == {"general", "news"}
            # posts in the ordinary channel go both ways
            await alice.send_community(general, "hello cats")
            got = await _next(owner_events, "message")
            assert (got.chat_id, got.text, got.author) == (general, "hello cats", alice.chat_key)
            await owner.send_community(news, "read-only news")
            got = await _next(alice_events, "message")
            assert (got.chat_id, got.text) == (news, "read-only news")
            # alice may not post in the read-only channel: refused before anything leaves
            with pytest.raises(ReadOnlyChannel):
                await alice.send_community(news, "may I?")
            # one forged past the check is dropped on receipt by the owner
            before = _dropped()
            forged = chat_message_pb2.ChatMessage(
                clock=int(time.time() * 1000),
                timestamp=int(time.time() * 1000),
                text="forged",
                chat_id=news,
                message_type=COMMUNITY_CHAT,  # type: ignore[arg-type]
                content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
            )
            wrapped = wrap(forged.SerializeToString(), MessageType.CHAT_MESSAGE, alice._identity)
            await alice._perform(alice.session.send_public(news, wrapped, time.time_ns()))
            await wait_for(lambda: _dropped() > before, timeout=15, what="the forged post dropped")
            # the ban: alice is told, and may post nowhere after
            await owner.ban_community_member(community_id, alice.chat_key)
            await _next(alice_events, "community", "banned")
            with pytest.raises(CommunityNotAllowed):
                await alice.send_community(general, "still here?")
        finally:
            await alice.stop()
            await owner.stop()
        # the owner's community, key and channels survive a restart
        again = relay_messenger(owner_account, nodes[0])
        await again.start()
        try:
            restored = again.community(community_id)
            assert restored is not None
            assert restored.is_banned("0x" + alice_account.keys.chat_public_key.hex())
            assert await again.add_community_channel(community_id, "more")
        finally:
            await again.stop()
