"""/chat/v1/communities/{id}/admins over REST (issue 17, Members and roles): the control node
makes a member admin and takes the role back; members list their roles; a key that is no
member, or a community we do not control, is 409."""

from __future__ import annotations

import time
from pathlib import Path

import coincurve

from pystatus.chat.community import member_key
from pystatus.chat.keys import chat_key_text
from tests.node.test_chat_rest import _chatting_node


async def test_admin_granted_and_revoked_over_rest(tmp_path: Path) -> None:
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        community = (await client.post("/chat/v1/communities", json={"name": "Cats"})).json()
        cid = community["id"]
        assert [m["roles"] for m in community["members"]] == [["owner"]]
        public = coincurve.PrivateKey().public_key.format(compressed=False)
        key = chat_key_text(public)
        messenger._communities.accept(cid, member_key(public), time.time_ns() // 10**6)
        granted = await client.post(f"/chat/v1/communities/{cid}/admins", json={"chatKey": key})
        assert granted.status_code == 200, granted.text
        roles = {m["chatKey"]: (m["roles"], m["privileged"]) for m in granted.json()["members"]}
        assert roles[key] == (["admin"], True)
        revoked = await client.delete(f"/chat/v1/communities/{cid}/admins/{key}")
        assert revoked.status_code == 200, revoked.text
        roles = {m["chatKey"]: (m["roles"], m["privileged"]) for m in revoked.json()["members"]}
        assert roles[key] == ([], False)
        stranger = chat_key_text(coincurve.PrivateKey().public_key.format(compressed=False))
        refused = await client.post(
            f"/chat/v1/communities/{cid}/admins", json={"chatKey": stranger}
        )
        assert refused.status_code == 409, refused.text
