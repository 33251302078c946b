"""Chat on the simulated network: pairs of accounts whose :class:`ChatSession` s (issue 9) run
on relay nodes and exchange 1:1 texts end to end through the real routers.

Each account is a :class:`~pystatus.testnet.simdevice.SimDevice` (the session, its database and
the Messenger's content handling, from the small chat simulator) hosted by one relay node: its
``Publish`` actions are relayed from that node as RFC 26 version 1 Waku messages on shard 0,
and the messages the node's relay hands its application are given to the session when their
content topic is one it listens to (``pystatus.chat.relay_transport``). Timers are the
session's own (``next_deadline`` / ``handle_timer``, MVDS's 300 ms batches and resends), writes
commit at once, and there is no store (``has_store`` off). Measured: send to arrival at the
other account, and send to the sender seeing ``delivered`` (the MVDS ack back).
"""

from __future__ import annotations

import collections
import math
import random
from typing import TYPE_CHECKING

import coincurve

from pystatus.chat.actions import (
    Action,
    AdvertiseContactCode,
    AnnounceDevice,
    Commit,
    Deliver,
    Listen,
    Publish,
)
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.errors import ChatError
from pystatus.p2p.gossipsub.events import Deliver as RelayDeliver
from pystatus.sim.relaynode import EPOCH_NS
from pystatus.testnet.simdevice import SimDevice
from pystatus.waku.errors import RemoteWakuError
from pystatus.waku.message import WakuMessage, message_hash

if TYPE_CHECKING:
    from pystatus.sim.runner import Simulation

_CHAT = 6
"""The simulation's event kind for a chat device (``pystatus.sim.runner.CHAT``)."""
SEND_INTERVAL = 0.5
"""Seconds between the texts of one pair (the two accounts take turns)."""


