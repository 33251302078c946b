"""Joining a community by id in the web client with no store node known to ask for its
description: the community's screen says in one line that the request leaves when the
description comes on relay (join_community's False was ignored). Over HTTP, no browser."""

from __future__ import annotations

from pathlib import Path

import httpx

from pystatus.node import WakuNode
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.web.render_community import RELAY_ONLY_NOTICE
from tests.web.helpers import node_config, web_peer
from tests.web.test_security import PASSWORD, _unlocked


async def test_join_with_no_store_node_says_it_waits_on_relay(tmp_path: Path) -> None:
    unknown = "0x" + Secp256k1PrivateKey.generate().public_key.to_bytes().hex()
    async with (
        WakuNode(node_config()) as node,
        web_peer(tmp_path / "me", PASSWORD, node=node) as me,
        httpx.AsyncClient(base_url=me.url) as client,
    ):
        token = await _unlocked(client)
        joined = await client.post("/communities/join", data={"id": unknown, "csrf": token})
        assert joined.status_code == 303, joined.text
        page = (await client.get(joined.headers["location"])).text
        assert f'Asked to join <code class="key">{unknown}</code>' in page
        notice = RELAY_ONLY_NOTICE.split(":")[0]
        assert page.count(notice) == 1, page
