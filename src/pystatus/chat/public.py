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


UNPUBLISHED_RETRY = 5.0
"""Seconds before a public message nothing took is published again (while connected)."""
MAX_UNPUBLISHED = 1_000


class Unpublished:
    """Public messages whose publish nothing took (offline, or every light push node failed).

    One-to-one messages need no such list: MVDS sends them again until acknowledged. A public
    message has only the store's confirmation, which never comes for what never left, so it
    waits here and goes out again :data:`UNPUBLISHED_RETRY` seconds later, or at once when the
    device is connected again. Bounded: the oldest are forgotten past :data:`MAX_UNPUBLISHED`
    (``chat_session_evicted{table="unpublished"}``); a forgotten one stays *pending* until the
    user resends it. Times are the session's monotonic seconds.
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[object, ...], float] = {}
        self._carried: dict[tuple[object, ...], tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, retry: tuple[object, ...], carried: tuple[str, ...], now: float) -> bool:
        """Wait to send ``retry`` (a public Publish's contents, carrying the message ids
        ``carried``) again; False when the oldest had to be forgotten to make room."""
        self._waiting[retry] = now + UNPUBLISHED_RETRY
        self._carried[retry] = carried
        if len(self._waiting) <= MAX_UNPUBLISHED:
            return True
        oldest = next(iter(self._waiting))
        del self._waiting[oldest], self._carried[oldest]
        return False

    def reconnected(self, now: float) -> None:
        for retry in self._waiting:
            self._waiting[retry] = now

    def next_deadline(self) -> float | None:
        return min(self._waiting.values(), default=None)

    def due(self, now: float) -> list[tuple[tuple[object, ...], tuple[str, ...]]]:
        """(contents, message ids) to send again now (forgotten here: a new failure adds
        them back)."""
        ready = [retry for retry, at in self._waiting.items() if at <= now]
        for retry in ready:
            del self._waiting[retry]
        return [(retry, self._carried.pop(retry)) for retry in ready]
