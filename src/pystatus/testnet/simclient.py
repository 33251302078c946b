"""A light device's transport state in the simulated network (:mod:`pystatus.testnet.simlight`
performs it): :mod:`pystatus.chat.light_core`'s own sans-IO parts, as
:class:`pystatus.chat.light.LightTransport` builds them from its :class:`LightConfig`, and the
connections and requests under way that the asyncio adapter keeps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pystatus.chat.light import LightConfig
from pystatus.chat.light_core import (
    Failure,
    FilterPlan,
    PushLedger,
    RecentHashes,
    ServiceNodes,
)
from pystatus.testnet.simparts import Event


@dataclass(frozen=True, slots=True)
class LightSetup:
    """A light device's service nodes (names, in order of preference) and numbers."""

    filternodes: tuple[str, ...]
    pushnodes: tuple[str, ...]
    storenodes: tuple[str, ...] = ()
    config: LightConfig = field(default_factory=LightConfig)


@dataclass(slots=True)
class Pending:
    """A request under way: its node, and what to call (once) when it fails."""

    node: str
    failed: Callable[[Failure], None]
    timeout: Event | None = None
    """Cancelled once the request ends another way."""


class SimLightClient:
    """One run of a light device's transport (a crash loses it): the light_core state and
    the connections it believes open (node -> that node's incarnation when dialed)."""

    def __init__(self, setup: LightSetup) -> None:
        config = setup.config
        self.setup = setup
        self.plan = FilterPlan(
            list(setup.filternodes),
            peers_per_topic=config.filter_peers,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            request_timeout=config.request_timeout,
            retry_min=config.retry_min,
        )
        self.push_nodes = ServiceNodes(list(setup.pushnodes), retry_min=config.retry_min)
        self.store_nodes = ServiceNodes(list(setup.storenodes), retry_min=config.retry_min)
        self.recent = RecentHashes(config.recent_hashes)
        self.ledger = PushLedger()
        self.conns: dict[str, int] = {}
        self.dialing: dict[str, list[tuple[Callable[[], None], Callable[[], None]]]] = {}
        self.redialing: set[str] = set()
        self.pending: dict[int, Pending] = {}

    def connected(self) -> bool:
        """LightTransport.connected: a light-push node that answered, still connected."""
        return any(name in self.conns for name in self.push_nodes.answered())
