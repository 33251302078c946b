"""pystatus as a member of an encrypted community status-go v1.1.0 controls (issue 17: after a
ban and key rotation, the banned member cannot read later messages).

status-go encrypts a community with a ``BECOME_MEMBER`` token permission (one ERC20
criterion, made as the app makes it: the peer's ``community_permission``); its control node
checks the address pystatus reveals against the peer's test ledger. Then status-go seals the
description's members and channels, sends the key 1:1 before its answer (from its chat key,
which pystatus cannot yet name the owner: the members are sealed), and its answer and
descriptions come inside ProtocolMessages, not bare. pystatus keeps the refused key aside and
takes it once the signed description opens under it, joins, reads status-go's post and posts
under the key; status-go bans it and rotates the key to no one, and pystatus cannot read the
next post (``no_group_key``).

Network as in test_statusgo_communities.py (one pystatus relay + store node between them).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from pystatus.chat.community_keys import group_id
from pystatus.chat.community_private_data import RESULTS
from pystatus.chat.community_requests import ethereum_address
from pystatus.chat.messenger import Messenger
from pystatus.chat.reliability import DROPPED
from tests.interop.statusgo_network import hex_key, next_event
from tests.interop.statusgo_peer import StatusGoPeer
from tests.interop.test_statusgo_communities import _alice_and_bob, _message, wait_for_async
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]

TOKEN = "0x" + "7e" * 20
"""A made-up ERC20 contract (chain 1) the permission names; the peer's ledger holds it."""


def _count(counter: object, label: str) -> float:
    return float(counter.labels(label)._value.get())  # type: ignore[attr-defined]


async def _ask_until_held(alice: Messenger, bob: StatusGoPeer, community_id: str, me: str) -> None:
    """pystatus's request to join, sent again until status-go's control node holds it (one
    relayed before the shard-64 mesh settles can be lost)."""

    async def pending() -> bool:
        found = await bob.request("community_requests", communityId=community_id)
        return any(r["publicKey"] == me for r in found["requests"])

    async with asyncio.timeout(90):
        while True:
            await alice.join_community(community_id, display_name="alice")
            with contextlib.suppress(TimeoutError):
                await wait_for_async(pending, timeout=5)
                return


async def test_pystatus_joins_status_go_encrypted_community_and_is_cut_off_by_a_ban(
    tmp_path: Path,
) -> None:
    async with _alice_and_bob(tmp_path) as (account, bob, alice):
        events = alice.events()
        created = await bob.request("community_create", name="Sealed", manual=True)
        community_id = str(created["communityId"])
        general = str(created["channels"][0]["chatId"])
        made = await bob.request(
            "community_permission",
            communityId=community_id,
            type="become_member",
            token=TOKEN,
            amount="1",
        )
        assert made["encrypted"] is True
        address = ethereum_address(account.keys.chat_public_key)
        await bob.request("ledger_credit", token=TOKEN, address=address, amount="5")
        me = hex_key(account)
        proven = _count(RESULTS, "proven")
        await _ask_until_held(alice, bob, community_id, me)
        await bob.request("community_accept", communityId=community_id, member=me)
        await next_event(events, "community", lambda e: e.text == "joined", timeout=90)
        community = alice.community(community_id)
        assert community is not None and community.encrypted and community.is_member(me)
        assert _count(RESULTS, "proven") > proven  # the key status-go sent before its answer
        ratchet = alice.session.hash_ratchet
        assert ratchet is not None
        first = ratchet.current_key(group_id(community))
        assert first is not None
        # status-go's post under its key, read here; ours, read there
        sent = await bob.request("send", chatId=general, text="sealed hello")
        got = await next_event(events, "message", lambda e: e.chat_id == general, timeout=90)
        assert (got.id, got.text) == (sent["messageId"], "sealed hello")
        mine = await alice.send_community(general, "hello from pystatus")
        seen = await bob.wait_event(_message("hello from pystatus", general), timeout=90)
        assert seen["id"] == mine
        # the ban: status-go makes a new key for those left (no one); its next post is
        # dropped here for want of it
        await bob.request("community_ban", communityId=community_id, member=me)
        # status-go tells it with a kick, then its description names it banned (its members,
        # sealed under the new key, are not ours to read any more)
        await next_event(events, "community", lambda e: e.text == "kicked", timeout=90)

        def banned() -> bool:
            view = alice.community(community_id)
            return view is not None and view.is_banned(me) and not view.members

        await wait_for(banned, timeout=90, what="the description that bans pystatus")
        assert not alice.community_joined(community_id)
        no_key = _count(DROPPED, "no_group_key")
        await bob.request("send", chatId=general, text="after the ban")
        await wait_for(
            lambda: _count(DROPPED, "no_group_key") > no_key,
            timeout=90,
            what="the post after the ban held unread",
        )
        assert ratchet.current_key(group_id(community)) == first
