"""A description that comes again at the same clock with more opened is taken: status-go seals
a token-gated channel's members under the channel's hash ratchet key and sends that key 1:1
beside the description (communities_key_distributor.go, community_description_encryption.go),
so a member may first read it without the channel's members and open it fully once the key is
in. Sans-IO: two :class:`CommunityChats`, no network."""

from __future__ import annotations

import coincurve

from pystatus.chat.community import decode_description
from pystatus.chat.community_chats import CommunityChats
from pystatus.chat.wrapper import MessageType, unwrap, wrap

NOW = 1_790_000_000_000


def _account() -> CommunityChats:
    key = coincurve.PrivateKey()
    return CommunityChats(key.secret, key.public_key.format(compressed=False))


def test_the_same_description_opened_further_fills_the_channel_members() -> None:
    owner, alice = _account(), _account()
    community, _ = owner.create("Gated", NOW, manual=True)
    _, _ = owner.add_channel(community.id, "general", NOW + 1)
    news, sends = owner.add_channel(community.id, "news", NOW + 2, read_only=True)
    full = unwrap(sends[-1].wrapped)
    description = decode_description(full.payload)
    [channel_id] = [i for i in description.chats if community.id + i == news]
    assert description.chats[channel_id].members  # the owner, listed
    # what a member reads before the channel's key: the channel's members left out
    description.chats[channel_id].ClearField("members")
    private = owner.private_key(community.id)
    assert private is not None
    sealed = wrap(description.SerializeToString(), MessageType.COMMUNITY_DESCRIPTION, private)
    alice.watch(community.id)
    change, _ = alice.receive(unwrap(sealed), NOW + 3)
    assert change is not None
    known = alice.get(community.id)
    assert known is not None and not known.channels[channel_id].members
    # the same description (same clock) once opened: its channel members are taken
    change, _ = alice.receive(full, NOW + 4)
    assert change is not None and change.kind == "updated"
    known = alice.get(community.id)
    assert known is not None and owner.me in known.channels[channel_id].members
    # and the same again changes nothing
    change, _ = alice.receive(full, NOW + 5)
    assert change is None
