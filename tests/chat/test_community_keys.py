"""The control node's key bookkeeping of encrypted communities, sans-IO
(:mod:`pystatus.chat.community_keys`): which change sends which key to whom, key requests
answered to members only and rate-limited, and a post's wire form."""

from __future__ import annotations

import coincurve
import pytest

from pystatus.chat import community_control as control
from pystatus.chat import topics
from pystatus.chat.community import Community, member_key
from pystatus.chat.community_keys import (
    ANSWER_INTERVAL_MS,
    EVENTS,
    REQUEST_INTERVAL_MS,
    CommunityKeys,
    InvalidKeyRequest,
    decode_key_request,
    group_id,
    seal_post,
)
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import receive_key_exchange
from pystatus.chat.proto import communities_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.wrapper import MessageType, unwrap
from pystatus.waku.payload import decrypt_symmetric

NOW = 1_800_000_000_000


class Account:
    def __init__(self, name: str) -> None:
        self.identity = coincurve.PrivateKey().secret
        self.encryption = EncryptionService(self.identity, name)
        self.public = self.encryption.public_key
        self.ratchet = HashRatchet(name, identity=self.identity)
        self.key = member_key(self.public)

    def take(self, sender: Account, message: pb.ProtocolMessage) -> None:
        plaintext = self.encryption.decrypt(sender.public, message)
        receive_key_exchange(self.ratchet, message, plaintext, sender.public)


def _count(label: str) -> float:
    return float(EVENTS.labels(label)._value.get())


def _setup(*, encrypted: bool = True) -> tuple[Account, bytes, Community, CommunityKeys]:
    owner = Account("owner")
    private, community = control.create(owner.public, "Vault", NOW, encrypted=encrypted)
    return owner, private, community, CommunityKeys(owner.identity)


def test_create_marks_a_community_encrypted_as_status_go_reads_it() -> None:
    _, _, community, _ = _setup()
    assert community.encrypted
    (permission,) = community.description.token_permissions.values()
    assert permission.type == communities_pb2.CommunityTokenPermission.BECOME_MEMBER
    assert not community.description.encrypted  # the deprecated flag stays unset
    assert not _setup(encrypted=False)[2].encrypted


def test_keys_go_to_admitted_members_and_rotate_past_the_banned_one() -> None:
    owner, private, community, keys = _setup()
    alice, bob = Account("alice"), Account("bob")
    first = keys.control_change(community, owner.ratchet, owner.encryption, NOW)
    assert first is not None and first.key is not None and first.direct == {}
    assert keys.control_change(community, owner.ratchet, owner.encryption, NOW) is None
    for member in (alice, bob):
        community = control.add_member(community, private, member.key, NOW + 1)
        sent = keys.control_change(community, owner.ratchet, owner.encryption, NOW + 1)
        assert sent is not None and set(sent.direct) == {member.public}
        assert sent.key == first.key  # the kept key, not a new one
        member.take(owner, sent.direct[member.public])
        assert member.ratchet.current_key(group_id(community)) == first.key
    community = control.ban(community, private, bob.key, NOW + 2)
    rotated = keys.control_change(community, owner.ratchet, owner.encryption, NOW + 2)
    assert rotated is not None and rotated.key is not None
    assert rotated.key.key_id != first.key.key_id
    assert set(rotated.direct) == {alice.public}
    alice.take(owner, rotated.direct[alice.public])
    post = owner.ratchet.encrypt(group_id(community), b"after")
    assert alice.ratchet.decrypt(post).plaintext == b"after"
    with pytest.raises(UnknownGroupKey):
        bob.ratchet.decrypt(post)
    # a member who leaves rotates it too
    community = control.remove_member(community, private, alice.key, NOW + 3)
    again = keys.control_change(community, owner.ratchet, owner.encryption, NOW + 3)
    assert again is not None and again.direct == {}
    assert again.key is not None and again.key.key_id != rotated.key.key_id


