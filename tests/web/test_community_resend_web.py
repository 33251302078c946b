"""A failed post of ours in a community channel: the web client shows Resend on it (it hid
Resend in channels), the resend goes through, and REST's /chat/v1/messages/{id}/resend does
the same (it answered 500: the resend took a channel's chat id for a 1:1 chat's key). Over
HTTP, no browser; one node."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import httpx

from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.messenger import Messenger
from pystatus.chat.writes import Write
from pystatus.node import WakuNode
from tests.web.helpers import node_config, web_peer
from tests.web.test_security import PASSWORD, _unlocked


async def _failed_post(messenger: Messenger) -> tuple[str, str]:
    """(channel chat id, our post there), the post marked failed as when nothing took it."""
    community_id = await messenger.create_community("Cats")
    channel = await messenger.add_community_channel(community_id, "general")
    post = await messenger.send_community(channel, "lost")
    messenger.session.tracker.failed(post)
    await messenger._commit(Write(statuses=[(post, str(DeliveryStatus.FAILED))]))
    stored = await messenger.message(post)
    assert stored is not None and stored.status == "failed"
    return channel, post


async def test_a_failed_channel_post_shows_resend_and_is_resent(tmp_path: Path) -> None:
    async with (
        WakuNode(node_config()) as node,
        web_peer(tmp_path / "me", PASSWORD, node=node) as me,
        httpx.AsyncClient(base_url=me.url) as client,
    ):
        token = await _unlocked(client)
        channel, post = await _failed_post(me.messenger)
        page = (await client.get(f"/?chat={quote(channel)}")).text
        assert f'action="/messages/{post}/resend"' in page, "no Resend on the failed post"
        resent = await client.post(
            f"/messages/{post}/resend", data={"chat": channel, "csrf": token}
        )
        assert resent.status_code == 303, resent.text
        stored = await me.messenger.message(post)
        assert stored is not None and stored.status != "failed"
