"""GET /chat/v1/search: messages found by their text in the node's encrypted chat database."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from pystatus.api.server import RestServer
from pystatus.chat.account import Account
from pystatus.chat.database import Batch, EditRecord, StoredMessage
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.proto import chat_message_pb2
from pystatus.node import NodeConfig, RestConfig, WakuNode
from tests.chat.content_helpers import pb

FAST = ScryptParams(n=1 << 10)
PARTNER = "zQ3shPartner"


def stored(message_id: str, author: str, text: str, clock: int) -> StoredMessage:
    body = pb(
        chat_message_pb2.ChatMessage, clock=clock, timestamp=clock, text=text, content_type=1
    ).SerializeToString()
    return StoredMessage(message_id, "0xchat", author, clock, clock, body)


@contextlib.asynccontextmanager
async def _node(directory: Path) -> AsyncIterator[tuple[Messenger, httpx.AsyncClient]]:
    account, _ = Account.create(directory, "a password", params=FAST)
    config = NodeConfig(listen_address="127.0.0.1", tcp_port=0, rest=RestConfig(port=0))
    async with WakuNode(config) as node:
        assert node.relay is not None and config.rest is not None
        async with Messenger(account, RelayTransport(node.relay)) as messenger:
            server = RestServer(node, config.rest, messenger)
            await server.start()
            try:
                async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                    yield messenger, client
            finally:
                await server.stop()


async def test_search_over_rest(tmp_path: Path) -> None:
    async with _node(tmp_path) as (messenger, client):
        me = messenger.chat_key
        await messenger.database.add_messages(
            [
                stored("m1", PARTNER, "the ferry leaves at noon", 1),
                stored("m2", me, "noon works, see you at the ferry", 2),
                stored("m3", PARTNER, "bring the FERRY tickets", 3),
                stored("m4", PARTNER, "unrelated", 4),
            ]
        )
        await messenger.database.commit(
            Batch(deletes=["m3"], edits=[EditRecord("m4", b"", 0)])  # clock 0: no edit
        )
        await messenger.database.commit(
            Batch(edits=[EditRecord("m4", stored("m4", PARTNER, "ferry moved", 9).body, 9)])
        )

        answer = await client.get("/chat/v1/search", params={"q": "ferry"})
        assert answer.status_code == 200, answer.text
        found = answer.json()
        assert [m["id"] for m in found] == ["m4", "m2", "m1"]
        assert found[0]["text"] == "ferry moved" and found[0]["edited"] is True
        assert found[1]["outgoing"] is True and found[2]["outgoing"] is False
        assert found[2]["author"] == PARTNER and found[2]["chatId"] == "0xchat"

        limited = await client.get("/chat/v1/search", params={"q": "FERRY noon", "limit": 1})
        assert [m["id"] for m in limited.json()] == ["m2"]
        syntax = await client.get("/chat/v1/search", params={"q": '" AND NEAR( *'})
        assert syntax.status_code == 200 and syntax.json() == []
        assert (await client.get("/chat/v1/search", params={"q": "   "})).status_code == 400
        assert (await client.get("/chat/v1/search", params={"q": ""})).status_code == 400
        assert (await client.get("/chat/v1/search")).status_code == 400
        too_many = await client.get("/chat/v1/search", params={"q": "x", "limit": 501})
        assert too_many.status_code == 400
