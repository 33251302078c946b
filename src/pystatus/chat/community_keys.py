"""Hash ratchet keys of encrypted communities: who gets which key when, members asking for
keys, and what a post looks like on the wire (sans-IO; status-go v1.1.0).

An encrypted community is one whose description holds a ``BECOME_MEMBER`` token permission
(``communities/community.go`` Encrypted). Its group id is the community's compressed public
key (``communities_key_distributor.go`` iterateActions); pystatus does not make encrypted
channels (status-go's are named by token-gated channel permissions, which need a wallet).

- **Control node** (:meth:`CommunityKeys.control_change`, after each change of a community we
  control): the first time it is encrypted, a key is made and sent to every member; a member
  added gets every kept key; a member who left, was removed or banned makes a new key, sent to
  the members who remain only (``community_encryption_key_action.go``,
  :func:`~pystatus.chat.hash_ratchet_exchange.plan_key_action`). Keys go in 1:1 Double Ratchet
  messages with an ``HRHeader`` (``common.KeyExMsgReuse`` / ``KeyExMsgRekey``, sent through
  ``GetKeyExMessageSpecs``), from our chat key, on the member's partitioned or negotiated
  topic, as any 1:1 message of ours (:func:`seal_direct`). status-go v1.1.0 also publishes a
  public ``RekeyGroup`` message on a rekey; its key distributor leaves the raw message's chat
  id empty, so it goes to the public topic named ``""``, which no one reads: pystatus does
  not send it.
- **Member**: a post (``ChatMessage`` and the other types ``ShouldCommunityMessageBeEncrypted``
  names) is wrapped, sealed under the group's current key with an ``HRHeader``
  (``BuildHashRatchetMessage``) and published on the channel's public topic under the key
  stretched from the channel's chat id (``message_sender.go`` dispatchCommunityChatMessage);
  see :func:`seal_post`. A member that meets a message under a key it lacks asks the control
  node (:meth:`CommunityKeys.want_keys`): a ``CommunityEncryptionKeysRequest`` (type 87), the
  bare wrapper ECIES to the community key on its control topic (status-go's
  requestCommunityEncryptionKeys, SendMessageToControlNode). At most one request per community
  per :data:`REQUEST_INTERVAL_MS` (status-go asks every 5 minutes).
- **Control node answering** (:meth:`CommunityKeys.answer_request`): only a current member
  (status-go's handleCommunityEncryptionKeysRequest: ``HasMember``), at most once per member
  per :data:`ANSWER_INTERVAL_MS`; every refusal counted.

Times are wall-clock milliseconds passed in (status-go's clocks); nothing here reads a clock.
Tables are bounded (:data:`MAX_TRACKED`, ``chat_community_keys_tracked``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeVar

from google.protobuf.message import DecodeError
from prometheus_client import Counter, Gauge

from pystatus.chat import topics
from pystatus.chat.community import Community, channel_encrypted, community_id_of, member_key
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import (
    KeyAction,
    KeyActionType,
    KeyDistribution,
    distribute,
    plan_key_action,
)
from pystatus.chat.proto import communities_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.segmentation import segment
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.errors import ChatError
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric

REQUEST_INTERVAL_MS = 30_000
"""A member asks the control node for a community's keys at most this often."""
ANSWER_INTERVAL_MS = 30_000
"""The control node answers one member's key requests for a community at most this often."""
MAX_TRACKED = 1_000
"""Entries per table: communities' member lists, requests asked and answered."""
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

EVENTS = Counter(
    "chat_community_keys",
    "Hash ratchet key traffic of encrypted communities, by event",
    ["event"],
)
TRACKED = Gauge("chat_community_keys_tracked", "Entries in the community key tables", ["table"])


class InvalidKeyRequest(ChatError):
    """A CommunityEncryptionKeysRequest that does not decode or names another community."""


@dataclass(frozen=True, slots=True)
class SealedPart:
    """One Waku payload (RFC 26 version 1, signed) for ``content_topic``."""

    content_topic: str
    payload: bytes


