"""An in-memory network of gossipsub routers on a virtual clock, deterministic by seed."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pystatus.p2p.errors import RemoteProtocolError
from pystatus.p2p.gossipsub.events import Deliver, Graylisted, PeerKey, SendRpc
from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.router import GossipsubRouter, Validator

TOPIC = "/waku/2/rs/1/0"


@dataclass
class SimNode:
    key: PeerKey
    router: GossipsubRouter
    delivered: list[Deliver] = field(default_factory=list)
    graylisted: list[PeerKey] = field(default_factory=list)
    sent_rpcs: int = 0


class Network:
    def __init__(self, seed: int = 1, params: GossipsubParams | None = None) -> None:
        self.rng = random.Random(seed)
        self.params = params or GossipsubParams()
        self.now = 0.0
        self.nodes: dict[PeerKey, SimNode] = {}
        # A link filter may drop an RPC: (sender, receiver, data) -> deliver?
        self.link_filter: Callable[[PeerKey, PeerKey, bytes], bool] | None = None

    def add(self, name: str, validator: Validator | None = None) -> SimNode:
        key = name.encode()
        router = GossipsubRouter(
            self.params, validator=validator, rng=random.Random(self.rng.random())
        )
        node = SimNode(key, router)
        self.nodes[key] = node
        return node

    def connect(self, a: SimNode, b: SimNode) -> None:
        a.router.add_peer(b.key, self.now, outbound=True)
        b.router.add_peer(a.key, self.now, outbound=False)

    def disconnect(self, a: SimNode, b: SimNode) -> None:
        a.router.remove_peer(b.key, self.now)
        b.router.remove_peer(a.key, self.now)

    def settle(self, max_rounds: int = 1000) -> None:
        for _ in range(max_rounds):
            moved = False
            for node in list(self.nodes.values()):
                for event in node.router.events():
                    if isinstance(event, SendRpc):
                        moved = True
                        node.sent_rpcs += 1
                        target = self.nodes.get(event.peer)
                        if target is None or node.key not in target.router.peers:
                            continue
                        if self.link_filter and not self.link_filter(
                            node.key, event.peer, event.data
                        ):
                            continue
                        with contextlib.suppress(RemoteProtocolError):
                            target.router.receive_rpc(node.key, event.data, self.now)
                    elif isinstance(event, Deliver):
                        node.delivered.append(event)
                    elif isinstance(event, Graylisted):
                        node.graylisted.append(event.peer)
            if not moved:
                return
        raise AssertionError("network never settled")

    def tick(self, seconds: float = 1.0) -> None:
        self.now += seconds
        for node in self.nodes.values():
            node.router.heartbeat(self.now)
        self.settle()

    def run(self, seconds: int) -> None:
        for _ in range(seconds):
            self.tick()
