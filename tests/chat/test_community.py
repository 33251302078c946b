"""Communities' wire and model: ids, topics, the signed description, the control node's
changes, requests; decoders fuzzed."""

from __future__ import annotations

import contextlib

import coincurve
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pystatus.chat import community_control as control
from pystatus.chat import community_requests as requests
from pystatus.chat.community import (
    COMMUNITY_CHAT,
    CONTROL_PUBSUB_TOPIC,
    POSTER,
    VIEWER,
    Access,
    Community,
    InvalidCommunity,
    channel_chat_id,
    community_id_of,
    community_key,
    control_content_topic,
    decode_description,
    description_content_topic,
    member_key,
    open_wrapped_description,
    pubsub_topic,
    sign_description,
)
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.topics import content_topic
from pystatus.chat.wrapper import MessageType, unwrap, wrap
from pystatus.waku.enr import keccak256

NOW = 1_790_000_000_000


def _key() -> tuple[bytes, bytes, str]:
    private = coincurve.PrivateKey()
    public = private.public_key.format(compressed=False)
    return private.secret, public, member_key(public)


OWNER = _key()
ALICE = _key()
BOB = _key()


def _community(manual: bool = False) -> tuple[bytes, Community]:
    return control.create(OWNER[1], "Cats", NOW, about="about cats", manual_accept=manual)


def test_ids_and_topics_follow_status_go() -> None:
    secret, community = _community()
    public = coincurve.PrivateKey(secret).public_key
    assert community.id == "0x" + public.format(compressed=True).hex()
    assert len(community.id) == 2 + 66
    assert community_key(community.id) == public.format(compressed=False)
    assert channel_chat_id(community.id, "abc") == community.id + "abc"
    # the description on the community id as a public chat name, default shard of cluster 16
    assert description_content_topic(community.id) == content_topic(
        keccak256(community.id.encode())[:4]
    )
    assert pubsub_topic(None) == "/waku/2/rs/16/32"
    assert pubsub_topic((16, 128)) == "/waku/2/rs/16/128"
    assert CONTROL_PUBSUB_TOPIC == "/waku/2/rs/16/64"
    # requests: the topic named by the uncompressed key's hex, without 0x
    name = public.format(compressed=False).hex()
    assert control_content_topic(community.id) == content_topic(keccak256(name.encode())[:4])


def test_description_is_signed_by_the_community_key_and_opens() -> None:
    _secret, community = _community()
    unwrapped = unwrap(community.wrapped)
    assert unwrapped.type == MessageType.COMMUNITY_DESCRIPTION
    assert community_id_of(unwrapped.author) == community.id
    opened = open_wrapped_description(community.wrapped)
    assert opened.id == community.id
    assert opened.clock == 1
    assert opened.name == "Cats"
    assert opened.about == "about cats"
    assert opened.access == Access.AUTO_ACCEPT
    assert opened.members == {OWNER[2]: (pb.CommunityMember.ROLE_OWNER,)}
    assert opened.is_privileged(OWNER[2])


def test_a_description_signed_by_another_key_is_refused() -> None:
    _, community = _community()
    forged = wrap(
        community.description.SerializeToString(), MessageType.COMMUNITY_DESCRIPTION, ALICE[0]
    )
    with pytest.raises(InvalidCommunity, match="signer"):
        open_wrapped_description(forged)


def test_an_older_clock_is_refused() -> None:
    secret, community = _community()
    _, newer = control.add_channel(community, secret, "general", NOW)
    assert newer.clock == NOW
    with pytest.raises(InvalidCommunity, match="clock_outdated"):
        open_wrapped_description(community.wrapped, known_clock=newer.clock)
    assert open_wrapped_description(newer.wrapped, known_clock=newer.clock).clock == NOW


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.ClearField("permissions"),
        lambda d: setattr(d.permissions, "access", 0),
        lambda d: d.chats["x"].identity.SetInParent(),  # a channel without permissions
        lambda d: d.categories["c"].SetInParent(),  # a category without id or name
        lambda d: setattr(d, "clock", 0),
    ],
)
def test_the_validator_refuses_what_status_go_refuses(change: object) -> None:
    secret, community = _community()
    description = pb.CommunityDescription()
    description.CopyFrom(community.description)
    change(description)  # type: ignore[operator]
    with pytest.raises(InvalidCommunity):
        open_wrapped_description(sign_description(description, secret))