def group_id(community: Community) -> bytes:
    """The hash ratchet group of a community: its compressed public key (33 bytes)."""
    return bytes.fromhex(community.id[2:])


def _bounded(table: OrderedDict[_K, _V], name: str) -> None:
    while len(table) > MAX_TRACKED:
        table.popitem(last=False)
        EVENTS.labels(f"evicted_{name}").inc()
    TRACKED.labels(name).set(len(table))


class CommunityKeys:
    """Key bookkeeping of one account (``identity``: its chat private key); the intervals
    (wall-clock ms) bound how often we ask for a community's keys and answer one member."""

    def __init__(
        self,
        identity: bytes,
        *,
        request_interval_ms: int = REQUEST_INTERVAL_MS,
        answer_interval_ms: int = ANSWER_INTERVAL_MS,
    ) -> None:
        self.identity = identity
        self.request_interval_ms = request_interval_ms
        self.answer_interval_ms = answer_interval_ms
        self._members: OrderedDict[Hashable, frozenset[str]] = OrderedDict()
        """Community id -> its members when its keys were last seen to (controlled ones)."""
        self._asked: OrderedDict[Hashable, int] = OrderedDict()
        """Community id -> when we last asked for its keys (ms)."""
        self._answered: OrderedDict[Hashable, int] = OrderedDict()
        """(community id, member) -> when we last answered them (ms)."""

    def remember(self, community: Community) -> None:
        """The members of a community we control as its keys stand (at start: the keys
        went out before the restart)."""
        self._members[community.id] = frozenset(community.members)
        self._members.move_to_end(community.id)
        _bounded(self._members, "members")

    def control_change(
        self,
        community: Community,
        ratchet: HashRatchet,
        encryption: EncryptionService,
        now_ms: int,
    ) -> KeyDistribution | None:
        """What the change that made ``community`` (one we control, as it now stands) means
        for its keys: None, or the key made and the 1:1 messages to send (by recipient's
        uncompressed key). Raises what :func:`distribute` raises."""
        before = self._members.get(community.id)
        self.remember(community)
        if not community.encrypted:
            return None
        group = group_id(community)
        members = frozenset(community.members)
        if ratchet.current_key(group) is None:
            action = KeyAction(KeyActionType.ADD, members)
        elif before is None:
            return None
        else:
            action = plan_key_action(
                was_encrypted=True,
                is_encrypted=True,
                control_node_changed=False,
                members=members,
                added=members - before,
                removed=before - members,
            )
            if action.type is KeyActionType.NONE:
                return None
        distribution = distribute(ratchet, encryption, group, action, now_ms)
        EVENTS.labels(action.type.name.lower()).inc()
        EVENTS.labels("sent").inc(len(distribution.direct))
        return distribution

    def want_keys(self, community: Community, now_ms: int) -> bytes | None:
        """A wrapped CommunityEncryptionKeysRequest for ``community`` (signed by our chat key),
        or None when we asked less than ``request_interval_ms`` ago (counted)."""
        last = self._asked.get(community.id)
        if last is not None and now_ms - last < self.request_interval_ms:
            EVENTS.labels("request_limited").inc()
            return None
        self._asked[community.id] = now_ms
        self._asked.move_to_end(community.id)
        _bounded(self._asked, "asked")
        EVENTS.labels("requested").inc()
        request = communities_pb2.CommunityEncryptionKeysRequest(community_id=group_id(community))
        return wrap(
            request.SerializeToString(),
            MessageType.COMMUNITY_ENCRYPTION_KEYS_REQUEST,
            self.identity,
        )

    def answer_request(
        self,
        community: Community,
        requester: bytes,
        ratchet: HashRatchet,
        encryption: EncryptionService,
        now_ms: int,
    ) -> KeyDistribution | None:
        """The keys for ``requester`` (uncompressed key, the wrapper's author) who asked for
        those of ``community`` (one we control; see :func:`decode_key_request`): None,
        counted, when they are no member, the community is not encrypted or they were
        answered less than ``answer_interval_ms`` ago."""
        member = member_key(requester)
        if not community.is_member(member) or community.is_banned(member):
            EVENTS.labels("request_not_member").inc()
            return None
        if not community.encrypted:
            EVENTS.labels("request_not_encrypted").inc()
            return None
        last = self._answered.get((community.id, member))
        if last is not None and now_ms - last < self.answer_interval_ms:
            EVENTS.labels("answer_limited").inc()
            return None
        self._answered[(community.id, member)] = now_ms
        self._answered.move_to_end((community.id, member))
        _bounded(self._answered, "answered")
        action = KeyAction(KeyActionType.SEND_TO_MEMBERS, frozenset({member}))
        distribution = distribute(ratchet, encryption, group_id(community), action, now_ms)
        EVENTS.labels("answered").inc()
        return distribution


