"""A token-gated channel's key that comes after the description sealing the channel's members
(issue 17): two Messengers over two pystatus relay nodes. The control node seals a channel's
members under the channel's hash ratchet key, as status-go v1.1.0 does for a token-gated channel
(community_description_encryption.go encryptDescription), and sends that key 1:1 only later.
The member takes what opened (the community's part), then, once the key is in, reads the same
description again: the channel's members appear with no newer description, as status-go
reprocesses a description kept under its missing key id (messenger_communities.go
handleCommunityDescription). About 3 s."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from pystatus.chat.account import Account
from pystatus.chat.community import member_key
from pystatus.chat.community_chats import Send
from pystatus.chat.community_keys import EVENTS, group_id
from pystatus.chat.community_private_data import seal_description
from pystatus.chat.hash_ratchet import GroupKey, private_data_name
from pystatus.chat.hash_ratchet_exchange import KeyDistribution, build_key_exchange
from pystatus.chat.messenger import ChatEvent, Messenger
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from tests.chat.messenger_helpers import FAST, relay_messenger, relay_nodes
from tests.p2p.hosts import wait_for

GATED = "gated"


async def _next(events: AsyncIterator[ChatEvent], kind: str, text: str = "") -> ChatEvent:
    async with asyncio.timeout(15):
        while True:
            event = await anext(events)
            if event.kind == kind and (not text or event.text == text):
                return event


def _gate(owner: Messenger, community_id: str) -> dict[str, GroupKey]:
    """From now on ``owner`` seals the members of its channel named :data:`GATED` under that
    channel's own key (made here, sent to no one), as status-go does before sealing the
    community's part; returns the key by chat id once a description made it."""
    made: dict[str, GroupKey] = {}
    sealed_before = owner._sealed_description

    def sealed(send: Send) -> bytes:
        private = owner._communities.private_key(community_id)
        ratchet = owner.session.hash_ratchet
        if send.name != community_id or private is None or ratchet is None:
            return sealed_before(send)
        description = pb.CommunityDescription.FromString(unwrap(send.wrapped).payload)
        parts: dict[str, bytes] = {}
        for channel_id, chat in description.chats.items():
            if chat.identity.display_name != GATED:
                continue
            group = (community_id + channel_id).encode("ascii")  # status-go's channel group
            if ratchet.current_key(group) is None:
                made[community_id + channel_id] = ratchet.new_key(group, owner._now_ms())
            part = pb.CommunityDescription()
            part.chats[channel_id].CopyFrom(chat)
            key, seq_no, data = ratchet.seal_for_group(group, part.SerializeToString())
            parts[private_data_name(key.key_id, seq_no)] = data
            chat.ClearField("members")
        out = seal_description(description, ratchet, group_id(owner._got(community_id)))
        for name, data in parts.items():
            out.private_data[name] = data
        return wrap(out.SerializeToString(), MessageType.COMMUNITY_DESCRIPTION, private)

    owner._sealed_description = sealed  # type: ignore[method-assign]
    return made


async def test_a_channel_key_after_its_description_opens_the_channel(tmp_path: Path) -> None:
    owner_account, alice_account = (
        Account.create(tmp_path / n, "community password", params=FAST)[0]
        for n in ("owner", "alice")
    )
    async with relay_nodes(2) as nodes:
        owner = relay_messenger(owner_account, nodes[0])
        alice = relay_messenger(alice_account, nodes[1])
        for m in (owner, alice):
            await m.start()
        try:
            alice_events = alice.events()
            community_id = await owner.create_community("Gated", manual_accept=True, encrypted=True)
            await owner.add_community_channel(community_id, "general")
            community = owner.community(community_id)
            assert community is not None
            await alice.join_community(community_id, display_name="alice")
            await owner.publish_community(community_id)  # she was not listening before
            await wait_for(
                lambda: bool(owner.community_requests(community_id)),
                timeout=15,
                what="the request pending",
            )
            await owner.accept_community_request(community_id, alice.chat_key)
            await _next(alice_events, "community", "joined")
            assert alice.session.hash_ratchet is not None
            await wait_for(
                lambda: alice.session.hash_ratchet.current_key(group_id(community)) is not None,  # type: ignore[union-attr]
                timeout=15,
                what="the community's key sent over 1:1",
            )

            # a token-gated channel: its members sealed under a key alice does not hold
            made = _gate(owner, community_id)
            # a channel with a permission (read-only): its members are listed, not everyone's
            gated = await owner.add_community_channel(community_id, GATED, read_only=True)
            me = member_key(alice_account.keys.chat_public_key)
            sent = owner.community(community_id)
            assert sent is not None and me in sent.channels[gated[len(community_id) :]].members
            channel_id = gated[len(community_id) :]

            def alice_has_the_channel() -> bool:
                view = alice.community(community_id)
                return view is not None and view.clock == sent.clock and channel_id in view.channels

            await wait_for(alice_has_the_channel, timeout=15, what="the gated description")
            view = alice.community(community_id)
            assert view is not None and view.is_member(me)  # the community's part opened
            assert not view.can_view(me, channel_id)  # the channel's did not

            # the channel's key, 1:1, after the description; nothing newer is published
            reopened = float(EVENTS.labels("reopened")._value.get())
            key = made[gated]
            recipient = alice_account.keys.chat_public_key
            exchange = build_key_exchange(owner.session.encryption, recipient, key.group_id, [key])
            distribution = KeyDistribution(key, {recipient: exchange})
            await owner._perform(owner._key_actions(distribution))

            def alice_views_the_channel() -> bool:
                view = alice.community(community_id)
                return view is not None and view.can_view(me, channel_id)

            await wait_for(alice_views_the_channel, timeout=15, what="the channel opened")
            view = alice.community(community_id)
            assert view is not None and view.clock == sent.clock  # the same description
            assert float(EVENTS.labels("reopened")._value.get()) == reopened + 1
            assert set(view.channels[channel_id].members) == set(sent.channels[channel_id].members)
            current = owner.community(community_id)
            assert current is not None and current.clock == sent.clock
        finally:
            for m in (alice, owner):
                await m.stop()
