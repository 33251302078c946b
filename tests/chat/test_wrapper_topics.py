"""Status's signed wrapper and its topic and key derivations."""

from __future__ import annotations

import contextlib
import hashlib
import re

import coincurve
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.chat.errors import InvalidChatKey
from pystatus.chat.proto import application_metadata_message_pb2 as pb
from pystatus.chat.topics import (
    PARTITIONS,
    negotiated_content_topic,
    partitioned_content_topic,
    partitioned_topic_name,
    public_chat_content_topic,
    public_chat_key,
    topic_of,
)
from pystatus.chat.wrapper import InvalidWrapper, MessageType, unwrap, wrap
from pystatus.waku.enr import keccak256

ALICE = coincurve.PrivateKey()


def test_wrap_unwrap_recovers_the_author_and_ids_the_message() -> None:
    wrapped = wrap(b"inner protobuf", MessageType.CHAT_MESSAGE, ALICE.secret)
    message = unwrap(wrapped)
    assert message.payload == b"inner protobuf"
    assert message.type == MessageType.CHAT_MESSAGE
    assert message.author == ALICE.public_key.format(compressed=False)
    assert message.message_id == keccak256(message.author + wrapped)
    decoded = pb.ApplicationMetadataMessage.FromString(wrapped)
    assert (decoded.type, len(decoded.signature)) == (1, 65), "status-go's field numbers"


def test_a_changed_payload_names_another_author() -> None:
    decoded = pb.ApplicationMetadataMessage.FromString(
        wrap(b"pay me", MessageType.CHAT_MESSAGE, ALICE.secret)
    )
    decoded.payload = b"pay mallory"
    with contextlib.suppress(InvalidWrapper):
        assert unwrap(decoded.SerializeToString()).author != ALICE.public_key.format(
            compressed=False
        )


def test_unsigned_wrappers_are_refused() -> None:
    unsigned = pb.ApplicationMetadataMessage(
        payload=b"x", type=pb.ApplicationMetadataMessage.CHAT_MESSAGE
    ).SerializeToString()
    with pytest.raises(InvalidWrapper):
        unwrap(unsigned)


@given(st.binary(max_size=300))
def test_unwrap_raises_only_invalid_wrapper(data: bytes) -> None:
    with contextlib.suppress(InvalidWrapper):
        unwrap(data)


def test_topics_have_status_go_shapes() -> None:
    assert re.fullmatch(r"/waku/1/0x[0-9a-f]{8}/rfc26", public_chat_content_topic("status"))
    assert public_chat_content_topic("status") == f"/waku/1/0x{topic_of('status').hex()}/rfc26"
    name = partitioned_topic_name(ALICE.public_key.format())
    x = int.from_bytes(ALICE.public_key.format(compressed=False)[1:33], "big")
    assert name == f"contact-discovery-{x % PARTITIONS}"
    assert partitioned_content_topic(ALICE.public_key.format()) == (
        f"/waku/1/0x{keccak256(name.encode())[:4].hex()}/rfc26"
    )
    assert negotiated_content_topic(b"\x01" * 32) == (
        f"/waku/1/0x{keccak256(('01' * 32).encode())[:4].hex()}/rfc26"
    )
    with pytest.raises(InvalidChatKey):
        partitioned_topic_name(b"\x04" + bytes(64))


def test_public_chat_key_is_pbkdf2_of_the_name() -> None:
    key = public_chat_key("status")
    assert key == hashlib.pbkdf2_hmac("sha256", b"status", b"", 65356, 32)
    assert public_chat_key("status") == key and public_chat_key("other") != key
