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
    """The topic two parties move to once X3DH gave them ``shared_secret``."""
    return content_topic(topic_of(shared_secret.hex()))
