"""The signed outer wrapper of every Status message (status-go's ApplicationMetadataMessage).

The sender signs keccak256 of the inner payload with its chat identity key (a 65-byte
recoverable signature); the receiver recovers the author from it, so authorship survives
whatever encryption carried the wrapper. A message's id is keccak256 of the author's
uncompressed public key and the wrapper's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import coincurve

from pystatus.chat.proto import application_metadata_message_pb2 as pb
from pystatus.errors import ChatError
from pystatus.waku.enr import keccak256
from pystatus.waku.errors import DecodeError
from pystatus.waku.wire import parse


class MessageType(IntEnum):
    UNKNOWN = 0
    CHAT_MESSAGE = 1
    CONTACT_UPDATE = 2
    MEMBERSHIP_UPDATE_MESSAGE = 3
    PAIR_INSTALLATION = 4
    SYNC_INSTALLATION = 5
    CONTACT_CODE_ADVERTISEMENT = 15
    EMOJI_REACTION = 22
    GROUP_CHAT_INVITATION = 23
    CHAT_IDENTITY = 24
    EDIT_MESSAGE = 29
    DELETE_MESSAGE = 31


class InvalidWrapper(ChatError):
    """A wrapper did not decode, is unsigned, or its signature recovers no key."""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    type: int
    payload: bytes
    author: bytes
    """The author's uncompressed chat public key, recovered from the signature."""
    message_id: bytes


def message_id(author: bytes, wrapped: bytes) -> bytes:
    return keccak256(coincurve.PublicKey(author).format(compressed=False) + wrapped)


def wrap(payload: bytes, message_type: int, identity: bytes) -> bytes:
    """Sign ``payload`` with chat private key ``identity`` and wrap it."""
    signature = coincurve.PrivateKey(identity).sign_recoverable(keccak256(payload), hasher=None)
    return pb.ApplicationMetadataMessage(
        signature=signature,
        payload=payload,
        type=message_type,  # type: ignore[arg-type]
    ).SerializeToString()


def unwrap(data: bytes) -> Unwrapped:
    try:
        message = parse(pb.ApplicationMetadataMessage(), data, "status message wrapper")
    except DecodeError as exc:
        raise InvalidWrapper(str(exc)) from None
    if len(message.signature) != 65:
        raise InvalidWrapper("the wrapper carries no 65-byte signature")
    try:
        author = coincurve.PublicKey.from_signature_and_message(
            message.signature, keccak256(message.payload), hasher=None
        ).format(compressed=False)
    except (ValueError, TypeError):
        raise InvalidWrapper("the signature recovers no public key") from None
    return Unwrapped(message.type, message.payload, author, message_id(author, data))
