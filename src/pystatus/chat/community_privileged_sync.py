"""Requests to join a control node shares with its admins (issue 17), sans-IO.

status-go v1.1.0's CommunityPrivilegedUserSyncMessage (ApplicationMetadataMessage type 72): the
control node sends it, its wrapper signed by the community key, bare and ECIES to each admin's
partitioned topic (``SendPrivate`` with ``SkipEncryptionLayer``): the pending requests when a
member becomes privileged (``CONTROL_NODE_ALL_SYNC_REQUESTS_TO_JOIN``), and each request it
accepts or rejects (``CONTROL_NODE_ACCEPT_REQUEST_TO_JOIN``, ``..._REJECT_...``). An admin takes
it only from the control node (``handleCommunityPrivilegedUserSyncMessage`` in
messenger_communities.go; checks as ``ValidateCommunityPrivilegedUserSyncMessage`` in
communities/manager.go): shared pending requests join those requesters sent it
(:meth:`pystatus.chat.community_admin.AdminEvents.hold_request`), decided ones leave them.
``CONTROL_NODE_MEMBER_EDIT_SHARED_ADDRESSES`` is counted and not acted on: pystatus keeps no
revealed addresses of others.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from google.protobuf.message import DecodeError
from prometheus_client import Counter

from pystatus.chat.community import InvalidCommunity, community_id_of
from pystatus.chat.community_requests import request_id
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.proto import community_privileged_sync_pb2 as spb

Sync = spb.CommunityPrivilegedUserSyncMessage
ACCEPT = Sync.CONTROL_NODE_ACCEPT_REQUEST_TO_JOIN
REJECT = Sync.CONTROL_NODE_REJECT_REQUEST_TO_JOIN
ALL_SYNC = Sync.CONTROL_NODE_ALL_SYNC_REQUESTS_TO_JOIN
EDIT_SHARED_ADDRESSES = Sync.CONTROL_NODE_MEMBER_EDIT_SHARED_ADDRESSES

MAX_SHARED = 1_000
"""Requests one message may carry (status-go sets no bound; a bigger one is refused)."""
PENDING = 1
"""status-go's ``RequestToJoinStatePending``: the only shared state an admin holds."""

PRIVILEGED_SYNC = Counter(
    "chat_community_privileged_sync",
    "Control nodes' shared requests to join taken by an admin, by what was done",
    ["outcome"],
)


@dataclass(frozen=True, slots=True)
class PrivilegedSync:
    """A decoded type 72 message: ``kind`` (an ``EventType`` number), ``community_id``
    (``0x02...``), ``clock`` (seconds), ``decided`` (requesters ``0x04...`` accepted or
    rejected), ``shared`` (pending requests: requester ``0x04...`` and the request)."""

    kind: int
    community_id: str
    clock: int
    decided: tuple[str, ...]
    shared: tuple[tuple[str, pb.CommunityRequestToJoin], ...]


def _requester(text: str) -> str:
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
        return "0x" + coincurve.PublicKey(raw).format(compressed=False).hex()
    except ValueError:
        raise InvalidCommunity("privileged_sync", f"not a requester key: {text[:80]!r}") from None


def decode_privileged_sync(payload: bytes) -> PrivilegedSync:
    """Decode and check a type 72 payload. Raises :class:`InvalidCommunity` (reason
    ``privileged_sync``, counted) for bad bytes, a bad community id, an unknown type, a
    decision or sync naming no request, or more than :data:`MAX_SHARED`."""
    try:
        message = Sync.FromString(payload)
    except (DecodeError, ValueError) as exc:
        raise InvalidCommunity("privileged_sync", f"does not decode: {exc}") from None
    if len(message.community_id) != 33:
        raise InvalidCommunity("privileged_sync", "no valid community id")
    community_id = community_id_of(message.community_id)
    if len(message.request_to_join) + len(message.sync_requests_to_join) > MAX_SHARED:
        raise InvalidCommunity("privileged_sync", f"over {MAX_SHARED} requests")
    decided: list[str] = []
    shared: list[tuple[str, pb.CommunityRequestToJoin]] = []
    if message.type in (ACCEPT, REJECT):
        if not message.request_to_join:
            raise InvalidCommunity("privileged_sync", "a decision naming no request")
        for key, request in message.request_to_join.items():
            if not request.community_id:
                raise InvalidCommunity("privileged_sync", "a request without its community")
            decided.append(_requester(key))
    elif message.type == ALL_SYNC:
        if not message.sync_requests_to_join:
            raise InvalidCommunity("privileged_sync", "a sync naming no request")
        for item in message.sync_requests_to_join:
            requester = _requester(item.public_key)
            if item.state != PENDING:
                continue  # decided already: nothing for an admin to hold
            request = pb.CommunityRequestToJoin(
                clock=item.clock,
                ens_name=item.ens_name,
                chat_id=item.chat_id,
                community_id=item.community_id,
                customization_color=item.customization_color,
            )
            shared.append((requester, request))
    elif message.type != EDIT_SHARED_ADDRESSES:
        raise InvalidCommunity("privileged_sync", f"unknown type {int(message.type)}")
    return PrivilegedSync(
        int(message.type), community_id, message.clock, tuple(decided), tuple(shared)
    )


def encode_all_sync(community_id: str, pending: list[tuple[str, int, str]], clock_s: int) -> bytes:
    """``CONTROL_NODE_ALL_SYNC_REQUESTS_TO_JOIN`` for a new admin: each pending request
    ((requester ``0x04...``, clock in seconds, display name)), without revealed addresses, as
    status-go's ``ShareRequestsToJoinWithPrivilegedMembers`` sends an admin."""
    raw_id = bytes.fromhex(community_id.removeprefix("0x"))
    message = Sync(clock=clock_s, type=ALL_SYNC, community_id=raw_id)
    for requester, clock, _ in pending:
        message.sync_requests_to_join.append(
            spb.SyncCommunityRequestsToJoin(
                id=request_id(bytes.fromhex(requester[2:]), community_id),
                public_key=requester,
                clock=clock,
                community_id=raw_id,
                state=PENDING,
            )
        )
    return message.SerializeToString()


def encode_decided(community_id: str, requester: str, clock_s: int, *, accepted: bool) -> bytes:
    """``CONTROL_NODE_ACCEPT_REQUEST_TO_JOIN`` or ``..._REJECT_...`` for ``requester``
    (``0x04...``), without revealed addresses, as status-go tells admins of a decision."""
    raw_id = bytes.fromhex(community_id.removeprefix("0x"))
    message = Sync(clock=clock_s, type=ACCEPT if accepted else REJECT, community_id=raw_id)
    message.request_to_join[requester].CopyFrom(
        pb.CommunityRequestToJoin(clock=clock_s, community_id=raw_id)
    )
    return message.SerializeToString()
