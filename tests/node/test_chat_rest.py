"""/chat/v1 on two nodes: one account messages the other through REST."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from pystatus.api.server import RestServer
from pystatus.chat.account import Account
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.node import NodeConfig, RestConfig, WakuNode
from tests.p2p.hosts import wait_for, within

FAST = ScryptParams(n=1 << 10)


@contextlib.asynccontextmanager
async def _chatting_node(
    directory: Path, peer: WakuNode | None = None
) -> AsyncIterator[tuple[WakuNode, Messenger, httpx.AsyncClient]]:
    account, _ = Account.create(directory, "a password", params=FAST)
    config = NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        rest=RestConfig(port=0),
    )
    async with WakuNode(config) as node:
        if peer is not None:
            await within(node.connect(peer.host.full_addrs()[0]))
        assert node.relay is not None
        async with Messenger(account, RelayTransport(node.relay)) as messenger:
            assert config.rest is not None
            server = RestServer(node, config.rest, messenger)
            await server.start()
            try:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                    yield node, messenger, client
            finally:
                await server.stop()


async def test_send_and_read_over_rest(tmp_path: Path) -> None:
    async with (
        _chatting_node(tmp_path / "a") as (node_a, _, alice),
        _chatting_node(tmp_path / "b", node_a) as (node_b, bob_messenger, bob),
    ):
        relay = node_b.relay
        assert relay is not None
        await wait_for(lambda: all(relay.mesh_size(t) > 0 for t in relay.topics), timeout=20)
        bob_key = (await bob.get("/chat/v1/account")).json()["chatKey"]
        assert bob_key == bob_messenger.chat_key
        sent = await alice.post("/chat/v1/messages", json={"to": bob_key, "text": "over REST"})
        assert sent.status_code == 200, sent.text
        message_id = sent.json()["id"]

        async def bob_has_it() -> list[dict[str, object]]:
            for chat in (await bob.get("/chat/v1/chats")).json():
                messages = (await bob.get(f"/chat/v1/chats/{chat['id']}/messages")).json()
                if messages:
                    return list(messages)
            return []

        async with asyncio.timeout(10):
            while not (received := await bob_has_it()):
                await asyncio.sleep(0.05)
        assert received[0]["id"] == message_id and received[0]["text"] == "over REST"
        assert received[0]["outgoing"] is False

        bad = await alice.post("/chat/v1/messages", json={"to": "not a key", "text": "x"})
        assert bad.status_code == 400
        joined = await alice.post("/chat/v1/public/pystatus")
        assert joined.json() == {
            "id": "pystatus",
            "kind": "public",
            "name": "pystatus",
            "active": True,
        }
        # Named as the app names it: "#PyStatus" is the same chat, so a bot meets app users.
        again = await alice.post("/chat/v1/public/%23PyStatus")
        assert again.status_code == 200 and again.json()["id"] == "pystatus"
        refused = await alice.post("/chat/v1/public/no%20spaces")
        assert refused.status_code == 400 and "not a public chat name" in refused.text
        posted = await alice.post("/chat/v1/public/%23PyStatus/messages", json={"text": "hi all"})
        assert posted.status_code == 200
        history = (await alice.get("/chat/v1/chats/pystatus/messages")).json()
        assert [m["text"] for m in history] == ["hi all"]


async def test_contacts_edits_deletes_and_pins_over_rest(tmp_path: Path) -> None:
    async with (
        _chatting_node(tmp_path / "a") as (node_a, alice_messenger, alice),
        _chatting_node(tmp_path / "b", node_a) as (node_b, bob_messenger, bob),
    ):
        relay = node_b.relay
        assert relay is not None
        await wait_for(lambda: all(relay.mesh_size(t) > 0 for t in relay.topics), timeout=20)
        alice_key, bob_key = alice_messenger.chat_key, bob_messenger.chat_key

        named = await alice.post("/chat/v1/account/display-name", json={"displayName": "Alice L"})
        assert named.status_code == 200 and named.json()["displayName"] == "Alice L"
        bad = await alice.post("/chat/v1/account/display-name", json={"displayName": "x"})
        assert bad.status_code == 400
        asked = await alice.post(f"/chat/v1/contacts/{bob_key}/request", json={"text": "hi bob"})
        assert asked.status_code == 200, asked.text
        request_id = asked.json()["id"]

        async def requests() -> list[dict[str, object]]:
            return list((await bob.get("/chat/v1/requests")).json())

        async with asyncio.timeout(10):
            while not (pending := await requests()):
                await asyncio.sleep(0.05)
        assert (pending[0]["chatKey"], pending[0]["requestId"]) == (alice_key, request_id)
        assert pending[0]["displayName"] == "Alice L"
        assert (await bob.post(f"/chat/v1/contacts/{bob_key}/accept")).status_code == 409
        assert (await bob.post("/chat/v1/contacts/not-a-key/accept")).status_code == 400
        accepted = await bob.post(f"/chat/v1/contacts/{alice_key}/accept")
        assert accepted.status_code == 200 and accepted.json()["state"] == "mutual"
        [chat] = (await bob.get("/chat/v1/chats")).json()
        assert chat["active"] is True

        async def alice_sees(state: str) -> None:
            async with asyncio.timeout(10):
                while True:
                    people = (await alice.get("/chat/v1/contacts")).json()
                    if [p["state"] for p in people if p["chatKey"] == bob_key] == [state]:
                        return
                    await asyncio.sleep(0.05)

        await alice_sees("mutual")

        sent = (await alice.post("/chat/v1/messages", json={"to": bob_key, "text": "helo"})).json()
        message_id = sent["id"]
        edited = await alice.post(f"/chat/v1/messages/{message_id}/edit", json={"text": "hello"})
        assert edited.status_code == 200, edited.text
        assert (
            await bob.post(f"/chat/v1/messages/{message_id}/edit", json={"text": "x"})
        ).status_code in (
            404,
            409,
        )
        assert (await alice.post("/chat/v1/messages/0x00/delete")).status_code == 404
        chat_id = f"0x{bob_messenger.account.keys.chat_public_key.hex()}"

        async def bob_reads() -> dict[str, object]:
            async with asyncio.timeout(10):
                while True:
                    found = await bob.get(f"/chat/v1/messages/{message_id}")
                    if found.status_code == 200 and found.json()["edited"]:
                        return dict(found.json())
                    await asyncio.sleep(0.05)

        assert (await bob_reads())["text"] == "hello"
        pinned = await bob.post(f"/chat/v1/messages/{message_id}/pin", json={"pinned": True})
        assert pinned.status_code == 200
        deleted = await alice.post(f"/chat/v1/messages/{message_id}/delete")
        assert deleted.status_code == 200
        history = (await alice.get(f"/chat/v1/chats/{chat_id}/messages")).json()
        assert [m["contentType"] for m in history] == [11, 1], "the request, then the message"
        mine = history[1]
        assert (mine["id"], mine["deleted"], mine["edited"], mine["text"]) == (
            message_id,
            True,
            True,
            "",
        )
        retracted = await alice.post(f"/chat/v1/contacts/{bob_key}/retract")
        assert retracted.status_code == 200 and retracted.json()["state"] == "none"
        events = (await bob.get("/chat/v1/events")).json()["events"]
        assert {"contact_request", "contact", "edit"} <= {e["kind"] for e in events}
