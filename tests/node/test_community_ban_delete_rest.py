"""POST /chat/v1/communities/{id}/ban with ``deleteAllMessages`` (issue 17, status-go's
BanUserFromCommunity): the control node's description bans the member with
``CommunityBanInfo.delete_all_messages`` and the member's posts there are deleted; without it
they stay."""

from __future__ import annotations

import time
from pathlib import Path

import coincurve

from pystatus.chat.community import member_key
from pystatus.chat.database import StoredMessage
from pystatus.chat.keys import chat_key_text
from pystatus.chat.writes import Write
from tests.node.test_chat_rest import _chatting_node


async def test_ban_deleting_all_messages_over_rest(tmp_path: Path) -> None:
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        community = (await client.post("/chat/v1/communities", json={"name": "Cats"})).json()
        cid, general = community["id"], community["channels"][0]["chatId"]
        keys = [coincurve.PrivateKey().public_key.format(compressed=False) for _ in range(2)]
        for n, public in enumerate(keys):
            messenger._communities.accept(cid, member_key(public), time.time_ns() // 10**6)
            post = StoredMessage(f"0x{n:064x}", general, chat_key_text(public), 1, 1, b"")
            await messenger._commit(Write(post))
        kept, gone = (chat_key_text(k) for k in keys)
        plain = await client.post(f"/chat/v1/communities/{cid}/ban", json={"chatKey": kept})
        assert plain.status_code == 200, plain.text
        deleting = await client.post(
            f"/chat/v1/communities/{cid}/ban", json={"chatKey": gone, "deleteAllMessages": True}
        )
        assert deleting.status_code == 200, deleting.text
        found = messenger.community(cid)
        assert found is not None
        banned = found.description.banned_members
        assert not banned[member_key(keys[0])].delete_all_messages
        assert banned[member_key(keys[1])].delete_all_messages
        history = await messenger.database.history(general)
        assert {m.author: m.deleted for m in history} == {kept: False, gone: True}
