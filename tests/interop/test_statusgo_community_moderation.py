"""status-go v1.1.0's control node deletes a pystatus member's messages (issue 17): it bans B
with "delete all messages" (BanUserFromCommunity, the description's
CommunityBanInfo.delete_all_messages) and A, another pystatus member, sees B's posts deleted
while her own stays; then it orders one of A's posts deleted (DeleteCommunityMemberMessages,
type 85, signed by the community key) and A sees exactly that one go. Network as in
test_statusgo_communities.py; the peer's commands are in statusgo/moderationcommands.go."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pystatus.chat.account import Account
from pystatus.chat.messenger import ChatEvent, Messenger
from tests.interop.statusgo_network import (
    FAST,
    chat_messenger,
    hex_key,
    meshed,
    next_event,
    status_network,
)
from tests.interop.statusgo_peer import StatusGoPeer, require_statusgo
from tests.interop.test_statusgo_communities import _message
from tests.interop.test_statusgo_community_admins import _asks_until_held
from tests.p2p.hosts import wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def _text(text: str) -> Callable[[ChatEvent], bool]:
    return lambda event: event.text == text


async def _deleted(messenger: Messenger, chat_id: str) -> dict[str, bool]:
    return {m.id: m.deleted for m in await messenger.database.history(chat_id)}


async def test_status_go_bans_deleting_all_and_orders_a_deletion(tmp_path: Path) -> None:
    require_statusgo()
    a_account, _ = Account.create(tmp_path / "a", "a password", params=FAST)
    b_account, _ = Account.create(tmp_path / "b", "b password", params=FAST)
    async with (
        status_network(tmp_path) as network,
        StatusGoPeer(
            waku_nodes=[network.service_addr],
            store_nodes=[network.service_addr],
            display_name="owner",
        ) as owner,
    ):
        await meshed(network, shards=(32, 64))
        async with (
            chat_messenger(network, a_account) as a,
            chat_messenger(network, b_account) as b,
        ):
            created = await owner.request("community_create", name="Moderated", manual=True)
            community_id = str(created["communityId"])
            general = str(created["channels"][0]["chatId"])
            a_events, b_events = a.events(), b.events()
            for member, events, account in ((a, a_events, a_account), (b, b_events, b_account)):
                key = hex_key(account)
                await _asks_until_held(member, owner, community_id, key)
                await owner.request("community_accept", communityId=community_id, member=key)
                await next_event(events, "community", lambda e: e.text == "joined", timeout=30)
            b_key = hex_key(b_account)

            def both_listed() -> bool:
                view = a.community(community_id)
                return view is not None and view.is_member(b_key)

            await wait_for(both_listed, timeout=30, what="A's description listing B")
            # B posts twice, A once; A holds all three, status-go has them too
            posted = [await b.send_community(general, text) for text in ("b one", "b two")]
            mine = await a.send_community(general, "a stays")
            for text in ("b one", "b two"):
                await next_event(a_events, "message", _text(text), timeout=30)
            await owner.wait_event(_message("b two", general), timeout=30)
            await owner.wait_event(_message("a stays", general), timeout=30)
            # status-go bans B deleting all of B's messages: A deletes B's posts
            await owner.request("community_ban_delete", communityId=community_id, member=b_key)
            gone = {
                (await next_event(a_events, "delete", timeout=30)).id,
                (await next_event(a_events, "delete", timeout=30)).id,
            }
            assert gone == set(posted)
            assert await _deleted(a, general) == {posted[0]: True, posted[1]: True, mine: False}
            # a type 85 order naming A's post, signed by the community key
            ordered = await owner.request(
                "community_delete_member_messages",
                communityId=community_id,
                member=hex_key(a_account),
                messageId=mine,
                chatId=general,
            )
            assert ordered["deleted"] == [mine]
            event = await next_event(a_events, "delete", timeout=30)
            assert event.id == mine
            assert all((await _deleted(a, general)).values())
