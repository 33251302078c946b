"""POST /chat/v1/messages/{id}/resend on a failed post of ours in a community channel sends
it again (200; it answered 500 before: the resend took a channel's chat id for a 1:1 chat's
key)."""

from __future__ import annotations

from pathlib import Path

from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.writes import Write
from tests.node.test_chat_rest import _chatting_node


async def test_resend_a_failed_channel_post_over_rest(tmp_path: Path) -> None:
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        community_id = await messenger.create_community("Cats")
        channel = await messenger.add_community_channel(community_id, "general")
        post = await messenger.send_community(channel, "lost")
        messenger.session.tracker.failed(post)
        await messenger._commit(Write(statuses=[(post, str(DeliveryStatus.FAILED))]))
        reply = await client.post(f"/chat/v1/messages/{post}/resend")
        assert reply.status_code == 200, reply.text
        stored = await messenger.message(post)
        assert stored is not None and stored.status != "failed"
