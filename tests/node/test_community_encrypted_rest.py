"""POST /chat/v1/communities with ``encrypted``: the community is created encrypted (a
BECOME_MEMBER permission, a hash ratchet key made) and says so in its JSON."""

from __future__ import annotations

from pathlib import Path

from pystatus.chat.community_keys import group_id
from tests.node.test_chat_rest import _chatting_node


async def test_create_an_encrypted_community_over_rest(tmp_path: Path) -> None:
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        reply = await client.post(
            "/chat/v1/communities",
            json={"name": "Vault", "manualAccept": True, "encrypted": True},
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["encrypted"], body["access"]) == (True, "manual")
        community = messenger.community(body["id"])
        assert community is not None and community.encrypted
        assert messenger.session.hash_ratchet is not None
        assert messenger.session.hash_ratchet.current_key(group_id(community)) is not None
        plain = (await client.post("/chat/v1/communities", json={"name": "Open"})).json()
        assert plain["encrypted"] is False
