"""Requests to join and leave a community and their answers: wire forms, as status-go v1.1.0.

Messages (``protocol/protobuf/communities.proto``; senders in ``protocol/
messenger_communities.go``), each a signed ApplicationMetadataMessage sent without the
encryption layer (``SkipEncryptionLayer``: the Waku payload is the bare wrapper):

- ``COMMUNITY_REQUEST_TO_JOIN`` (27), by the requester, to the control node
  (``SendMessageToControlNode``): ECIES to the community key on the topic named by that key's
  uncompressed hex, on ``/waku/2/rs/16/64``. Its clock is in **seconds**
  (``time.Now().Unix()``); the control node refuses a request 7 days old
  (``AddTimeoutToRequestToJoinClock``), one from a banned key, and one revealing no address.
- ``COMMUNITY_CANCEL_REQUEST_TO_JOIN`` (60) and ``COMMUNITY_REQUEST_TO_LEAVE`` (57), the same
  way.
- ``COMMUNITY_REQUEST_TO_JOIN_RESPONSE`` (48), by the control node, signed with the community
  key, to the requester over its partitioned topic: the description (unsigned inside; the
  wrapper's signer must be the control node, ``HandleCommunityRequestToJoinResponse``), the
  community id, ``accepted``, the clock (the description's, in milliseconds).
- ``COMMUNITY_USER_KICKED`` (81), by the control node, signed with the community key, to a
  removed or banned member the same way.

A request's id is keccak256 of ``"<0x04... requester>-<0x02... community id>"``
(``CalculateRequestID``: Go's ``%s`` of the id's ``HexBytes``, whose ``String`` is its hex).
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

from pystatus.chat.community import InvalidCommunity, community_id_of, member_key
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.enr import keccak256

REQUEST_TIMEOUT_S = 7 * 24 * 3600
"""A request older than this (its clock, seconds) is refused by the control node."""
MAX_REQUEST = 64 * 1024
"""Largest request, cancellation, kick or leave taken, in bytes."""
MAX_RESPONSE = 1024 * 1024

_KINDS: dict[int, tuple[type[Message], int]] = {
    MessageType.COMMUNITY_REQUEST_TO_JOIN: (pb.CommunityRequestToJoin, MAX_REQUEST),
    MessageType.COMMUNITY_CANCEL_REQUEST_TO_JOIN: (pb.CommunityCancelRequestToJoin, MAX_REQUEST),
    MessageType.COMMUNITY_REQUEST_TO_LEAVE: (pb.CommunityRequestToLeave, MAX_REQUEST),
    MessageType.COMMUNITY_USER_KICKED: (pb.CommunityUserKicked, MAX_REQUEST),
    MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE: (
        pb.CommunityRequestToJoinResponse,
        MAX_RESPONSE,
    ),
}
CONTROL_TYPES = frozenset(_KINDS)
"""The request and answer types this module decodes."""


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request-like message: ``type`` (a :class:`MessageType`), ``community_id``
    (``0x02...``), ``clock`` and the message itself."""

    type: int
    community_id: str
    clock: int
    message: Message


def request_id(requester: bytes, community_id: str) -> bytes:
    """status-go's ``CalculateRequestID`` for ``requester`` (a public key)."""
    return keccak256(f"{member_key(requester)}-{community_id}".encode())


def decode(message_type: int, payload: bytes) -> Request:
    """A request, cancellation, leave, kick or response payload. Raises
    :class:`~pystatus.chat.community.InvalidCommunity` (bad bytes, no or a bad community id,
    a zero clock where status-go needs one)."""
    kind = _KINDS.get(message_type)
    if kind is None:
        raise InvalidCommunity("type", f"not a community request type: {message_type}")
    cls, limit = kind
    if len(payload) > limit:
        raise InvalidCommunity("size", f"a {cls.__name__} over {limit} bytes")
    message = cls()
    try:
        message.ParseFromString(payload)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise InvalidCommunity("decode", f"not a {cls.__name__}: {exc}") from None
    raw = bytes(message.community_id)  # type: ignore[attr-defined]
    if len(raw) != 33:
        raise InvalidCommunity("id", "a community id is a 33-byte compressed key")
    community_id = community_id_of(raw)
    clock = int(message.clock)  # type: ignore[attr-defined]
    if clock == 0 and message_type != MessageType.COMMUNITY_USER_KICKED:
        raise InvalidCommunity("clock", "a zero clock")
    return Request(message_type, community_id, clock, message)


def _raw_id(community_id: str) -> bytes:
    return bytes.fromhex(community_id.removeprefix("0x"))


