"""A pystatus admin in a status-go v1.1.0 community (issue 17, "Members and roles").

status-go's control node gives ROLE_ADMIN to a member whose revealed address satisfies a
``BECOME_ADMIN`` token permission (communities/manager.go accountsSatisfyPermissionsToJoin);
the status-go peer's ledger (tests/interop/statusgo/ledger.go) credits pystatus's address, and
admincommands.go adds the permission type and a roles query. pystatus, as admin, adds a
channel and accepts a third account's request; both travel as a CommunityEventsMessage
(type 67), which status-go's control node validates, applies and republishes in its
description, and answers the request (manager.go HandleCommunityEventsMessage,
handleCommunityEventRequestAccepted; messenger_communities.go AcceptedRequestsToJoin).

Network as in test_statusgo_communities.py (one pystatus relay + store node between them).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.community import Roles
from pystatus.chat.community_requests import ethereum_address
from pystatus.chat.messenger import Messenger
from tests.interop.statusgo_network import (
    FAST,
    chat_messenger,
    hex_key,
    meshed,
    next_event,
    status_network,
)
from tests.interop.statusgo_peer import StatusGoPeer, require_statusgo
from tests.interop.test_statusgo_communities import wait_for_async
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TOKEN = "0x" + "ad" * 20
"""The made-up ERC20 contract the BECOME_ADMIN permission names (chain 1)."""


async def _asks_until_held(
    member: Messenger, bob: StatusGoPeer, community_id: str, me: str
) -> None:
    """The request to join, sent again until status-go's control node holds it (a request
    relayed before the shard-64 mesh settles can be lost)."""

    async def pending() -> bool:
        found = await bob.request("community_requests", communityId=community_id)
        return any(r["publicKey"] == me for r in found["requests"])

    async with asyncio.timeout(60):
        while True:
            await member.join_community(community_id, display_name="member")
            with contextlib.suppress(TimeoutError):
                await wait_for_async(pending, timeout=5)
                return


async def test_pystatus_admin_adds_a_channel_and_accepts_a_request(tmp_path: Path) -> None:
    """status-go makes a community needing approval with a BECOME_ADMIN permission; the
    ledger credits alice's address; alice (pystatus) asks, is accepted as admin; alice adds a
    channel and accepts carol's (pystatus) request as events; status-go applies both and
    republishes; carol joins and sees the channel."""
    require_statusgo()
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    carol_account, _ = Account.create(tmp_path / "carol", "carol password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(
            waku_nodes=[network.service_addr],
            store_nodes=[network.service_addr],
            display_name="bob",
        ) as bob,
    ):
        await meshed(network, shards=(32, 64))
        async with (
            chat_messenger(network, alice_account) as alice,
            chat_messenger(network, carol_account) as carol,
        ):
            created = await bob.request("community_create", name="Admins", manual=True)
            community_id = str(created["communityId"])
            await bob.request(
                "community_permission",
                communityId=community_id,
                type="become_admin",
                token=TOKEN,
                amount="1",
            )
            address = ethereum_address(alice_account.keys.chat_public_key)
            await bob.request("ledger_credit", token=TOKEN, address=address, amount="1")
            alice_key = hex_key(alice_account)
            alice_events = alice.events()
            await _asks_until_held(alice, bob, community_id, alice_key)
            await bob.request("community_accept", communityId=community_id, member=alice_key)
            await next_event(alice_events, "community", lambda e: e.text == "joined", timeout=60)
            roles = await bob.request("community_roles", communityId=community_id)
            assert roles["roles"][alice_key] == [Roles.ROLE_ADMIN]

            def alice_is_admin() -> bool:
                community = alice.community(community_id)
                return community is not None and community.is_privileged(alice_key)

            await wait_for(alice_is_admin, timeout=30, what="alice sees her admin role")

            def alice_holds_signed() -> bool:
                community = alice.community(community_id)
                return community is not None and bool(community.wrapped)

            await wait_for(alice_holds_signed, timeout=30, what="the signed description")
            # alice (admin) adds a channel: status-go's control node applies and republishes
            before = int(roles["clock"])
            chat_id = await alice.add_community_channel(community_id, "from-admin")

            async def bob_has_it() -> bool:
                known = await bob.request("community", communityId=community_id)
                return any(c["chatId"] == chat_id for c in known["channels"])

            await wait_for_async(bob_has_it, timeout=30)

            def alice_sees_republished() -> bool:
                community = alice.community(community_id)
                return (
                    community is not None
                    and community.clock > before
                    and any(c.chat_id == chat_id for c in community.channels.values())
                )

            await wait_for(alice_sees_republished, timeout=30, what="status-go republishes")
            # carol asks; alice accepts as admin; status-go answers carol
            carol_key = hex_key(carol_account)
            carol_events = carol.events()
            await _asks_until_held(carol, bob, community_id, carol_key)
            await alice.accept_community_request(community_id, carol.chat_key)
            await next_event(carol_events, "community", lambda e: e.text == "joined", timeout=30)
            joined = carol.community(community_id)
            assert joined is not None and joined.is_member(carol_key)
            assert any(c.chat_id == chat_id for c in joined.channels.values())
            known = await bob.request("community", communityId=community_id)
            assert carol_key in known["members"]


async def test_status_go_admin_adds_a_channel_to_a_pystatus_community(tmp_path: Path) -> None:
    """pystatus creates an open community; status-go joins and pystatus (the control node)
    makes it admin; status-go adds a channel, which as an admin it sends as a
    CommunityEventsMessage (community.go CreateChat); pystatus validates, applies and
    republishes it, and status-go takes the new description."""
    require_statusgo()
    alice_account, _ = Account.create(tmp_path / "alice", "alice password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(
            waku_nodes=[network.service_addr],
            store_nodes=[network.service_addr],
            display_name="bob",
        ) as bob,
    ):
        await meshed(network, shards=(32, 64))
        async with chat_messenger(network, alice_account) as alice:
            community_id = await alice.create_community("Mixed", about="from pystatus")
            await alice.add_community_channel(community_id, "general")
            await bob.request("community_fetch", communityId=community_id, timeout=60)
            await bob.request("community_join", communityId=community_id)

            async def bob_member() -> bool:
                view = await bob.request("community", communityId=community_id)
                return bool(view["joined"]) and bob.public_key in view["members"]

            await wait_for_async(bob_member, timeout=60)
            await alice.set_community_admin(community_id, bob.compressed_key)

            async def bob_admin() -> bool:
                view = await bob.request("community_roles", communityId=community_id)
                return bool(view["roles"].get(bob.public_key) == [Roles.ROLE_ADMIN])

            await wait_for_async(bob_admin, timeout=30)
            before = alice.community(community_id)
            assert before is not None
            made = await bob.request(
                "community_channel", communityId=community_id, name="by-status-go"
            )
            chat_id = str(made["chatId"])

            def alice_applied() -> bool:
                community = alice.community(community_id)
                return (
                    community is not None
                    and community.clock > before.clock
                    and any(c.chat_id == chat_id for c in community.channels.values())
                )

            await wait_for(alice_applied, timeout=30, what="pystatus applies status-go's event")
            after = alice.community(community_id)
            assert after is not None

            async def bob_took_it() -> bool:
                view = await bob.request("community_roles", communityId=community_id)
                return int(view["clock"]) >= after.clock

            await wait_for_async(bob_took_it, timeout=30)
