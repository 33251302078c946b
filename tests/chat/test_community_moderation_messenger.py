"""A member's community messages deleted at another member (issue 17): the control node bans
with delete-all-messages (the description's ``CommunityBanInfo``), orders a deletion (status-go's
DeleteCommunityMemberMessages, type 85), and a member's forged order is refused; three
Messengers over two pystatus relay nodes (about 3 s)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import coincurve

from pystatus.chat.account import Account
from pystatus.chat.community import REJECTED
from pystatus.chat.community_moderation import encode_member_deletes
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.messenger_community_moderation import NOT_ACTED
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import community_public_info_pb2 as pb
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.enr import keccak256
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not text or event.text == text):
                return event


async def _deleted(messenger: Messenger, chat_id: str) -> dict[str, bool]:
    return {m.id: m.deleted for m in await messenger.database.history(chat_id)}


@contextlib.asynccontextmanager
async def _three(tmp_path: Path) -> AsyncIterator[tuple[Messenger, Messenger, Messenger, str, str]]:
    """Owner, alice and bob in an open community with #general; bob posted twice."""
    accounts = [
        Account.create(tmp_path / n, "moderation password", params=FAST)[0]
        for n in ("owner", "alice", "bob")
    ]
    async with relay_nodes(2) as nodes:
        owner, alice, bob = (relay_messenger(a, nodes[min(i, 1)]) for i, a in enumerate(accounts))
        for m in (owner, alice, bob):
            await m.start()
        try:
            alice_events, bob_events = alice.events(), bob.events()
            community_id = await owner.create_community("Cats")
            general = await owner.add_community_channel(community_id, "general")
            await alice.join_community(community_id, display_name="alice")
            await bob.join_community(community_id, display_name="bob")
            await owner.publish_community(community_id)
            await _next(alice_events, "community", "joined")
            await _next(bob_events, "community", "joined")
            await wait_for(
                lambda: all(
                    (c := m.community(community_id)) is not None and len(c.members) == 3
                    for m in (alice, bob)
                ),
                timeout=15,
                what="both members listed",
            )
            for text in ("one", "two"):
                await bob.send_community(general, text)
                await _next(alice_events, "message", text)
            yield owner, alice, bob, community_id, general
        finally:
            for m in (bob, alice, owner):
                await m.stop()


async def test_a_ban_deleting_all_messages_deletes_them_at_members(tmp_path: Path) -> None:
    async with _three(tmp_path) as (owner, alice, bob, community_id, general):
        alice_events = alice.events()
        await alice.send_community(general, "alice stays")
        assert list((await _deleted(alice, general)).values()).count(False) == 3
        await owner.ban_community_member(community_id, bob.chat_key, delete_messages=True)
        first = await _next(alice_events, "delete")
        second = await _next(alice_events, "delete")
        assert first.author == second.author  # the deleter named: the control node
        kept = await _deleted(alice, general)
        assert sorted(kept.values()) == [False, True, True]  # alice's own post kept
        # at the control node too, once its ban returned
        owner_kept = await _deleted(owner, general)
        assert sorted(owner_kept.values()) == [False, True, True]


async def test_an_order_deletes_and_a_members_forged_order_is_refused(tmp_path: Path) -> None:
    async with _three(tmp_path) as (owner, alice, bob, community_id, general):
        alice_events = alice.events()
        community = alice.community(community_id)
        assert community is not None
        # bob, no admin, orders alice's copies of his own posts deleted: refused, counted
        refused = float(REJECTED.labels("not_privileged")._value.get())
        forged = encode_member_deletes(community, "0x" + bob.session.public_key.hex(), 1)
        wrapped = wrap(forged, MessageType.DELETE_COMMUNITY_MEMBER_MESSAGES, bob._identity)
        await bob._perform(bob._description_topic_publishes(community, wrapped))
        await wait_for(
            lambda: REJECTED.labels("not_privileged")._value.get() > refused,
            timeout=15,
            what="the forged order refused",
        )
        assert not any((await _deleted(alice, general)).values())
        # the control node names one of bob's posts: only that one goes
        one = sorted((await alice.database.history(general)), key=lambda m: m.clock)[0]
        await owner.delete_community_member_messages(
            community_id, bob.chat_key, [(one.id, general)]
        )
        event = await _next(alice_events, "delete")
        assert event.id == one.id
        assert (await _deleted(alice, general)) == {
            m.id: m.id == one.id for m in await alice.database.history(general)
        }
        # then all of them, bob staying a member
        await owner.delete_community_member_messages(community_id, bob.chat_key)
        await _next(alice_events, "delete")
        assert all((await _deleted(alice, general)).values())


async def test_types_not_acted_on_are_counted(tmp_path: Path) -> None:
    async with _three(tmp_path) as (owner, alice, _, community_id, _):
        community = alice.community(community_id)
        key = owner._communities.private_key(community_id)
        assert community is not None and key is not None
        counted = NOT_ACTED.labels("COMMUNITY_PUBLIC_SHARD_INFO")
        before = float(counted._value.get())
        # signed by the community key, as status-go's control node signs it: checked, counted
        payload = pb.PublicShardInfo(
            clock=1,
            community_id=bytes.fromhex(community_id[2:]),
            shard=chat_message_pb2.Shard(cluster=16, index=128),
        ).SerializeToString()
        signature = coincurve.PrivateKey(key).sign_recoverable(keccak256(payload), hasher=None)
        info = pb.CommunityPublicShardInfo(signature=signature, payload=payload)
        wrapped = wrap(info.SerializeToString(), MessageType.COMMUNITY_PUBLIC_SHARD_INFO, key)
        await owner._perform(owner._description_topic_publishes(community, wrapped))
        await wait_for(
            lambda: counted._value.get() > before,
            timeout=15,
            what="the shard info counted, not acted on",
        )