def test_a_channel_member_not_in_the_community_is_refused() -> None:
    secret, community = _community()
    channel_id, community = control.add_channel(community, secret, "news", NOW, read_only=True)
    description = pb.CommunityDescription()
    description.CopyFrom(community.description)
    description.chats[channel_id].members[ALICE[2]].channel_role = VIEWER
    with pytest.raises(InvalidCommunity, match="channel"):
        open_wrapped_description(sign_description(description, secret))


def test_channels_are_sent_dehydrated_and_hydrated_on_receipt() -> None:
    secret, community = _community()
    general, community = control.add_channel(community, secret, "general", NOW)
    community = control.add_member(community, secret, ALICE[2], NOW + 1)
    on_wire = decode_description(unwrap(community.wrapped).payload)
    assert len(on_wire.chats[general].members) == 0
    opened = open_wrapped_description(community.wrapped)
    assert set(opened.channels[general].members) == {OWNER[2], ALICE[2]}
    assert opened.can_post(ALICE[2], general, MessageType.CHAT_MESSAGE)
    assert not opened.can_post(BOB[2], general, MessageType.CHAT_MESSAGE)


def test_read_only_channel_members_are_viewers_and_admins_post() -> None:
    secret, community = _community()
    news, community = control.add_channel(community, secret, "news", NOW, read_only=True)
    community = control.add_member(community, secret, ALICE[2], NOW + 1)
    community = control.add_member(community, secret, BOB[2], NOW + 2)
    community = control.set_roles(community, secret, BOB[2], [pb.CommunityMember.ROLE_ADMIN], NOW)
    opened = open_wrapped_description(community.wrapped)
    channel = opened.channels[news]
    assert channel.read_only
    assert channel.members[ALICE[2]] == VIEWER
    assert channel.members[BOB[2]] == POSTER
    on_wire = decode_description(unwrap(community.wrapped).payload)
    permission = next(iter(on_wire.token_permissions.values()))
    assert permission.type == pb.CommunityTokenPermission.CAN_VIEW_CHANNEL
    assert list(permission.chat_ids) == [community.id + news]
    assert opened.can_view(ALICE[2], news)
    assert not opened.can_post(ALICE[2], news, MessageType.CHAT_MESSAGE)
    assert not opened.can_post(ALICE[2], news, MessageType.EMOJI_REACTION)
    assert opened.can_post(BOB[2], news, MessageType.CHAT_MESSAGE)
    assert opened.can_post(OWNER[2], news, MessageType.CHAT_MESSAGE)
    assert opened.can_post(opened.control_node, news, MessageType.CHAT_MESSAGE)


def test_ban_removes_everywhere_and_lists_the_key_twice() -> None:
    secret, community = _community()
    general, community = control.add_channel(community, secret, "general", NOW)
    community = control.add_member(community, secret, ALICE[2], NOW)
    community = control.ban(community, secret, ALICE[2], NOW)
    opened = open_wrapped_description(community.wrapped)
    assert not opened.is_member(ALICE[2])
    assert opened.is_banned(ALICE[2])
    assert ALICE[2] in opened.description.banned_members
    assert list(opened.description.ban_list) == [ALICE[2]]
    assert not opened.can_view(ALICE[2], general)
    with pytest.raises(InvalidCommunity, match="banned"):
        control.add_member(community, secret, ALICE[2], NOW)
    community = control.unban(community, secret, ALICE[2], NOW)
    assert not community.is_banned(ALICE[2])
    with pytest.raises(control.NotControlNode):
        control.ban(community, secret, OWNER[2], NOW)


def test_only_the_control_node_changes_the_description() -> None:
    _, community = _community()
    with pytest.raises(control.NotControlNode):
        control.add_channel(community, ALICE[0], "general", NOW)