class ChatLayer:
    """``pairs`` pairs of accounts, each sending ``messages`` texts in turn."""

    def __init__(self, sim: Simulation, pairs: int, messages: int, rng: random.Random) -> None:
        self._sim = sim
        self.devices: list[SimDevice] = []
        self.host: list[int] = []
        self._hosted: dict[int, list[int]] = collections.defaultdict(list)
        self._deadline: list[float | None] = []
        self.sent: dict[str, tuple[int, float]] = {}
        """message id -> (sending device, when sent)"""
        self.received: dict[str, float] = {}
        self.acked: dict[str, float] = {}
        self.counters: collections.Counter[str] = collections.Counter()
        self._messages = messages
        relays = [i for i in range(sim.relay_count) if i != sim.spammer]
        for pair in range(pairs):
            for node in rng.sample(relays, 2):
                index = len(self.devices)
                identity = _identity(rng)
                device = SimDevice(
                    f"account-{index}",
                    identity,
                    config=ReliabilityConfig(),
                    has_store=False,
                    wall_ns=self._wall_ns,
                    seed=rng.getrandbits(64),
                )
                self.devices.append(device)
                self.host.append(node)
                self._hosted[node].append(index)
                self._deadline.append(None)
            del pair

    def _wall_ns(self) -> int:
        return EPOCH_NS + int(self._sim.now * 1e9)

    # -- set-up -------------------------------------------------------------------------------

    def start(self, at: float) -> None:
        """Boot every session and befriend each pair, then schedule the texts."""
        for index, device in enumerate(self.devices):
            self._perform(index, device.boot(at), at)
        for first in range(0, len(self.devices), 2):
            one, two = self.devices[first], self.devices[first + 1]
            one.add_contact(two.public_key)
            two.add_contact(one.public_key)
        begin = self._sim.first_message_at
        for first in range(0, len(self.devices), 2):
            for turn in range(self._messages):
                sender = first + turn % 2
                self._sim.push(begin + turn * SEND_INTERVAL, _CHAT, -1, sender, turn)
        for index in range(len(self.devices)):
            self._schedule(index)

    # -- events -------------------------------------------------------------------------------

    def handle(self, index: int, turn: object, at: float) -> None:
        device = self.devices[index]
        session = device.session
        if session is None:
            return
        if turn is not None:
            peer = self.devices[index ^ 1]
            message_id = device.send_text(peer.public_key, f"text {turn}", at)
            self.sent[message_id] = (index, at)
        else:
            self._deadline[index] = None
            deadline = session.next_deadline()
            if deadline is not None and deadline <= at:
                self._perform(index, session.handle_timer(at, self._wall_ns()), at)
        self._check_acks(index, at)
        self._schedule(index)

    def _schedule(self, index: int) -> None:
        session = self.devices[index].session
        if session is None:
            return
        deadline = session.next_deadline()
        if deadline is None:
            return
        deadline = max(deadline, self._sim.now)
        current = self._deadline[index]
        if current is None or deadline < current:
            self._deadline[index] = deadline
            self._sim.push(deadline, _CHAT, -1, index, None)

    def relayed(self, node: int, event: RelayDeliver, at: float) -> None:
        """A message the relay of ``node`` handed its application."""
        hosted = self._hosted.get(node)
        if not hosted:
            return
        try:
            message = WakuMessage.decode(event.data)
        except RemoteWakuError:
            return
        for index in hosted:
            device = self.devices[index]
            if device.session is None or message.content_topic not in device.topics:
                continue
            digest = message_hash(event.topic, message)
            self._perform(index, device.session.receive(message, digest, at), at)
            self._check_acks(index, at)
            self._schedule(index)

    def _perform(self, index: int, actions: list[Action], at: float) -> None:
        device = self.devices[index]
        session = device.session
        if session is None:
            return
        for action in actions:
            if isinstance(action, Commit):
                device.db.apply(action)
            elif isinstance(action, Publish):
                sim = self._sim
                message = WakuMessage(
                    action.payload,
                    action.content_topic,
                    version=1,
                    timestamp=action.timestamp_ns,
                )
                topic = sim.topics[0]
                peers = sim.relay_publish(self.host[index], topic, message.encode(), at)
                self.counters[f"published_{action.kind}"] += 1
                outcome = (message_hash(topic, message), peers) if peers else None
                self._perform(index, session.published(action, outcome, at), at)
            elif isinstance(action, Deliver):
                self._deliver(index, action, at)
            elif isinstance(action, Listen):
                device.listen(action.content_topics)
            elif isinstance(action, AdvertiseContactCode):
                self._perform(index, device.advertise_contact_code(at), at)
            elif isinstance(action, AnnounceDevice):
                self._perform(index, device.announce_device(), at)
            else:
                self.counters[f"unhandled_{type(action).__name__}"] += 1

    def _deliver(self, index: int, action: Deliver, at: float) -> None:
        device = self.devices[index]
        try:
            text = device.read(action)
        except (ChatError, ValueError):
            self.counters["rejected"] += 1
            return
        device.committed(action, text, at)
        if text is not None and not text.outgoing and text.message_id in self.sent:
            self.received.setdefault(text.message_id, at)

    def _check_acks(self, index: int, at: float) -> None:
        device = self.devices[index]
        for message_id, (sender, _) in self.sent.items():
            if (
                sender == index
                and message_id not in self.acked
                and device.status(message_id) == "delivered"
            ):
                self.acked[message_id] = at

    # -- the report ---------------------------------------------------------------------------

    def report(self) -> dict[str, object]:
        arrival = sorted(
            self.received[m] - t for m, (_, t) in self.sent.items() if m in self.received
        )
        acked = sorted(self.acked[m] - t for m, (_, t) in self.sent.items() if m in self.acked)

        def ms(values: list[float], fraction: float) -> float | None:
            if not values:
                return None
            return round(
                values[min(len(values) - 1, math.ceil(fraction * len(values)) - 1)] * 1000, 3
            )

        return {
            "accounts": len(self.devices),
            "sent": len(self.sent),
            "received": len(self.received),
            "delivered_status": len(self.acked),
            "arrival_ms": {
                "p50": ms(arrival, 0.5),
                "p95": ms(arrival, 0.95),
                "max": ms(arrival, 1.0),
            },
            "delivered_status_ms": {
                "p50": ms(acked, 0.5),
                "p95": ms(acked, 0.95),
                "max": ms(acked, 1.0),
            },
            "counters": dict(sorted(self.counters.items())),
        }


def _identity(rng: random.Random) -> bytes:
    """A secp256k1 private key from ``rng`` (redrawn in the rare case it is out of range)."""
    while True:
        secret = rng.randbytes(32)
        try:
            coincurve.PrivateKey(secret)
        except ValueError:
            continue
        return secret
