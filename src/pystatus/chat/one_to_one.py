"""Sending and receiving in 1:1 chats, as status-go v1.1.0's ``protocol/common/message_sender.go``.

Sending: the wrapped message (usually the body of an MVDS payload) is encrypted by the
multi-device Double Ratchet for every installation of the recipient and of our own account,
or, before the recipient's bundle is known, under the installation ``none`` with a DH header
(``protocol/encryption/protocol.go``); the ProtocolMessage travels in an RFC 26 envelope signed
with the chat key: ECIES to the recipient on their partitioned topic or, once their devices
agreed on the negotiated secret, encrypted with its key on the negotiated topic; copies for our
own devices go to our partitioned topic. Payloads over the network's limit are split into
Reed-Solomon segments (``protocol/common/message_segmentation.go``).

Receiving: :func:`sync_payload` tells an MVDS payload from a bare wrapped message the way
status-go does (it parses and holds a record).

Pure functions of their inputs (they advance the ratchets in ``encryption``): no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pystatus.chat import topics
from pystatus.chat.encryption import EncryptionService, NoBundle
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.proto import mvds_pb2
from pystatus.chat.segmentation import segment
from pystatus.waku.errors import DecodeError
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric
from pystatus.waku.wire import parse


@dataclass(frozen=True, slots=True)
class Sealed:
    """One Waku payload to publish."""

    content_topic: str
    payload: bytes
    to_recipient: bool
    """False for the copy to our own devices."""


def seal_private(
    encryption: EncryptionService,
    identity: bytes,
    public_key: bytes,
    recipient: bytes,
    data: bytes,
    segment_size: int,
) -> list[Sealed]:
    """The Waku payloads carrying ``data`` to ``recipient``'s devices and ours (``identity``:
    our chat private key, ``public_key`` its uncompressed public key). Raises
    :class:`~pystatus.chat.encryption.EncryptionError` subclasses."""
    own_devices = bool(encryption.installations.get(public_key))
    own: pb.ProtocolMessage | None = None
    try:
        protocol = encryption.encrypt(recipient, data)
    except NoBundle:
        protocol = encryption.encrypt_dh(recipient, data)
        if own_devices and recipient != public_key:
            own = encryption.encrypt(public_key, data)
    serialized = protocol.SerializeToString()
    parts: list[tuple[str, bytes, bool, Callable[[bytes], bytes]]] = []
    if recipient != public_key:
        secret = encryption.negotiated(recipient)
        if secret is not None:
            key = topics.negotiated_key(secret)
            parts.append(
                (
                    topics.negotiated_content_topic(secret),
                    serialized,
                    True,
                    lambda part: encrypt_symmetric(part, key, signer=identity),
                )
            )
        else:
            parts.append(
                (
                    topics.partitioned_content_topic(recipient),
                    serialized,
                    True,
                    lambda part: encrypt_asymmetric(part, recipient, signer=identity),
                )
            )
    if own_devices or recipient == public_key:
        mine = own.SerializeToString() if own is not None else serialized
        parts.append(
            (
                topics.partitioned_content_topic(public_key),
                mine,
                recipient == public_key,
                lambda part: encrypt_asymmetric(part, public_key, signer=identity),
            )
        )
    return [
        Sealed(topic, seal(piece), to_recipient)
        for topic, serialized_part, to_recipient, seal in parts
        for piece in segment(serialized_part, segment_size)
    ]


def seal_pairing(
    encryption: EncryptionService, identity: bytes, public_key: bytes, wrapped: bytes
) -> Sealed:
    """A PairInstallation to our own key under a DH header (status-go's
    SendPairInstallation), with our bundle."""
    protocol = encryption.encrypt_dh(public_key, wrapped, negotiate=False)
    return Sealed(
        topics.partitioned_content_topic(public_key),
        encrypt_asymmetric(protocol.SerializeToString(), public_key, signer=identity),
        True,
    )


def sync_payload(data: bytes) -> mvds_pb2.Payload | None:
    """``data`` as an MVDS payload, or None when it is a bare wrapped message (status-go's
    test: it parses and holds any MVDS record)."""
    try:
        payload = parse(mvds_pb2.Payload(), data, "MVDS payload")
    except DecodeError:
        return None
    records = (
        payload.acks or payload.messages or payload.offers or payload.requests
    ) or payload.group_offers
    return payload if records else None
