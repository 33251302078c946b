"""Where Status messages travel and with which shared keys, as status-go derives them.

A Waku v1-era topic is the first 4 bytes of keccak256 of a name; on Waku v2 it is carried as
the content topic ``/waku/1/0x<topic>/rfc26``. Public chats use their name's topic and a key
stretched from the name (PBKDF2-SHA256, no salt, 65356 iterations: status-go's number). Before
two people share a secret, 1:1 traffic goes to one of 5,000 partitioned topics picked by the
recipient's public key; after, to a topic named by their shared secret.
"""

from __future__ import annotations

import functools
import hashlib

import coincurve

from pystatus.chat.errors import InvalidChatKey
from pystatus.waku.enr import keccak256

TOPIC_LENGTH = 4
PARTITIONS = 5000
PASSWORD_ITERATIONS = 65356
SYMMETRIC_KEY_LENGTH = 32


def topic_of(name: str) -> bytes:
    return keccak256(name.encode())[:TOPIC_LENGTH]


def content_topic(topic: bytes) -> str:
    if len(topic) != TOPIC_LENGTH:
        raise ValueError("a topic is 4 bytes")
    return f"/waku/1/0x{topic.hex()}/rfc26"


def public_chat_content_topic(chat_name: str) -> str:
    return content_topic(topic_of(chat_name))


@functools.lru_cache(maxsize=1024)
def public_chat_key(chat_name: str) -> bytes:
    """The symmetric key every member of a public chat derives from its name (kept: the
    stretching costs about 20 ms, and every message sent or read in the chat needs it)."""
    return hashlib.pbkdf2_hmac(
        "sha256", chat_name.encode(), b"", PASSWORD_ITERATIONS, SYMMETRIC_KEY_LENGTH
    )


def partitioned_topic_name(public_key: bytes) -> str:
    """``contact-discovery-<x mod 5000>`` of a secp256k1 public key."""
    try:
        point = coincurve.PublicKey(public_key).format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise InvalidChatKey(f"not a secp256k1 public key: {exc}") from None
    x = int.from_bytes(point[1:33], "big")
    return f"contact-discovery-{x % PARTITIONS}"


def partitioned_content_topic(public_key: bytes) -> str:
    return content_topic(topic_of(partitioned_topic_name(public_key)))


def negotiated_content_topic(shared_secret: bytes) -> str:
    """The topic two parties move to once they agreed on ``shared_secret`` (the ECDH of
    their identity keys, see :func:`pystatus.chat.encryption.shared_secret`)."""
    return content_topic(topic_of(shared_secret.hex()))


def contact_code_topic_name(public_key: bytes) -> str:
    """``0x<uncompressed key hex>-contact-code``: where an account advertises its bundle and
    identity; its key is stretched from this name as a public chat's is."""
    point = coincurve.PublicKey(public_key).format(compressed=False)
    return "0x" + point.hex() + "-contact-code"


def contact_code_content_topic(public_key: bytes) -> str:
    return content_topic(topic_of(contact_code_topic_name(public_key)))


def personal_topic_name(public_key: bytes) -> str:
    """``contact-discovery-<uncompressed key hex>``: status-go's personal discovery topic,
    ECIES to the key's owner, which every account listens on."""
    return "contact-discovery-" + coincurve.PublicKey(public_key).format(compressed=False).hex()


def personal_content_topic(public_key: bytes) -> str:
    return content_topic(topic_of(personal_topic_name(public_key)))


def negotiated_key(shared_secret: bytes) -> bytes:
    """The symmetric key of a negotiated topic: the secret's lowercase hex, stretched."""
    return public_chat_key(shared_secret.hex())


# -- shards (status-go protocol/common/shard/shard.go) --------------------------------------

MAX_MESSAGE_SIZE = 1024 * 1024
"""status-go's Waku message limit on the Status cluster (``wakuv2/common/const.go``)."""
STATUS_CLUSTER = 16
DEFAULT_SHARD = 32
"""1:1, contact codes, personal topics and public chats."""
NON_PROTECTED_SHARD = 64
"""Community descriptions, requests to join and shard info."""


def status_pubsub_topic(content_topic: str) -> str:
    """The pubsub topic status-go v1.1.0 puts chat traffic on: every content topic pystatus
    sends today (1:1, negotiated, contact code, personal and public chats) goes to the
    default shard of the Status cluster, ``/waku/2/rs/16/32``."""
    del content_topic  # static sharding: the shard does not depend on the content topic
    return f"/waku/2/rs/{STATUS_CLUSTER}/{DEFAULT_SHARD}"