def decode_key_request(payload: bytes) -> str:
    """The community id (``0x02...``) a CommunityEncryptionKeysRequest asks about (its
    ``chat_ids`` are not read: pystatus makes no encrypted channels). Raises
    :class:`InvalidKeyRequest`, counted."""
    request = communities_pb2.CommunityEncryptionKeysRequest()
    try:
        request.ParseFromString(payload)
        return community_id_of(request.community_id)
    except (DecodeError, RuntimeError, ValueError, ChatError) as exc:
        EVENTS.labels("request_invalid").inc()
        raise InvalidKeyRequest(f"not a key request for a community: {exc}") from None


def seal_direct(
    encryption: EncryptionService,
    identity: bytes,
    recipient: bytes,
    message: pb.ProtocolMessage,
    segment_size: int,
) -> list[SealedPart]:
    """The Waku payloads of a 1:1 ProtocolMessage already encrypted for ``recipient``
    (uncompressed key): on the negotiated topic once agreed, else ECIES on the partitioned
    topic, segmented over ``segment_size``, as any 1:1 message (one_to_one.seal_private)."""
    serialized = message.SerializeToString()
    secret = encryption.negotiated(recipient)
    if secret is not None:
        key = topics.negotiated_key(secret)
        return [
            SealedPart(
                topics.negotiated_content_topic(secret),
                encrypt_symmetric(part, key, signer=identity),
            )
            for part in segment(serialized, segment_size)
        ]
    return [
        SealedPart(
            topics.partitioned_content_topic(recipient),
            encrypt_asymmetric(part, recipient, signer=identity),
        )
        for part in segment(serialized, segment_size)
    ]


def post_group(community: Community | None, chat_id: str) -> bytes:
    """The hash ratchet group a post in channel ``chat_id`` goes under (status-go's
    dispatchMessage): a token-gated channel's own (``chat_id``'s ASCII), else an encrypted
    community's; ``b""`` for a post in the clear."""
    if community is None:
        return b""
    if channel_encrypted(community.description, chat_id):
        return chat_id.encode()
    return group_id(community) if community.encrypted else b""


def seal_post(
    ratchet: HashRatchet,
    identity: bytes,
    community: Community,
    chat_id: str,
    wrapped: bytes,
    segment_size: int,
    group: bytes = b"",
) -> list[SealedPart]:
    """A post (``wrapped``: the signed ApplicationMetadataMessage) in channel ``chat_id`` of
    an encrypted community: sealed under the current key of ``group`` (default the
    community's; a token-gated channel's is ``chat_id``'s ASCII, status-go's dispatchMessage)
    with an ``HRHeader``, then symmetric under the key stretched from ``chat_id`` on its
    public topic. Raises :class:`~pystatus.chat.errors.UnknownGroupKey` while we hold no key."""
    protocol = ratchet.encrypt(group or group_id(community), wrapped)
    key = topics.public_chat_key(chat_id)
    return [
        SealedPart(
            topics.public_chat_content_topic(chat_id),
            encrypt_symmetric(part, key, signer=identity),
        )
        for part in segment(protocol.SerializeToString(), segment_size)
    ]
