"""An encrypted community (hash ratchet, issue 17) through three Messengers over three pystatus
relay nodes: the control node admits two members by hand and sends each the key over 1:1;
posts are read by both; a ban rotates the key to the remaining member only, so the banned
member holds later posts' ciphertext but cannot open them (``no_group_key``); the banned
member's posts are dropped; a member who lost its keys asks the control node and reads on;
the control node's keys survive its restart (:mod:`pystatus.chat.community_keys`,
:mod:`pystatus.chat.messenger_community_keys`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.actions import Publish
from pystatus.chat.community import COMMUNITY_CHAT
from pystatus.chat.community_chats import DROPPED as COMMUNITY_DROPPED
from pystatus.chat.community_keys import EVENTS, group_id, seal_post
from pystatus.chat.community_private_data import RESULTS as PRIVATE_DATA
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.hash_ratchet import GroupKey
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.reliability import DROPPED
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.message import WakuMessage
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not text or event.text == text):
                return event


def _count(counter: object, label: str) -> float:
    return float(counter.labels(label)._value.get())  # type: ignore[attr-defined]


def community_members(owner: Messenger) -> list[str]:
    (community,) = owner.communities()
    return list(community.members)


def _key(messenger: Messenger, group: bytes) -> GroupKey | None:
    assert messenger.session.hash_ratchet is not None
    return messenger.session.hash_ratchet.current_key(group)


async def test_ban_rotates_the_key_and_the_banned_member_reads_nothing_after(
    tmp_path: Path,
) -> None:
    accounts = [
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice", "bob")
    ]
    async with relay_nodes(3) as nodes:
        owner, alice, bob = (relay_messenger(a, n) for a, n in zip(accounts, nodes, strict=True))
        for m in (owner, alice, bob):
            await m.start()
        try:
            owner_events, alice_events, bob_events = owner.events(), alice.events(), bob.events()
            community_id = await owner.create_community("Vault", manual_accept=True, encrypted=True)
            general = await owner.add_community_channel(community_id, "general")
            community = owner.community(community_id)
            assert community is not None and community.encrypted
            group = group_id(community)
            first = _key(owner, group)
            assert first is not None  # made at creation

            for member, name in ((alice, "alice"), (bob, "bob")):
                await member.join_community(community_id, display_name=name)
            await owner.publish_community(community_id)  # they were not listening before
            for member in (alice, bob):
                await wait_for(
                    lambda m=member: any(  # type: ignore[misc]
                        k == m.chat_key for k, _, _ in owner.community_requests(community_id)
                    ),
                    timeout=15,
                    what="the request pending",
                )
                await owner.accept_community_request(community_id, member.chat_key)
            for events in (alice_events, bob_events):
                await _next(events, "community", "joined")
            for member in (alice, bob):
                await wait_for(
                    lambda m=member: _key(m, group) == first,  # type: ignore[misc]
                    timeout=15,
                    what="the group key sent over 1:1",
                )

            # before the ban everyone reads everyone
            await owner.send_community(general, "before the ban")
            for events in (alice_events, bob_events):
                got = await _next(events, "message", "before the ban")
                assert got.chat_id == general
            await bob.send_community(general, "bob speaks")
            for events in (owner_events, alice_events):
                got = await _next(events, "message", "bob speaks")
                assert got.author == bob.chat_key

            # the ban: a new key, to alice only
            rekeys = _count(EVENTS, "rekey")
            await owner.ban_community_member(community_id, bob.chat_key)
            await _next(bob_events, "community", "banned")
            # the description's members now travel sealed under the new key: bob sees none
            bob_view = bob.community(community_id)
            assert bob_view is not None and not bob_view.members
            assert bob_view.is_banned("0x" + accounts[2].keys.chat_public_key.hex())
            assert _count(EVENTS, "rekey") == rekeys + 1
            second = _key(owner, group)
            assert second is not None and second.key_id != first.key_id
            await wait_for(
                lambda: _key(alice, group) == second, timeout=15, what="alice has the new key"
            )

            def alice_sees_members() -> bool:
                view = alice.community(community_id)
                return view is not None and set(view.members) == set(community_members(owner))

            await wait_for(alice_sees_members, timeout=15, what="alice opens the description")

            # a later post: alice reads it, bob holds its ciphertext and cannot open it
            seen: list[WakuMessage] = []
            bob_receive = bob.session.receive

            def spy(message: WakuMessage, digest: bytes, now: float) -> list[object]:
                seen.append(message)
                return bob_receive(message, digest, now)  # type: ignore[return-value]

            bob.session.receive = spy  # type: ignore[method-assign, assignment]
            no_key = _count(DROPPED, "no_group_key")
            await owner.send_community(general, "after the ban")
            got = await _next(alice_events, "message", "after the ban")
            assert got.chat_id == general
            await wait_for(
                lambda: _count(DROPPED, "no_group_key") > no_key,
                timeout=15,
                what="bob dropped the post: no key",
            )
            assert any(m.content_topic.endswith("/rfc26") for m in seen)
            assert _key(bob, group) == first  # he never got the new one
            assert b"after the ban" not in b"".join(m.payload for m in seen)

            # bob's post under the old key, forged past his own refusal, is dropped by all
            not_allowed = _count(COMMUNITY_DROPPED, "not_allowed")
            forged = chat_message_pb2.ChatMessage(
                clock=int(time.time() * 1000),
                timestamp=int(time.time() * 1000),
                text="banned but talking",
                chat_id=general,
                message_type=COMMUNITY_CHAT,  # type: ignore[arg-type]
                content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
            )
            wrapped = wrap(forged.SerializeToString(), MessageType.CHAT_MESSAGE, bob._identity)
            bob_community = bob.community(community_id)
            assert bob_community is not None and bob.session.hash_ratchet is not None
            parts = seal_post(
                bob.session.hash_ratchet, bob._identity, bob_community, general, wrapped, 1 << 20
            )
            await bob._perform(
                [Publish(p.content_topic, p.payload, time.time_ns(), "public") for p in parts]
            )
            await wait_for(
                lambda: _count(COMMUNITY_DROPPED, "not_allowed") >= not_allowed + 2,
                timeout=15,
                what="owner and alice dropped the banned member's post",
            )

            # a member who lost the keys asks the control node, and reads what waited (the
            # rate limits are lifted: alice may have asked on joining, when the key that came
            # before the owner's answer was refused: she could not yet see who the owner was)
            alice._community_keys.request_interval_ms = 0
            owner._community_keys.answer_interval_ms = 0
            assert alice.session.hash_ratchet is not None
            alice.session.hash_ratchet.store.forget_group(group)
            requested = _count(EVENTS, "requested")
            answered = _count(EVENTS, "answered")
            await owner.send_community(general, "while alice had no key")
            await _next(alice_events, "message", "while alice had no key")
            assert _count(EVENTS, "requested") == requested + 1
            assert _count(EVENTS, "answered") == answered + 1
            assert _key(alice, group) == second
            # one who lost the keys and tries to post is refused, and asks for them at once
            alice.session.hash_ratchet.store.forget_group(group)
            with pytest.raises(UnknownGroupKey):
                await alice.send_community(general, "no key yet")
            await wait_for(
                lambda: _key(alice, group) == second, timeout=15, what="alice's keys back"
            )
            await alice.send_community(general, "keys back")
            got = await _next(owner_events, "message", "keys back")
            assert got.author == alice.chat_key
            # a description she cannot open is held, not taken as her removal, until the key
            alice.session.hash_ratchet.store.forget_group(group)
            held = _count(EVENTS, "held")
            await owner.publish_community(community_id)
            published = owner.community(community_id)
            assert published is not None
            await wait_for(lambda: _count(EVENTS, "held") > held, timeout=15, what="held")
            assert alice.community_joined(community_id)

            def alice_current() -> bool:
                view = alice.community(community_id)
                return view is not None and view.clock == published.clock and bool(view.members)

            await wait_for(alice_current, timeout=15, what="the held description taken")
            assert alice.community_joined(community_id)
            # a key refused for want of knowing its sender (status-go sends keys before its
            # sealed answer) is taken once the signed description opens under it
            ratchet = alice.session.hash_ratchet
            ratchet.store.forget_group(group)
            assert ratchet.on_refused is not None
            ratchet.on_refused([second])
            proven = _count(PRIVATE_DATA, "proven")
            await owner.publish_community(community_id)
            await wait_for(
                lambda: _count(PRIVATE_DATA, "proven") > proven, timeout=15, what="proven"
            )
            assert _key(alice, group) == second
        finally:
            for m in (bob, alice, owner):
                await m.stop()
        # the control node's keys and members survive a restart: a later ban rotates again
        again = relay_messenger(accounts[0], nodes[0])
        await again.start()
        try:
            assert _key(again, group) == second
            rekeys = _count(EVENTS, "rekey")
            await again.ban_community_member(community_id, alice.chat_key)
            assert _count(EVENTS, "rekey") == rekeys + 1
            third = _key(again, group)
            assert third is not None and third.key_id not in (first.key_id, second.key_id)
        finally:
            await again.stop()
