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
    """The payload types of status-go v1.1.0 (``ApplicationMetadataMessage.Type``), numbers as on
    the wire. ``PAIR_INSTALLATION`` and ``SYNC_INSTALLATION`` are pystatus's older names, kept
    as aliases of status-go's ``SYNC_PAIR_INSTALLATION`` and ``DEPRECATED_SYNC_INSTALLATION``."""

    UNKNOWN = 0
    CHAT_MESSAGE = 1
    CONTACT_UPDATE = 2
    MEMBERSHIP_UPDATE_MESSAGE = 3
    SYNC_PAIR_INSTALLATION = 4
    PAIR_INSTALLATION = 4
    DEPRECATED_SYNC_INSTALLATION = 5
    SYNC_INSTALLATION = 5
    REQUEST_ADDRESS_FOR_TRANSACTION = 6
    ACCEPT_REQUEST_ADDRESS_FOR_TRANSACTION = 7
    DECLINE_REQUEST_ADDRESS_FOR_TRANSACTION = 8
    REQUEST_TRANSACTION = 9
    SEND_TRANSACTION = 10
    DECLINE_REQUEST_TRANSACTION = 11
    SYNC_INSTALLATION_CONTACT_V2 = 12
    SYNC_INSTALLATION_ACCOUNT = 13
    CONTACT_CODE_ADVERTISEMENT = 15
    PUSH_NOTIFICATION_REGISTRATION = 16
    PUSH_NOTIFICATION_REGISTRATION_RESPONSE = 17
    PUSH_NOTIFICATION_QUERY = 18
    PUSH_NOTIFICATION_QUERY_RESPONSE = 19
    PUSH_NOTIFICATION_REQUEST = 20
    PUSH_NOTIFICATION_RESPONSE = 21
    EMOJI_REACTION = 22
    GROUP_CHAT_INVITATION = 23
    CHAT_IDENTITY = 24
    COMMUNITY_DESCRIPTION = 25
    COMMUNITY_INVITATION = 26
    COMMUNITY_REQUEST_TO_JOIN = 27
    PIN_MESSAGE = 28
    EDIT_MESSAGE = 29
    STATUS_UPDATE = 30
    DELETE_MESSAGE = 31
    SYNC_INSTALLATION_COMMUNITY = 32
    ANONYMOUS_METRIC_BATCH = 33
    SYNC_CHAT_REMOVED = 34
    SYNC_CHAT_MESSAGES_READ = 35
    BACKUP = 36
    SYNC_ACTIVITY_CENTER_READ = 37
    SYNC_ACTIVITY_CENTER_ACCEPTED = 38
    SYNC_ACTIVITY_CENTER_DISMISSED = 39
    SYNC_BOOKMARK = 40
    SYNC_CLEAR_HISTORY = 41
    SYNC_SETTING = 42
    COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK = 43
    SYNC_PROFILE_PICTURES = 44
    SYNC_ACCOUNT = 45
    ACCEPT_CONTACT_REQUEST = 46
    RETRACT_CONTACT_REQUEST = 47
    COMMUNITY_REQUEST_TO_JOIN_RESPONSE = 48
    SYNC_COMMUNITY_SETTINGS = 49
    REQUEST_CONTACT_VERIFICATION = 50
    ACCEPT_CONTACT_VERIFICATION = 51
    DECLINE_CONTACT_VERIFICATION = 52
    SYNC_TRUSTED_USER = 53
    SYNC_VERIFICATION_REQUEST = 54
    SYNC_CONTACT_REQUEST_DECISION = 56
    COMMUNITY_REQUEST_TO_LEAVE = 57
    SYNC_DELETE_FOR_ME_MESSAGE = 58
    SYNC_SAVED_ADDRESS = 59
    COMMUNITY_CANCEL_REQUEST_TO_JOIN = 60
    CANCEL_CONTACT_VERIFICATION = 61
    SYNC_KEYPAIR = 62
    SYNC_SOCIAL_LINKS = 63
    SYNC_ENS_USERNAME_DETAIL = 64
    COMMUNITY_EVENTS_MESSAGE = 67
    COMMUNITY_EDIT_SHARED_ADDRESSES = 68
    SYNC_ACCOUNT_CUSTOMIZATION_COLOR = 69
    SYNC_ACCOUNTS_POSITIONS = 70
    COMMUNITY_PRIVILEGED_USER_SYNC_MESSAGE = 72
    COMMUNITY_SHARD_KEY = 73
    SYNC_CHAT = 74
    SYNC_ACTIVITY_CENTER_DELETED = 75
    SYNC_ACTIVITY_CENTER_UNREAD = 76
    SYNC_ACTIVITY_CENTER_COMMUNITY_REQUEST_DECISION = 77
    SYNC_TOKEN_PREFERENCES = 78
    COMMUNITY_PUBLIC_SHARD_INFO = 79
    SYNC_COLLECTIBLE_PREFERENCES = 80
    COMMUNITY_USER_KICKED = 81
    SYNC_PROFILE_SHOWCASE_PREFERENCES = 82
    COMMUNITY_PUBLIC_STORENODES_INFO = 83
    COMMUNITY_REEVALUATE_PERMISSIONS_REQUEST = 84
    DELETE_COMMUNITY_MEMBER_MESSAGES = 85
    COMMUNITY_UPDATE_GRANT = 86
    COMMUNITY_ENCRYPTION_KEYS_REQUEST = 87
    COMMUNITY_TOKEN_ACTION = 88
    COMMUNITY_SHARED_ADDRESSES_REQUEST = 89
    COMMUNITY_SHARED_ADDRESSES_RESPONSE = 90


class InvalidWrapper(ChatError):
    """A wrapper did not decode, is unsigned, or its signature recovers no key."""


@dataclass(frozen=True, slots=True)
class Unwrapped:
    type: int
    payload: bytes
    author: bytes
    """The author's uncompressed chat public key, recovered from the signature."""
    message_id: bytes
    raw: bytes = b""
    """The wrapper's bytes as they came (a description's signed form, which admins' events
    name as their base: community_events.py)."""


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
    return Unwrapped(message.type, message.payload, author, message_id(author, data), data)
