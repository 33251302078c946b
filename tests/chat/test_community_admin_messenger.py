"""Community admins through three Messengers over pystatus relay nodes: the control node makes
a member admin; the admin adds a channel and accepts a third account's request as
CommunityEventsMessages (type 67); the control node applies them, republishes, and answers the
request (:mod:`pystatus.chat.messenger_community_admin`). About 5 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.community import member_key
from pystatus.chat.messenger import ChatEvent
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not text or event.text == text):
                return event


async def test_an_admin_adds_a_channel_and_accepts_a_request(tmp_path: Path) -> None:
    owner_account, alice_account, bob_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice", "bob")
    )
    async with relay_nodes(2) as nodes:
        owner = relay_messenger(owner_account, nodes[0])
        alice = relay_messenger(alice_account, nodes[1])
        bob = relay_messenger(bob_account, nodes[1])
        for m in (owner, alice, bob):
            await m.start()
        try:
            owner_events, alice_events, bob_events = owner.events(), alice.events(), bob.events()
            cid = await owner.create_community("Admins", manual_accept=True)
            await alice.join_community(cid, display_name="alice")
            await owner.publish_community(cid)
            await _next(owner_events, "community", "request")
            await owner.accept_community_request(cid, alice.chat_key)
            await _next(alice_events, "community", "joined")
            # the control node makes alice an admin
            alice_key = member_key(alice_account.keys.chat_public_key)
            await owner.set_community_admin(cid, alice.chat_key)

            def alice_is_admin() -> bool:
                community = alice.community(cid)
                return community is not None and community.is_privileged(alice_key)

            await wait_for(alice_is_admin, timeout=15, what="alice sees her admin role")
            # alice (admin) adds a channel: an event; the control node applies and republishes
            before = alice.community(cid)
            assert before is not None
            chat_id = await alice.add_community_channel(cid, "news")
            channel_id = chat_id[len(cid) :]

            def owner_has_it() -> bool:
                community = owner.community(cid)
                return community is not None and channel_id in community.channels

            await wait_for(owner_has_it, timeout=15, what="the control node applies the event")

            def alice_has_republished() -> bool:
                community = alice.community(cid)
                return (
                    community is not None
                    and community.clock > before.clock
                    and channel_id in community.channels
                )

            await wait_for(alice_has_republished, timeout=15, what="the new description")
            # bob asks; alice accepts as admin; the control node answers bob
            await bob.join_community(cid, display_name="bob")
            await owner.publish_community(cid)  # bob was not listening before
            await _next(owner_events, "community", "request")
            await alice.accept_community_request(cid, bob.chat_key)
            await _next(bob_events, "community", "joined")
            joined = bob.community(cid)
            assert joined is not None and channel_id in joined.channels
        finally:
            for m in (bob, alice, owner):
                await m.stop()