def test_categories_and_positions() -> None:
    secret, community = _community()
    category, community = control.add_category(community, secret, "Main", NOW)
    a, community = control.add_channel(community, secret, "a", NOW, category_id=category)
    b, community = control.add_channel(community, secret, "b", NOW, category_id=category)
    opened = open_wrapped_description(community.wrapped)
    assert opened.categories == {category: "Main"}
    assert (opened.channels[a].position, opened.channels[b].position) == (0, 1)
    assert opened.channels[a].category_id == category
    with pytest.raises(InvalidCommunity, match="channel"):
        control.add_channel(community, secret, "a", NOW)


def test_requests_round_trip() -> None:
    _, community = _community()
    wrapped = requests.request_to_join(ALICE[0], community.id, NOW // 1000, display_name="al")
    unwrapped = unwrap(wrapped)
    assert unwrapped.author == ALICE[1]
    assert unwrapped.type == MessageType.COMMUNITY_REQUEST_TO_JOIN
    request = requests.decode(unwrapped.type, unwrapped.payload)
    assert request.community_id == community.id
    assert request.clock == NOW // 1000
    assert isinstance(request.message, pb.CommunityRequestToJoin)
    assert request.message.display_name == "al"
    assert len(request.message.revealed_accounts) == 1
    assert requests.request_id(ALICE[1], community.id) == keccak256(
        f"{ALICE[2]}-{community.id}".encode()
    )
    for wrapped in (
        requests.cancel_request(ALICE[0], community.id, NOW // 1000),
        requests.request_to_leave(ALICE[0], community.id, NOW),
    ):
        unwrapped = unwrap(wrapped)
        assert requests.decode(unwrapped.type, unwrapped.payload).community_id == community.id


def test_response_carries_the_description_and_is_signed_by_the_community() -> None:
    secret, community = _community()
    wrapped = requests.response(secret, community.description, community.id, True, 5)
    unwrapped = unwrap(wrapped)
    assert community_id_of(unwrapped.author) == community.id
    answer = requests.decode(unwrapped.type, unwrapped.payload)
    assert isinstance(answer.message, pb.CommunityRequestToJoinResponse)
    assert answer.message.accepted
    assert community.id == answer.message.community.ID


def test_a_request_with_a_bad_community_id_is_refused() -> None:
    payload = pb.CommunityRequestToJoin(clock=1, community_id=b"\x02" * 5).SerializeToString()
    with pytest.raises(InvalidCommunity, match="id"):
        requests.decode(MessageType.COMMUNITY_REQUEST_TO_JOIN, payload)


def test_community_chat_message_type_is_status_gos() -> None:
    assert COMMUNITY_CHAT == 5


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_description_decoder_parses_or_raises(data: bytes) -> None:
    with contextlib.suppress(InvalidCommunity):
        open_wrapped_description(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_fuzz_signed_garbage_descriptions(data: bytes) -> None:
    secret = OWNER[0]
    with contextlib.suppress(InvalidCommunity):
        open_wrapped_description(wrap(data, MessageType.COMMUNITY_DESCRIPTION, secret))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(requests.CONTROL_TYPES)), st.binary(max_size=256))
def test_fuzz_request_decoder_parses_or_raises(message_type: int, data: bytes) -> None:
    with contextlib.suppress(InvalidCommunity):
        requests.decode(message_type, data)


def test_revealed_address_recovers_as_personal_ec_recover_does() -> None:
    _, community = _community()
    account = requests.revealed_account(ALICE[0], community.id)
    assert account.address == requests.ethereum_address(ALICE[1])
    signature = bytearray(account.signature)
    assert signature[64] in (27, 28)  # geth's personal_ecRecover refuses other values
    signature[64] -= 27
    material = keccak256(
        coincurve.PublicKey(ALICE[1]).format(compressed=True)
        + bytes.fromhex(community.id[2:])
        + requests.request_id(ALICE[1], community.id)
    )
    recovered = coincurve.PublicKey.from_signature_and_message(
        bytes(signature), requests.personal_hash(material), hasher=None
    )
    assert recovered.format(compressed=False) == ALICE[1]
