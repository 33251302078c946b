"""POST /chat/v1/communities/{id}/join with no store node known and the description not here:
202, with a statusDesc saying the request waits on relay for the description (was a 200 as if
it had left)."""

from __future__ import annotations

from pathlib import Path

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from tests.node.test_chat_rest import _chatting_node


async def test_join_without_a_store_node_answers_202_waiting_on_relay(tmp_path: Path) -> None:
    unknown = "0x" + Secp256k1PrivateKey.generate().public_key.to_bytes().hex()
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        reply = await client.post(f"/chat/v1/communities/{unknown}/join")
        assert reply.status_code == 202, reply.text
        body = reply.json()
        assert body["id"] == unknown
        assert "relay" in body["statusDesc"] and "store" in body["statusDesc"]
        assert messenger.community(unknown) is None
        schema = (await client.get("/openapi.json")).json()
        answers = schema["paths"]["/chat/v1/communities/{communityId}/join"]["post"]["responses"]
        assert "202" in answers