REVEALED_CHAIN_IDS = (1, 10, 42161)
"""The chains a revealed address names: Ethereum, Optimism and Arbitrum mainnets, the networks
status-go v1.1.0's wallet runs by default (``api/default_networks.go``; test networks off).
status-go's app names every chain it has when the community has no membership permission
(``checkPermissionsOrDefault``); pystatus keeps no balances, so it names them all always and
leaves the balance check to the control node."""


def revealed_account(identity: bytes, community_id: str) -> pb.RevealedAccount:
    """One address shown to the control node: the Ethereum address of ``identity`` (the chat
    key). The material is keccak256(compressed chat key || community id || request id), as
    status-go's ``generateCommunityRequestsForSigning`` builds it; the control node checks the
    signature with ``personal_ecRecover`` (``HandleCommunityRequestToJoin``), so it is an
    EIP-191 personal signature of those 32 bytes, v in {27, 28}. status-go v1.1.0's control node
    refuses a request revealing no address. The address names :data:`REVEALED_CHAIN_IDS`: the
    control node checks token permissions only on the chains a revealed account names
    (``communities/manager.go`` calculateChainIDsSet), so an account naming none never meets
    one (a token-gated channel stays closed to it, a token-gated community refuses it)."""
    key = coincurve.PrivateKey(identity)
    public = key.public_key.format(compressed=False)
    material = keccak256(
        key.public_key.format(compressed=True)
        + _raw_id(community_id)
        + request_id(public, community_id)
    )
    signature = bytearray(key.sign_recoverable(personal_hash(material), hasher=None))
    signature[64] += 27
    address = ethereum_address(public)
    return pb.RevealedAccount(
        address=address,
        signature=bytes(signature),
        chain_ids=REVEALED_CHAIN_IDS,
        isAirdropAddress=True,
    )


def personal_hash(data: bytes) -> bytes:
    """EIP-191's hash of a personal message (geth's ``accounts.TextHash``)."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)


def ethereum_address(public_key: bytes) -> str:
    """``0x`` + the last 20 bytes of keccak256 of the uncompressed key without its prefix."""
    point = coincurve.PublicKey(public_key).format(compressed=False)
    return "0x" + keccak256(point[1:])[12:].hex()


def request_to_join(
    identity: bytes, community_id: str, now_s: int, *, display_name: str = ""
) -> bytes:
    """A wrapped COMMUNITY_REQUEST_TO_JOIN signed with our chat key ``identity``
    (``now_s``: wall-clock seconds)."""
    message = pb.CommunityRequestToJoin(
        clock=now_s,
        community_id=_raw_id(community_id),
        display_name=display_name,
        revealed_accounts=[revealed_account(identity, community_id)],
    )
    return wrap(message.SerializeToString(), MessageType.COMMUNITY_REQUEST_TO_JOIN, identity)


def cancel_request(identity: bytes, community_id: str, now_s: int) -> bytes:
    message = pb.CommunityCancelRequestToJoin(clock=now_s, community_id=_raw_id(community_id))
    payload = message.SerializeToString()
    return wrap(payload, MessageType.COMMUNITY_CANCEL_REQUEST_TO_JOIN, identity)


def request_to_leave(identity: bytes, community_id: str, now_ms: int) -> bytes:
    message = pb.CommunityRequestToLeave(clock=now_ms, community_id=_raw_id(community_id))
    return wrap(message.SerializeToString(), MessageType.COMMUNITY_REQUEST_TO_LEAVE, identity)


def response(
    community_private_key: bytes,
    description: pb.CommunityDescription | None,
    community_id: str,
    accepted: bool,
    clock: int,
) -> bytes:
    """A wrapped COMMUNITY_REQUEST_TO_JOIN_RESPONSE signed with the community key.

    status-go sends the description sealed (``EncryptedDescription``); pystatus sends it plain
    (the answer is ECIES to the member alone), so a new member of an encrypted community
    learns its members and owner before the keys, which follow over 1:1 messages."""
    message = pb.CommunityRequestToJoinResponse(
        clock=clock, community_id=_raw_id(community_id), accepted=accepted
    )
    if description is not None:
        message.community.CopyFrom(description)
    payload = message.SerializeToString()
    return wrap(payload, MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE, community_private_key)


def user_kicked(community_private_key: bytes, community_id: str, clock: int) -> bytes:
    message = pb.CommunityUserKicked(clock=clock, community_id=_raw_id(community_id))
    payload = message.SerializeToString()
    return wrap(payload, MessageType.COMMUNITY_USER_KICKED, community_private_key)
