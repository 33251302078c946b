"""An encrypted pystatus community with status-go v1.1.0's Messenger as member (issue 17: the
hash ratchet's send path). pystatus's control node marks the community encrypted as status-go
reads it (a BECOME_MEMBER token permission, no token criteria: status-go's permission check
of the revealed address passes with no balances), admits status-go by hand, and sends it the
community's key over 1:1. Both post under that key and read each other; after the ban the key
rotates to no one. The description's members and channels travel sealed under the key
(privateData): status-go sees them only by opening it.

status-go's peer needs a collectibles manager for that permission check (its own has none:
``noCollectibles`` in tests/interop/statusgo/communitycommands.go); without one,
``DefaultPermissionChecker.CheckCachedPermissions`` (communities/permission_checker.go:496)
takes a method value of a nil interface and RequestToJoinCommunity panics.

Network as in test_statusgo_communities.py (one pystatus relay + store node between them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pystatus.chat import topics
from pystatus.chat.actions import Action
from pystatus.chat.community_keys import EVENTS, group_id
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import decrypt_symmetric
from tests.interop.statusgo_network import next_event
from tests.interop.statusgo_peer import Event, StatusGoPeer, StatusGoPeerError
from tests.interop.test_statusgo_communities import _alice_and_bob, _message, wait_for_async

pytestmark = [pytest.mark.interop, pytest.mark.slow]


async def _send_once_keyed(bob: StatusGoPeer, chat_id: str, text: str) -> Event:
    """status-go's send, asked again until the channel and the key our 1:1 message carried are
    in (until then status-go refuses: "Chat not found", "no encryption key found for the
    community")."""
    async with asyncio.timeout(90):
        while True:
            try:
                return await bob.request("send", chatId=chat_id, text=text)
            except StatusGoPeerError as exc:
                if "no encryption key" not in str(exc) and "Chat not found" not in str(exc):
                    raise
            await asyncio.sleep(0.2)  # polling status-go's state: it offers no event for it


def _count(event: str) -> float:
    return float(EVENTS.labels(event)._value.get())


async def test_status_go_joins_an_encrypted_community_reads_posts_and_is_cut_off(
    tmp_path: Path,
) -> None:
    async with _alice_and_bob(tmp_path) as (_, bob, alice):
        community_id = await alice.create_community("Vault", manual_accept=True, encrypted=True)
        general = await alice.add_community_channel(community_id, "general")
        community = alice.community(community_id)
        assert community is not None and community.encrypted
        group = group_id(community)
        assert alice.session.hash_ratchet is not None
        first = alice.session.hash_ratchet.current_key(group)
        assert first is not None
        fetched = await bob.request("community_fetch", communityId=community_id, timeout=90)
        assert fetched["communityId"] == community_id
        # its members and channels are sealed: status-go sees the public part only
        assert fetched["channels"] == [] and fetched["members"] == []
        events = alice.events()
        await bob.request("community_join", communityId=community_id)
        pending = await next_event(events, "community", lambda e: e.text == "request", timeout=90)
        assert pending.author == bob.compressed_key
        await alice.accept_community_request(community_id, bob.compressed_key)

        async def bob_member() -> bool:
            view = await bob.request("community", communityId=community_id)
            return bool(view["joined"]) and bob.public_key in view["members"]

        await wait_for_async(bob_member, timeout=90)
        # status-go posts under the key it was sent; pystatus reads it
        on_channel: list[bytes] = []
        receive = alice.session.receive

        def spy(message: WakuMessage, digest: bytes, now: float) -> list[Action]:
            if message.content_topic == topics.public_chat_content_topic(general):
                on_channel.append(message.payload)
            return receive(message, digest, now)

        alice.session.receive = spy  # type: ignore[method-assign]
        sent = await _send_once_keyed(bob, general, "hello from status-go")
        got = await next_event(events, "message", lambda e: e.chat_id == general, timeout=90)
        assert (got.id, got.text, got.author) == (
            sent["messageId"],
            "hello from status-go",
            bob.compressed_key,
        )
        # ... as status-go's SendCommunityMessage sends it: an HR message under our key
        headers = []
        for payload in on_channel:
            opened = decrypt_symmetric(payload, topics.public_chat_key(general))
            protocol = pb.ProtocolMessage.FromString(opened.payload)
            if opened.signer == bytes.fromhex(bob.public_key[2:]):
                assert not protocol.public_message
                headers.append(protocol.direct_message["none"].HR_header)
        assert [(h.group_id, h.key_id, h.seq_no > 0) for h in headers] == [
            (group, first.key_id, True)
        ]
        # pystatus posts under it; status-go reads it
        mine = await alice.send_community(general, "hello from pystatus")
        seen = await bob.wait_event(_message("hello from pystatus", general), timeout=90)
        assert seen["id"] == mine
        # a new channel: status-go sees it only by opening the description's sealed part
        news = await alice.add_community_channel(community_id, "news")

        async def bob_sees_news() -> bool:
            view = await bob.request("community", communityId=community_id)
            return news in [c["chatId"] for c in view["channels"]]

        await wait_for_async(bob_sees_news, timeout=90)
        # the ban: a new key, sent to no one (status-go was the only other member)
        rekeys, sent_keys = _count("rekey"), _count("sent")
        await alice.ban_community_member(community_id, bob.compressed_key)
        second = alice.session.hash_ratchet.current_key(group)
        assert second is not None and second.key_id != first.key_id
        assert (_count("rekey"), _count("sent")) == (rekeys + 1, sent_keys)
