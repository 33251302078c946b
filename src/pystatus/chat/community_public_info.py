"""A community's shard and store nodes as its control node publishes them (issue 17), sans-IO:
decoded and checked, not yet acted on.

status-go v1.1.0's CommunityPublicShardInfo (type 79, ``HandleCommunityPublicShardInfo`` in
messenger_community_shard.go) and CommunityPublicStorenodesInfo (type 83,
messenger_community_storenodes.go) each carry a payload and a recoverable signature of its
Keccak-256, which must recover to the community's key (``verifyCommunitySignature``); with a
``chainId`` the owner is named on chain instead, which pystatus cannot check (no chain client):
refused. pystatus keeps a community on its default shard and queries the account's own store
nodes, so these are counted (``chat_community_not_acted``), not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from google.protobuf.message import DecodeError

from pystatus.chat.community import InvalidCommunity, community_id_of
from pystatus.chat.proto import community_public_info_pb2 as pb
from pystatus.waku.enr import keccak256

MAX_STORENODES = 16
"""Store nodes one message may name (status-go sets no bound; more are refused)."""
MAX_ADDRESS = 1_000
"""Longest store node address taken (a multiaddr or an ENR)."""


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """A community's shard: ``community_id`` (``0x02...``), ``clock``, ``cluster`` and
    ``index`` (a ``/waku/2/rs/<cluster>/<index>`` pubsub topic)."""

    community_id: str
    clock: int
    cluster: int
    index: int


@dataclass(frozen=True, slots=True)
class Storenodes:
    """A community's store nodes: ``community_id``, ``clock`` and (id, address) pairs."""

    community_id: str
    clock: int
    storenodes: tuple[tuple[str, str], ...]


def _signed(reason: str, payload: bytes, signature: bytes, raw_id: bytes, chain_id: int) -> str:
    """The community id, once the signature recovers to its key. Raises InvalidCommunity."""
    if len(raw_id) != 33:
        raise InvalidCommunity(reason, "no valid community id")
    community_id = community_id_of(raw_id)
    if chain_id:
        raise InvalidCommunity(reason, "an owner named on chain (pystatus has no chain client)")
    if len(signature) != 65:
        raise InvalidCommunity(reason, "no valid signature")
    try:
        signer = coincurve.PublicKey.from_signature_and_message(
            signature, keccak256(payload), hasher=None
        )
    except (ValueError, TypeError):
        raise InvalidCommunity(reason, "a signature that recovers no key") from None
    if signer.format(compressed=True) != raw_id:
        raise InvalidCommunity(reason, "not signed by the community key")
    return community_id


def decode_shard_info(data: bytes) -> ShardInfo:
    """A type 79 payload. Raises :class:`InvalidCommunity` (reason ``shard_info``, counted)
    for bad bytes, a bad community id or signature, a signer other than the community key,
    or a shard out of range (cluster and index 0 to 65535, as a pubsub topic names them)."""
    try:
        outer = pb.CommunityPublicShardInfo.FromString(data)
        info = pb.PublicShardInfo.FromString(outer.payload)
    except (DecodeError, ValueError) as exc:
        raise InvalidCommunity("shard_info", f"does not decode: {exc}") from None
    community_id = _signed(
        "shard_info", outer.payload, outer.signature, info.community_id, info.chainId
    )
    if not info.HasField("shard") or not (
        0 <= info.shard.cluster <= 0xFFFF and 0 <= info.shard.index <= 0xFFFF
    ):
        raise InvalidCommunity("shard_info", "no shard, or one out of range")
    return ShardInfo(community_id, info.clock, info.shard.cluster, info.shard.index)


def decode_storenodes(data: bytes) -> Storenodes:
    """A type 83 payload. Raises :class:`InvalidCommunity` (reason ``storenodes``, counted)
    for bad bytes, a bad community id or signature, a signer other than the community key,
    over :data:`MAX_STORENODES` nodes, or one without an address (or of another community)."""
    try:
        outer = pb.CommunityPublicStorenodesInfo.FromString(data)
        info = pb.CommunityStorenodes.FromString(outer.payload)
    except (DecodeError, ValueError) as exc:
        raise InvalidCommunity("storenodes", f"does not decode: {exc}") from None
    community_id = _signed(
        "storenodes", outer.payload, outer.signature, info.community_id, info.chain_id
    )
    if len(info.storenodes) > MAX_STORENODES:
        raise InvalidCommunity("storenodes", f"over {MAX_STORENODES} store nodes")
    nodes: list[tuple[str, str]] = []
    for node in info.storenodes:
        if not node.address or len(node.address) > MAX_ADDRESS:
            raise InvalidCommunity("storenodes", "a store node without a usable address")
        if node.community_id and node.community_id != info.community_id:
            raise InvalidCommunity("storenodes", "a store node of another community")
        if not node.removed:
            nodes.append((node.storenode_id[:MAX_ADDRESS], node.address))
    return Storenodes(community_id, info.clock, tuple(nodes))
