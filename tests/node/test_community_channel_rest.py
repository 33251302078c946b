"""/chat/v1/communities over REST (issue 17): creation makes #general unless ``general`` is
false; a channel added with a ``category`` goes into that category (made once, by name); a
post replies; a channel's message is reacted to, edited, pinned and deleted under
``/channels/{channel}/messages/{id}/...``, and a message of another channel is 404."""

from __future__ import annotations

from pathlib import Path

from pystatus.chat.community_chats import ReadOnlyChannel
from tests.node.test_chat_rest import _chatting_node


async def test_general_categories_and_message_actions_over_rest(tmp_path: Path) -> None:
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        reply = await client.post("/chat/v1/communities", json={"name": "Cats"})
        assert reply.status_code == 200, reply.text
        community = reply.json()
        cid = community["id"]
        assert [c["name"] for c in community["channels"]] == ["general"]
        general = community["channels"][0]["chatId"]
        bare = await client.post("/chat/v1/communities", json={"name": "Bare", "general": False})
        assert bare.json()["channels"] == []
        # categories, by name: made once, then reused
        first = await client.post(
            f"/chat/v1/communities/{cid}/channels", json={"name": "news", "category": "Talk"}
        )
        second = await client.post(
            f"/chat/v1/communities/{cid}/channels", json={"name": "memes", "category": "Talk"}
        )
        assert first.status_code == 200, first.text
        news, memes = first.json(), second.json()
        assert news["category"] == memes["category"] == "Talk"
        assert news["categoryId"] == memes["categoryId"] != ""
        assert (news["position"], memes["position"]) == (0, 1)
        # a post, and a reply to it
        posted = await client.post(
            f"/chat/v1/communities/{cid}/posts", json={"chatId": general, "text": "hello"}
        )
        assert posted.status_code == 200, posted.text
        post = posted.json()["id"]
        replied = await client.post(
            f"/chat/v1/communities/{cid}/posts",
            json={"chatId": general, "text": "welcome", "responseTo": post},
        )
        reply_id = replied.json()["id"]
        stored = await messenger.message(reply_id)
        assert stored is not None and stored.response_to == post
        # actions on the post, the channel named by its chat id or its id
        channel_id = general[len(cid) :]
        base = f"/chat/v1/communities/{cid}/channels"
        react = await client.post(
            f"{base}/{channel_id}/messages/{post}/react", json={"reaction": 1}
        )
        assert react.status_code == 200, react.text
        assert await messenger.reactions(post) == [(messenger.chat_key, 1)]
        edit = await client.post(f"{base}/{general}/messages/{post}/edit", json={"text": "hi"})
        assert edit.status_code == 200, edit.text
        edited = await messenger.message(post)
        assert edited is not None and edited.text == "hi"
        pin = await client.post(f"{base}/{general}/messages/{post}/pin", json={})
        assert pin.status_code == 200, pin.text
        assert await messenger.pinned(general) == [post]
        wrong = await client.post(f"{base}/{news['chatId']}/messages/{post}/delete")
        assert wrong.status_code == 404
        delete = await client.post(f"{base}/{general}/messages/{post}/delete")
        assert delete.status_code == 200, delete.text
        gone = await messenger.message(post)
        assert gone is not None and gone.deleted
        again = await client.post(f"{base}/{general}/messages/{post}/edit", json={"text": "x"})
        assert again.status_code == 409


async def test_a_channel_refusal_on_the_message_routes_is_409(tmp_path: Path) -> None:
    """/chat/v1/messages/{id}/pin on a channel's message that the community's rules refuse
    (status-go's CanPost, here made to say no) answers 409, not 503."""
    async with _chatting_node(tmp_path / "a") as (_, messenger, client):
        community = (await client.post("/chat/v1/communities", json={"name": "Cats"})).json()
        general = community["channels"][0]["chatId"]
        post = await messenger.send_community(general, "hello")

        def refuse(chat_id: str, message_type: int = 0) -> str:
            raise ReadOnlyChannel("this channel is read-only for us")

        messenger._communities.check_post = refuse  # type: ignore[method-assign]
        pinned = await client.post(f"/chat/v1/messages/{post}/pin", json={"pinned": True})
        assert pinned.status_code == 409, pinned.text
        assert await messenger.pinned(general) == []
