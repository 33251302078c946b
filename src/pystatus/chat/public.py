"""Sending in public chats and on contact-code topics, as status-go v1.1.0's
``BuildPublicMessage`` (``protocol/encryption/protocol.go``).

The wrapped message travels bare in the ProtocolMessage's ``public_message``, with our bundle,
in an RFC 26 envelope encrypted with the key every member derives from the chat's name
(``wakuv2/waku.go``: pbkdf2 of the name), on the chat's topic. Receiving is the session's
(:mod:`pystatus.chat.session`): open with the name's key, take the sender's bundles, deliver
``public_message``.
"""

from __future__ import annotations

from pystatus.chat import topics
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.one_to_one import Sealed
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.segmentation import segment
from pystatus.waku.payload import encrypt_symmetric


def seal_public(
    encryption: EncryptionService,
    identity: bytes,
    topic_name: str,
    content_topic: str,
    data: bytes,
    segment_size: int,
) -> list[Sealed]:
    """The Waku payloads carrying the wrapped ``data`` to everyone reading ``topic_name`` (a
    public chat's name, or a contact-code topic's name), on ``content_topic``."""
    protocol = pb.ProtocolMessage(installation_id=encryption.installation_id, public_message=data)
    protocol.bundles.append(encryption.own_bundle())
    key = topics.public_chat_key(topic_name)
    return [
        Sealed(content_topic, encrypt_symmetric(part, key, signer=identity), True)
        for part in segment(protocol.SerializeToString(), segment_size)
    ]
