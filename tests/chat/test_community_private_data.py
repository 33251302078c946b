"""Sealed parts of an encrypted community's description (community_private_data): what the
control node seals, what a key holder merges back as status-go's decryptDescription does, and
what a reader without the key is left with."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat import community_control as control
from pystatus.chat.community import member_key, open_description
from pystatus.chat.community_keys import group_id
from pystatus.chat.community_private_data import (
    MAX_UNVERIFIED,
    RESULTS,
    UnverifiedKeys,
    open_private_data,
    seal_description,
)
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.hash_ratchet import (
    GroupKey,
    HashRatchet,
    parse_private_data_name,
    private_data_name,
)
from pystatus.chat.proto import communities_pb2 as pb

NOW = 1_800_000_000_000


def _count(result: str) -> float:
    return float(RESULTS.labels(result)._value.get())


def _community() -> tuple[bytes, pb.CommunityDescription, bytes]:
    owner = coincurve.PrivateKey().public_key.format(compressed=False)
    private, community = control.create(owner, "Vault", NOW, encrypted=True)
    _, community = control.add_channel(community, private, "general", NOW)
    _, community = control.add_category(community, private, "talk", NOW)
    member = member_key(coincurve.PrivateKey().public_key.format(compressed=False))
    community = control.add_member(community, private, member, NOW)
    community = control.ban(
        community,
        private,
        member_key(coincurve.PrivateKey().public_key.format(compressed=False)),
        NOW,
    )
    return private, community.description, group_id(community)


def test_members_channels_and_categories_travel_sealed_and_merge_back() -> None:
    _, description, group = _community()
    control_node = HashRatchet("control")
    with pytest.raises(UnknownGroupKey):
        seal_description(description, control_node, group)
    key = control_node.new_key(group, NOW)
    sealed = seal_description(description, control_node, group)
    assert not sealed.members and not sealed.chats and not sealed.categories
    assert sealed.banned_members == description.banned_members  # the public part stays
    assert sealed.identity == description.identity and sealed.clock == description.clock
    (name,) = sealed.private_data
    assert parse_private_data_name(name) == (key.key_id, 1)

    member = HashRatchet("member")
    member.add_keys([key])
    opened = pb.CommunityDescription.FromString(sealed.SerializeToString())
    before = _count("opened")
    assert open_private_data(opened, member) == []
    assert _count("opened") == before + 1
    assert opened.members == description.members
    assert opened.chats == description.chats
    assert opened.categories == description.categories
    signer = bytes.fromhex(description.ID[2:])
    assert open_description(opened.SerializeToString(), signer).members.keys() == (
        description.members.keys()
    )


def test_without_the_key_the_public_part_is_all_and_the_key_is_named() -> None:
    _, description, group = _community()
    control_node = HashRatchet("control")
    key = control_node.new_key(group, NOW)
    sealed = seal_description(description, control_node, group)
    before = _count("no_key")
    assert open_private_data(sealed, HashRatchet("stranger")) == [key.key_id]
    assert _count("no_key") == before + 1
    assert not sealed.members and sealed.identity.display_name == "Vault"


@pytest.mark.parametrize("name", ["short", "ab" * 32 + "x1", "zz" * 32 + "1"])
def test_a_malformed_part_is_skipped_and_counted(name: str) -> None:
    _, description, _ = _community()
    description.private_data[name] = b"\x00" * 40
    before = _count("invalid")
    assert open_private_data(description, HashRatchet("member")) == []
    assert _count("invalid") == before + 1


def test_a_channel_part_fills_the_members_of_a_public_channel() -> None:
    """status-go seals an encrypted channel's members apart (encryptDescriptionChannel)."""
    _, description, _ = _community()
    channel_id = next(iter(description.chats))
    members = dict(description.chats[channel_id].members)
    description.chats[channel_id].ClearField("members")
    ratchet = HashRatchet("control")
    channel_group = (description.ID + channel_id).encode()
    ratchet.new_key(channel_group, NOW)
    part = pb.CommunityDescription()
    for member, value in members.items():
        part.chats[channel_id].members[member].CopyFrom(value)
    key, seq_no, data = ratchet.seal_for_group(channel_group, part.SerializeToString())
    description.private_data[private_data_name(key.key_id, seq_no)] = data
    assert open_private_data(description, ratchet) == []
    assert dict(description.chats[channel_id].members) == members


def test_a_kept_key_is_proven_by_a_part_sealed_under_it() -> None:
    """A key refused for want of knowing its sender is taken once a sealed part opens under
    it (the community key signed that description); a key that does not is not."""
    _, description, group = _community()
    control_node = HashRatchet("control")
    key = control_node.new_key(group, NOW)
    control_node.seal_for_group(group, b"an earlier part")  # seq_no 1: the walk has a length
    sealed = seal_description(description, control_node, group)
    ((name, data),) = sealed.private_data.items()
    assert parse_private_data_name(name) == (key.key_id, 2)

    unverified = UnverifiedKeys()
    assert unverified.prove(name, data) is None  # nothing kept
    forged = GroupKey(group, key.timestamp, b"\x01" * 32)
    unverified.keep([forged])
    assert unverified.prove(name, data) is None  # another key id
    unverified.keep([GroupKey(group, key.timestamp, key.key)])
    assert unverified.prove(name, data) == key
    assert unverified.prove(name, data) is None  # taken out
    unproven = _count("unproven")
    unverified.keep([key])
    assert unverified.prove(name, data[:-1] + bytes([data[-1] ^ 1])) is None
    assert _count("unproven") == unproven + 1


def test_kept_keys_are_bounded() -> None:
    unverified = UnverifiedKeys()
    evicted = _count("evicted")
    unverified.keep(
        GroupKey(b"g", NOW + i, i.to_bytes(32, "big")) for i in range(MAX_UNVERIFIED + 3)
    )
    assert _count("evicted") == evicted + 3
