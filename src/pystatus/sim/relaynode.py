"""A simulated relay node: the real :class:`GossipsubRouter` with Waku relay's validation.

The router gets the parameters and the validation pipeline :class:`pystatus.waku.relay.WakuRelay`
gives it (11/WAKU2-RELAY, 64/WAKU2-NETWORK): the per-peer rate limit, the Waku message decoder
and the network's rules (size, empty payload or content topic, timestamp bounds), each failure
a REJECT the router scores against the sender; a topic this node does not relay is IGNOREd.
Only the asyncio plumbing (streams, writers) is left out: the simulator carries the RPC bytes.
"""

from __future__ import annotations

import collections
import dataclasses
import random

from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.router import GossipsubRouter, ValidationResult
from pystatus.waku.errors import InvalidMessage, RemoteWakuError
from pystatus.waku.message import WakuMessage, validate_message
from pystatus.waku.rate_limit import PeerRateLimiter
from pystatus.waku.relay import RelayConfig

CONTENT_TOPIC = "/sim/1/chat/proto"
"""The content topic of every simulated message (light clients subscribe to it)."""
EPOCH_NS = 1_800_000_000 * 10**9
"""The wall clock (Unix ns) at virtual time zero: message timestamps are ``EPOCH_NS + now``."""


def relay_params(relay: RelayConfig) -> GossipsubParams:
    """Gossipsub's parameters as WakuRelay sets them: its own size bound lets through what the
    relay's rules accept."""
    params = relay.gossipsub
    if params.max_message_size < relay.max_message_size:
        params = dataclasses.replace(params, max_message_size=relay.max_message_size)
    return params


class RelayNode:
    """One relay node. ``now`` is set by the simulator before each input (virtual seconds);
    the validator reads it because the router's validator callback takes no time."""

    __slots__ = ("_limiter", "_relay", "_topics", "index", "key", "now", "rejected", "router")

    def __init__(
        self,
        index: int,
        key: bytes,
        relay: RelayConfig,
        params: GossipsubParams,
        rng: random.Random,
        rejected: collections.Counter[str],
    ) -> None:
        self.index = index
        self.key = key
        self.now = 0.0
        self._relay = relay
        self._limiter = PeerRateLimiter(relay.peer_rate, relay.peer_burst)
        self._topics: set[str] = set()
        self.rejected = rejected
        """Shared across nodes: rejection reasons, as ``waku_relay_invalid`` counts them."""
        self.router = GossipsubRouter(params, validator=self._validate, rng=rng)

    def subscribe(self, topic: str, now: float) -> None:
        self._topics.add(topic)
        self.router.subscribe(topic, now)

    def _validate(self, topic: str, data: bytes, peer: bytes | None) -> ValidationResult:
        now = self.now
        if peer is not None and not self._limiter.allow(peer, now):
            self.rejected["rate_limited"] += 1
            return ValidationResult.REJECT
        if topic not in self._topics:
            return ValidationResult.IGNORE
        relay = self._relay
        try:
            message = WakuMessage.decode(data, max_size=relay.max_message_size)
            validate_message(
                message,
                now_ns=EPOCH_NS + int(now * 1e9),
                encoded_size=len(data),
                max_clock_drift_ns=relay.max_clock_drift_ns,
                max_age_ns=relay.max_message_age_ns,
                max_size=relay.max_message_size,
            )
        except InvalidMessage as exc:
            self.rejected[exc.reason] += 1
            return ValidationResult.REJECT
        except RemoteWakuError:
            self.rejected["malformed"] += 1
            return ValidationResult.REJECT
        return ValidationResult.ACCEPT
