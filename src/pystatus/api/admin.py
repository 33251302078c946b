"""/admin/v1/peers (with --rest-admin): the peers this node knows, and dialing new ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from pystatus.api.errors import ApiError
from pystatus.errors import PystatusError
from pystatus.node.node import WakuNode
from pystatus.p2p.errors import P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku.enr import Enr

MAX_PEERS_PER_REQUEST = 100


class ProtocolState(BaseModel):
    protocol: str
    connected: bool


class WakuPeer(BaseModel):
    multiaddr: str
    protocols: list[ProtocolState]
    connected: bool
    enr: str | None = None


def admin_routes(node: WakuNode) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.get("/admin/v1/peers")
    async def peers() -> list[WakuPeer]:
        known = {e.peer_id: e for e in node.enr_cache.records()}
        result = []
        for peer in node.host.peerstore.peers():
            if peer == node.peer_id:
                continue
            record = node.host.peerstore.get(peer)
            connected = bool(node.host.connections(peer))
            addrs = list(record.addrs) if record is not None else []
            addr = f"{addrs[0].decapsulate_p2p()}/p2p/{peer}" if addrs else f"/p2p/{peer}"
            protocols = sorted(record.protocols) if record is not None else []
            enr = known.get(peer)
            result.append(
                WakuPeer(
                    multiaddr=addr,
                    protocols=[ProtocolState(protocol=p, connected=connected) for p in protocols],
                    connected=connected,
                    enr=enr.to_text() if enr is not None else None,
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
                    node.add_enr(enr)
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
            try:
                await node.connect(target)
            except (P2PError, TimeoutError):
                raise ApiError(
                    400, f"Failed to connect to peer at index: {index} - {text}"
                ) from None
        return "OK"

    return router
