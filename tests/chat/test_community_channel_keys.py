"""Token-gated channels' own hash ratchet keys, as status-go v1.1.0 decides them: a channel
named by a token permission with criteria is encrypted (community.go channelEncrypted) and its
posts go under the group ``<community id><channel id>`` (messenger.go dispatchMessage), an
encrypted community's other posts under the community's group, the rest in the clear."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat import community_control as control
from pystatus.chat import topics
from pystatus.chat.community import Community, channel_encrypted, community_of
from pystatus.chat.community_keys import group_id, post_group, seal_post
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.proto import communities_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.waku.payload import decrypt_symmetric

NOW = 1_800_000_000_000
Permission = communities_pb2.CommunityTokenPermission


def _gated(kind: int, *, criteria: bool, encrypted: bool = False) -> tuple[Community, str, str]:
    """A community with "general" and "news", a permission of ``kind`` naming news (with an
    ERC20 criterion or none); (community, general's chat id, news's chat id)."""
    owner = coincurve.PrivateKey()
    public = owner.public_key.format(compressed=False)
    private, community = control.create(public, "Gated", NOW, encrypted=encrypted)
    general, community = control.add_channel(community, private, "general", NOW + 1)
    news, community = control.add_channel(community, private, "news", NOW + 2)
    description = communities_pb2.CommunityDescription()
    description.CopyFrom(community.description)
    permission = description.token_permissions["gate"]
    permission.id, permission.type = "gate", Permission.Type.ValueType(kind)
    permission.chat_ids.append(community.id + news)
    if criteria:
        permission.token_criteria.add(
            contract_addresses={1: "0x" + "7e" * 20},
            type=communities_pb2.TokenCriteria.ERC20,
            amountInWei="1",
        )
    return community_of(description), community.id + general, community.id + news


@pytest.mark.parametrize(
    ("kind", "criteria", "encrypted"),
    [
        (Permission.CAN_VIEW_CHANNEL, True, True),
        (Permission.CAN_VIEW_AND_POST_CHANNEL, True, True),
        (Permission.CAN_VIEW_AND_POST_CHANNEL, False, True),
        # viewable by everyone: pystatus's own read-only channels
        (Permission.CAN_VIEW_CHANNEL, False, False),
    ],
)
def test_a_channel_is_encrypted_as_status_go_decides(
    kind: int, criteria: bool, encrypted: bool
) -> None:
    community, general, news = _gated(kind, criteria=criteria)
    assert channel_encrypted(community.description, news) is encrypted
    assert not channel_encrypted(community.description, general)


def test_posts_go_under_the_channels_group_else_the_communitys_else_in_the_clear() -> None:
    community, general, news = _gated(Permission.CAN_VIEW_CHANNEL, criteria=True)
    assert post_group(community, news) == news.encode()
    assert post_group(community, general) == b""
    assert post_group(None, general) == b""
    sealed, general, news = _gated(Permission.CAN_VIEW_CHANNEL, criteria=True, encrypted=True)
    assert post_group(sealed, news) == news.encode()
    assert post_group(sealed, general) == group_id(sealed)


def test_a_post_in_a_token_gated_channel_is_sealed_under_the_channels_key() -> None:
    community, _, news = _gated(Permission.CAN_VIEW_AND_POST_CHANNEL, criteria=True)
    identity = coincurve.PrivateKey().secret
    ratchet = HashRatchet("owner", identity=identity)
    ratchet.new_key(news.encode(), NOW)
    (part,) = seal_post(ratchet, identity, community, news, b"wrapped", 1 << 20, news.encode())
    assert part.content_topic == topics.public_chat_content_topic(news)
    opened = decrypt_symmetric(part.payload, topics.public_chat_key(news))
    message = pb.ProtocolMessage.FromString(opened.payload)
    assert message.direct_message["none"].HR_header.group_id == news.encode()
    assert ratchet.decrypt(message).plaintext == b"wrapped"