def test_an_unencrypted_community_sends_no_keys() -> None:
    owner, private, community, keys = _setup(encrypted=False)
    community = control.add_member(community, private, Account("a").key, NOW)
    assert keys.control_change(community, owner.ratchet, owner.encryption, NOW) is None
    assert owner.ratchet.current_key(group_id(community)) is None


def test_key_requests_are_answered_to_members_only_and_rate_limited() -> None:
    owner, private, community, keys = _setup()
    alice, stranger = Account("alice"), Account("stranger")
    keys.control_change(community, owner.ratchet, owner.encryption, NOW)
    community = control.add_member(community, private, alice.key, NOW)
    keys.control_change(community, owner.ratchet, owner.encryption, NOW)

    asker = CommunityKeys(alice.identity)
    wrapped = asker.want_keys(community, NOW)
    assert wrapped is not None
    assert asker.want_keys(community, NOW + REQUEST_INTERVAL_MS - 1) is None
    assert asker.want_keys(community, NOW + REQUEST_INTERVAL_MS) is not None
    request = unwrap(wrapped)
    assert request.type == MessageType.COMMUNITY_ENCRYPTION_KEYS_REQUEST
    assert request.author == alice.public
    assert decode_key_request(request.payload) == community.id

    refused = _count("request_not_member")
    assert (
        keys.answer_request(community, stranger.public, owner.ratchet, owner.encryption, NOW)
        is None
    )
    assert _count("request_not_member") == refused + 1
    answer = keys.answer_request(community, alice.public, owner.ratchet, owner.encryption, NOW)
    assert answer is not None and set(answer.direct) == {alice.public}
    alice.take(owner, answer.direct[alice.public])
    assert alice.ratchet.current_key(group_id(community)) == owner.ratchet.current_key(
        group_id(community)
    )
    limited = _count("answer_limited")
    assert (
        keys.answer_request(community, alice.public, owner.ratchet, owner.encryption, NOW + 1)
        is None
    )
    assert _count("answer_limited") == limited + 1
    assert (
        keys.answer_request(
            community, alice.public, owner.ratchet, owner.encryption, NOW + ANSWER_INTERVAL_MS
        )
        is not None
    )
    # a banned member asks in vain
    community = control.ban(community, private, alice.key, NOW + ANSWER_INTERVAL_MS * 3)
    assert (
        keys.answer_request(
            community, alice.public, owner.ratchet, owner.encryption, NOW + ANSWER_INTERVAL_MS * 3
        )
        is None
    )


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xff",
        communities_pb2.CommunityEncryptionKeysRequest(community_id=b"x").SerializeToString(),
    ],
)
def test_a_malformed_key_request_is_a_typed_error(payload: bytes) -> None:
    before = _count("request_invalid")
    with pytest.raises(InvalidKeyRequest):
        decode_key_request(payload)
    assert _count("request_invalid") == before + 1


def test_a_post_is_an_hr_message_on_the_channel_topic() -> None:
    owner, private, community, keys = _setup()
    channel_id, community = control.add_channel(community, private, "general", NOW)
    chat_id = community.id + channel_id
    with pytest.raises(UnknownGroupKey):
        seal_post(owner.ratchet, owner.identity, community, chat_id, b"wrapped", 1 << 20)
    keys.control_change(community, owner.ratchet, owner.encryption, NOW)
    (part,) = seal_post(owner.ratchet, owner.identity, community, chat_id, b"wrapped", 1 << 20)
    assert part.content_topic == topics.public_chat_content_topic(chat_id)
    opened = decrypt_symmetric(part.payload, topics.public_chat_key(chat_id))
    assert opened.signer == owner.public
    message = pb.ProtocolMessage.FromString(opened.payload)
    header = message.direct_message["none"].HR_header
    assert (header.group_id, header.seq_no) == (group_id(community), 1)
    assert not message.public_message
    assert owner.ratchet.decrypt(message).plaintext == b"wrapped"
