"""Reactions, edits, replies, pins and deletes in a community channel between pystatus and a
status-go v1.1.0 account (issue 17): each side reacts to the other's post and edits its own,
and the other sees it; pystatus, the control node, pins status-go's post and deletes it as
an admin (status-go's CanDeleteMessageForEveryone), and status-go shows both.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pystatus.chat.events import ChatEvent
from tests.interop.statusgo_network import next_event
from tests.interop.statusgo_peer import Event
from tests.interop.test_statusgo_communities import _alice_and_bob, _message, wait_for_async

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def _event(name: str, **fields: object) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("event") == name and all(event.get(k) == v for k, v in fields.items())

    return match


async def test_reactions_edits_pins_and_an_admin_delete_both_ways(tmp_path: Path) -> None:
    """About 20 s: a status-go peer and two pystatus nodes."""
    async with _alice_and_bob(tmp_path) as (_, bob, alice):
        community_id = await alice.create_community("Actions")
        general = await alice.add_community_channel(community_id, "general")
        await bob.request("community_fetch", communityId=community_id, timeout=90)
        events = alice.events()
        await bob.request("community_join", communityId=community_id)

        async def bob_member() -> bool:
            view = await bob.request("community", communityId=community_id)
            return bool(view["joined"]) and bob.public_key in view["members"]

        await wait_for_async(bob_member, timeout=90)
        # status-go reacts to pystatus's post; pystatus sees it in the channel
        ours = await alice.send_community(general, "react to me")
        await bob.wait_event(_message("react to me", general), timeout=90)
        await bob.request("react", messageId=ours, emoji="love", chatId=general)

        def bobs(event: ChatEvent) -> bool:
            return event.id == ours and event.author == bob.compressed_key

        reaction = await next_event(events, "reaction", bobs, timeout=60)
        assert (reaction.chat_id, reaction.reaction) == (general, 1)
        # status-go replies, then edits its reply; pystatus sees both
        sent = await bob.request("send", chatId=general, text="a reply", responseTo=ours)
        theirs = str(sent["messageId"])
        got = await next_event(events, "message", lambda e: e.id == theirs, timeout=60)
        assert got.response_to == ours
        await bob.request("edit", messageId=theirs, text="a better reply")
        edit = await next_event(events, "edit", lambda e: e.id == theirs, timeout=60)
        assert (edit.chat_id, edit.text) == (general, "a better reply")
        # pystatus reacts to status-go's post and edits its own; status-go sees both
        await alice.react(general, theirs, 2)
        seen = await bob.wait_event(_event("reaction", messageId=theirs), timeout=60)
        assert (seen["chatId"], seen["emoji"]) == (general, "THUMBS_UP")
        await alice.edit(ours, "reacted to")
        await bob.wait_event(_event("message", id=ours, text="reacted to", edited=True))
        # the control node pins status-go's post, then deletes it for everyone as an admin
        await alice.pin(theirs)
        pinned = await bob.wait_event(_event("pin", messageId=theirs), timeout=60)
        assert pinned["pinned"] and pinned["chatId"] == general
        await alice.delete(theirs)
        await bob.wait_event(_event("deleted", messageId=theirs), timeout=60)
