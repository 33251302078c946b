"""/admin/v1/peers (with --rest-admin): the peers this node knows, and dialing new ones.

As nwaku's ``waku/rest_api/endpoint/admin/handlers.nim``: a peer's shards come from its
metadata answer, else its record; POST answers 400 for an address it cannot parse or a peer it
cannot reach (our own peer id included: never dialed), and 200 for a peer already connected
whatever the address given. Without --rest-admin these paths answer 404 naming the flag
(:mod:`pystatus.api.app`)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from pystatus.api.errors import ApiError
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode
from pystatus.node.peer_manager_rules import Origin, PeerInfo
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.enr import Enr
from pystatus.waku.errors import InvalidTopic
from pystatus.waku.topics import RelayShard

MAX_PEERS_PER_REQUEST = 100


class WakuPeer(BaseModel):
    """One peer as nwaku's REST admin shapes it (``waku/rest_api/endpoint/admin/types.nim``):
    ``connected`` is a ``Connectedness`` name (Connected, CanConnect, CannotConnect,
    NotConnected), ``origin`` a ``PeerOrigin`` name (Static, Dns, Discv5, PeerExchange, or
    UnknownOrigin for a peer that dialed us), ``score`` the gossipsub score of a relay peer."""

    multiaddr: str
    protocols: list[str]
    shards: list[int]
    connected: str
    agent: str
    origin: str
    score: float | None = None


def _shards(node: WakuNode, info: PeerInfo) -> list[int]:
    """The shards ``info``'s peer serves: what it said in its metadata answer (nwaku keeps
    that in its peer store's ShardBook, ``peer_manager.nim`` onPeerMetadata), else its
    record's ``rs``/``rsv`` (nwaku's ``getShards``, ``waku_core/peers.nim``), else, for a
    relay peer that told neither (a plain gossipsub peer such as js-waku's), the shards of our
    cluster it subscribed to."""
    said = node.metadata.peers.get(info.peer_id)
    if said is not None and said.cluster_id == node.config.cluster_id and said.shards:
        return list(said.shards)
    if info.shards:
        return list(info.shards)
    if node.relay is None:
        return []
    found: set[int] = set()
    for topic in node.relay.router.peer_topics(info.peer_id.to_bytes()):
        try:
            shard = RelayShard.parse(topic)
        except InvalidTopic:
            continue  # a named topic of no cluster: no shard to show
        if shard.cluster_id == node.config.cluster_id:
            found.add(shard.shard)
    return sorted(found)


async def _dial(node: WakuNode, target: Multiaddr) -> bool:
    """Whether ``target`` was reached (a failed dial is booked for the peer's backoff)."""
    if target.peer_id is not None:
        node.peer_manager.learn_addr(target, Origin.STATIC)
    try:
        await node.connect(target)
    except (P2PError, TimeoutError):
        if target.peer_id is not None:
            node.peer_manager.book.dial_failed(target.peer_id, time.monotonic())
        return False
    return True


def admin_routes(node: WakuNode) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.get("/admin/v1/peers")
    async def peers() -> list[WakuPeer]:
        relay = node.relay
        relay_peers = set(relay.relay_peers()) if relay is not None else set()
        result = []
        for info in node.peer_manager.book.peers():
            peer = info.peer_id
            if peer == node.peer_id:
                continue
            record = node.host.peerstore.get(peer)
            addrs = list(record.addrs) if record is not None and record.addrs else info.addrs
            addr = f"{addrs[0].decapsulate_p2p()}/p2p/{peer}" if addrs else f"/p2p/{peer}"
            protocols = record.protocols if record is not None and record.protocols else ()
            score = None
            if relay is not None and peer in relay_peers:
                score = relay.peer_score(peer)
            result.append(
                WakuPeer(
                    multiaddr=addr,
                    protocols=sorted(protocols or info.protocols),
                    shards=_shards(node, info),
                    connected=info.connectedness.value,
                    agent=info.agent or (record.agent_version or "" if record else ""),
                    origin=info.origin.value,
                    score=score,
                )
            )
        return result

    @router.post(
        "/admin/v1/peers",
        response_class=PlainTextResponse,
        responses={400: {"description": "Bad address or unreachable peer"}},
    )
    async def add_peers(
        addresses: Annotated[list[str], Body(max_length=MAX_PEERS_PER_REQUEST)],
    ) -> str:
        # Answers in the words of nwaku's admin handler (waku/rest_api/endpoint/admin).
        targets: list[Multiaddr] = []
        for text in addresses:
            try:
                if text.startswith("enr:"):
                    enr = Enr.from_text(text)
                    node.add_enr(enr, Origin.STATIC)
                    dialable = enr.dial_addrs()
                    if not dialable:
                        raise ApiError(
                            400, "Couldn't parse remote peer info: the record has no TCP address"
                        )
                    targets.append(dialable[0])
                else:
                    targets.append(Multiaddr.from_string(text))
            except (P2PError, PystatusError) as exc:
                raise ApiError(400, f"Couldn't parse remote peer info: {exc}") from None
            if targets[-1].peer_id is None:
                raise ApiError(400, "Couldn't parse remote peer info: no peer id (/p2p/...)")
        for index, (text, target) in enumerate(zip(addresses, targets, strict=True)):
            # nwaku's connectPeer never dials itself and reports that as a failure; a peer
            # already connected counts as reached, whatever the address given, as there.
            if target.peer_id == node.peer_id or not await _dial(node, target):
                raise ApiError(400, f"Failed to connect to peer at index: {index} - {text}")
        return "OK"

    return router
