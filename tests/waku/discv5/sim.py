"""A virtual-clock network of discv5 cores: datagrams delivered in order, timers run on time."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.core import Discv5Core
from pystatus.waku.discv5.events import Event, NodeFound, SendDatagram
from pystatus.waku.discv5.filter import EnrFilter
from pystatus.waku.enr import Capabilities, Enr

Endpoint = tuple[str, int]


class SimNet:
    def __init__(self, seed: int = 1) -> None:
        self.now = 0.0
        self.random = random.Random(seed)
        self.cores: dict[Endpoint, Discv5Core] = {}
        self.found: dict[Endpoint, list[Enr]] = {}
        self.events: dict[Endpoint, list[Event]] = {}
        self.queue: deque[tuple[Endpoint, SendDatagram]] = deque()
        self.sent: list[tuple[Endpoint, SendDatagram]] = []
        self.drop: Callable[[Endpoint, SendDatagram], bool] = lambda src, d: False

    def rng(self, size: int) -> bytes:
        return self.random.randbytes(size)

    def add(
        self,
        port: int,
        *,
        config: Discv5Config | None = None,
        enr_filter: EnrFilter | None = None,
        cluster: int = 1,
        shards: list[int] | None = None,
        seq: int = 1,
    ) -> Discv5Core:
        key = Secp256k1PrivateKey.from_bytes(self.rng(32))
        record = Enr.build(
            key,
            seq=seq,
            ip="127.0.0.1",
            udp=port,
            capabilities=Capabilities.RELAY,
            cluster_id=cluster,
            shards=shards if shards is not None else [0],
        )
        core = Discv5Core(
            key, record, now=self.now, config=config, enr_filter=enr_filter, rng=self.rng
        )
        endpoint = ("127.0.0.1", port)
        self.cores[endpoint] = core
        self.found[endpoint] = []
        self.events[endpoint] = []
        return core

    def endpoint_of(self, core: Discv5Core) -> Endpoint:
        for endpoint, candidate in self.cores.items():
            if candidate is core:
                return endpoint
        raise KeyError("core not in this network")

    def feed(self, source: Endpoint, events: list[Event]) -> None:
        for event in events:
            self.events[source].append(event)
            if isinstance(event, SendDatagram):
                self.sent.append((source, event))
                if not self.drop(source, event):
                    self.queue.append((source, event))
            elif isinstance(event, NodeFound):
                self.found[source].append(event.record)

    def step(self) -> bool:
        """Deliver one datagram, else run the earliest timer; False when nothing is left."""
        if self.queue:
            source, datagram = self.queue.popleft()
            target = self.cores.get(datagram.endpoint)
            if target is not None:
                self.feed(datagram.endpoint, target.receive(datagram.data, source, self.now))
            return True
        deadlines = [
            (deadline, endpoint)
            for endpoint, core in self.cores.items()
            if (deadline := core.next_deadline()) is not None
        ]
        if not deadlines:
            return False
        deadline, endpoint = min(deadlines)
        self.now = max(self.now, deadline)
        self.feed(endpoint, self.cores[endpoint].handle_timer(self.now))
        return True

    def run_until(self, condition: Callable[[], bool], limit: float) -> bool:
        """Step until ``condition`` holds or the virtual clock passes ``limit`` seconds."""
        while not condition():
            if self.now > limit or not self.step():
                return condition()
        return True

    def run_for(self, seconds: float) -> None:
        end = self.now + seconds
        self.run_until(lambda: False, end)
