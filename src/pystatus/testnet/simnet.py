"""A simulated Waku network on a virtual clock, joining :class:`~pystatus.chat.session.ChatSession`
devices for the reliability scenarios (issue 14), with no sockets, no asyncio and no real time.

Topology: every device has one link to a relay node (the Waku relay mesh, seen from the
devices), which is also the store node (nwaku's ``--relay --store``). A message a device
publishes crosses its link up to the relay, which archives it and forwards it down every other
device's link; each crossing may lose, duplicate or delay it by the link's
:class:`LinkFaults` (seeded random, so a run repeats), and random delays reorder. A device's
transport only delivers the content topics it listens to, as
``pystatus.chat.relay_transport`` does. The relay drops copies it already forwarded (gossipsub's
seen cache, keyed by the message's hash here). Light devices (``add_device(light=...)``)
reach service nodes instead, relay peers of that node (:mod:`pystatus.testnet.simlight`).

Faults: a link goes down and up (:meth:`SimNetwork.link`, the device is offline); the relay
restarts (:meth:`SimNetwork.relay_restart`: every link and the store are out meanwhile, what
was in flight is lost, the archive is kept as nwaku's database keeps it); a device crashes
(:meth:`SimNetwork.crash`: everything its session had not committed is lost) and restarts
from its database (:meth:`SimNetwork.restart`); a service node stops or misbehaves
(:attr:`SimNetwork.light`).

Time: ``now`` is monotonic seconds of the virtual clock, and the wall clock is
``EPOCH_NS + now`` in ns. :meth:`SimNetwork.run_until` jumps the clock to whichever comes
first, the next network event or the earliest device's ``next_deadline()``, where it calls
``handle_timer(now, now_ns)``; the actions a session returns are carried out in order, as
``src/pystatus/chat/messenger.py`` carries them out: a :class:`Commit` written at once, a
:class:`Publish` handed to the network and its outcome told back (a light device's core
waits for it, its timers and arrivals held back, as the Messenger awaits a light push), a
:class:`Deliver` read by the content handlers and acknowledged once its write committed
``write_delay`` later, store questions answered ``store_rtt`` later.
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from pystatus.chat.actions import (
    Action,
    AdvertiseContactCode,
    AnnounceDevice,
    CheckStored,
    Commit,
    Deliver,
    Listen,
    Publish,
    SyncHistory,
)
from pystatus.chat.messenger import MAX_INBOX as MESSENGER_INBOX
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.topics import status_pubsub_topic
from pystatus.errors import ChatError
from pystatus.testnet.simclient import LightSetup
from pystatus.testnet.simdevice import SimDevice, SimulationError, StoredText
from pystatus.testnet.simlight import RELAY, LightNet
from pystatus.testnet.simparts import (
    PERFECT,
    Event,
    EventQueue,
    LinkFaults,
    SimStats,
    SimStore,
    history_of,
    holds_of,
)
from pystatus.testnet.simservice import ServiceFaults, SimServiceNode
from pystatus.waku.message import WakuMessage, message_hash

__all__ = [
    "PERFECT",
    "RELAY",
    "LightSetup",
    "LinkFaults",
    "ServiceFaults",
    "SimNetwork",
]

T = TypeVar("T")

EPOCH_NS = 1_700_000_000 * 10**9
"""The wall clock at virtual time 0 (ns since the Unix epoch)."""
MAX_EVENTS = 1_000_000
"""Network events waiting at once (messages in flight, writes, store answers)."""
MAX_RELAY_SEEN = 100_000
"""Message hashes the relay remembers having forwarded (the oldest forgotten)."""
MAX_TIMERS_AT_ONCE = 1000
"""Timer calls of one device at one instant before the session counts as stuck."""
MAX_INBOX = MESSENGER_INBOX
"""Messages a device's core keeps while it waits for a light push (the Messenger's)."""
TIMER_NUDGE = 1e-6
"""How far the clock moves when a timer call found nothing due at its deadline."""


class SimNetwork:
    """Devices, one relay and store node, and the virtual clock that drives them.

    ``seed`` fixes every random choice (faults, MVDS jitter, identities); ``faults`` is every
    link's to begin with; ``config`` every session's (status-go's defaults otherwise);
    ``write_delay`` how long the chat database takes to commit a received message (seconds);
    ``store_rtt`` how long a store query takes."""

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: LinkFaults = PERFECT,
        config: ReliabilityConfig | None = None,
        store: bool = True,
        write_delay: float = 0.005,
        store_rtt: float = 0.05,
    ) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self.config = config or ReliabilityConfig()
        self.has_store = store
        self.store = SimStore()
        self.store_up = store
        self.relay_up = True
        self.stats = SimStats()
        self.devices: dict[str, SimDevice] = {}
        self.pubsub_topic = status_pubsub_topic("")  # one shard carries every chat topic
        self._faults: dict[str, LinkFaults] = {}
        self._default_faults = faults
        self._write_delay = write_delay
        self._store_rtt = store_rtt
        self._events = EventQueue(MAX_EVENTS)
        self._relay_seen: OrderedDict[bytes, None] = OrderedDict()
        self.relay_incarnation = 0
        """Bumped by each relay restart: what was in flight through it is lost."""
        self._seed = seed
        self.light = LightNet(self)
        """Service nodes and light devices' transports (:mod:`pystatus.testnet.simlight`)."""

    def wall_ns(self) -> int:
        """The wall clock now: ns since the Unix epoch."""
        return EPOCH_NS + round(self.now * 1e9)

    # -- building ---------------------------------------------------------------------------

    def add_device(
        self,
        name: str,
        identity: bytes | None = None,
        *,
        account: str | None = None,
        light: bool | LightSetup = False,
    ) -> SimDevice:
        """A device, started and online: of a new account (``identity``: its chat private
        key, else one derived from the seed and ``name``), or another installation of the
        account of device ``account`` (then :meth:`pair` them). ``light``: a light client
        (filter, light push, store) of the given service nodes, or of every service node and
        the hub's store when True; else a relay device."""
        if name in self.devices or name in self.light.nodes:
            raise SimulationError(f"a device or node named {name!r} exists already")
        if account is not None:
            identity = self.devices[account].identity
        key = identity or hashlib.sha256(f"{self._seed}/{name}".encode()).digest()
        setup = light if isinstance(light, LightSetup) else None
        if light is True:
            setup = self.light.default_setup()
        if setup is not None and not (setup.filternodes and setup.pushnodes):
            raise SimulationError("a light device needs filter and light-push nodes")
        device = SimDevice(
            name,
            key,
            config=self.config,
            has_store=self.has_store if setup is None else bool(setup.storenodes),
            wall_ns=self.wall_ns,
            seed=self.rng.getrandbits(64),
        )
        self.devices[name] = device
        if setup is not None:
            self.light.setups[name] = setup
            device.on_listen = functools.partial(self.light.listen, device)
        self._boot(device)
        return device

    def add_service_node(
        self, name: str, *, serves_filter: bool = True, lightpush: bool = True, store: bool = False
    ) -> SimServiceNode:
        """A service node for light devices (add them before the devices that use them)."""
        return self.light.add_node(
            name, serves_filter=serves_filter, lightpush=lightpush, store=store
        )

    def pair(self, a: str, b: str) -> None:
        """Two installations of one account learn each other's bundles (``Messenger.pair``),
        committed at once."""
        first, second = self.devices[a], self.devices[b]
        if first.public_key != second.public_key:
            raise SimulationError(f"{a} and {b} are not devices of one account")
        one, two = first.live(), second.live()
        one.encryption.add_bundle(two.encryption.own_bundle())
        two.encryption.add_bundle(one.encryption.own_bundle())
        for device in (first, second):
            self._perform(device, [Commit(device_state=device.live().device_state())])

    def befriend(self, a: str, b: str) -> None:
        """Two accounts that know each other: each listens to the other's contact code."""
        self.devices[a].add_contact(self.devices[b].public_key)
        self.devices[b].add_contact(self.devices[a].public_key)

    # -- faults -----------------------------------------------------------------------------

    def faults(self, name: str) -> LinkFaults:
        return self._faults.get(name, self._default_faults)

    def set_faults(self, faults: LinkFaults, name: str | None = None) -> None:
        """``faults`` on ``name``'s link, or on every link (and future ones) when None."""
        if name is None:
            self._default_faults = faults
            self._faults.clear()
        else:
            self._faults[name] = faults

    def link(self, name: str, up: bool) -> None:
        """Take a device's link down (offline) or up again."""
        device = self.devices[name]
        device.link_up = up
        if not up and self.light.is_light(name):
            self.light.link_down(device)  # its connections break
        self.tell_connected(device)

    def relay_restart(self, down_for: float) -> None:
        """The relay and store node stops now (in-flight messages are lost) and is back
        ``down_for`` seconds later with its archive (a restart while it is down starts the
        wait over)."""
        self.relay_up = False
        self.store_up = False
        self.relay_incarnation += 1
        self._relay_seen.clear()
        self.light.down(RELAY)
        for device in self.devices.values():
            self.tell_connected(device)
        self.schedule(
            self.now + down_for, functools.partial(self._relay_back, self.relay_incarnation)
        )

    def _relay_back(self, incarnation: int) -> None:
        if incarnation != self.relay_incarnation:
            return  # restarted again meanwhile: that restart brings it back
        self.relay_up = True
        self.store_up = self.has_store
        self.light.up(RELAY)
        for device in self.devices.values():
            self.tell_connected(device)

    def crash(self, name: str) -> None:
        """The device's process dies: what it had not committed is gone."""
        self.devices[name].crash()
        self.light.crash(self.devices[name])

    def restart(self, name: str) -> None:
        """The device starts again from its database."""
        device = self.devices[name]
        if device.running:
            raise SimulationError(f"{name} is running")
        self._boot(device)

    def _boot(self, device: SimDevice) -> None:
        actions = device.boot(self.now)
        if self.light.is_light(device.name):
            self.light.start(device)
        # The Messenger's core asks its transport at once, before any timer.
        self.tell_connected(device)
        self._perform(device, actions)

    def connected(self, device: SimDevice) -> bool:
        """What the device's transport answers: a relay peer, or a light-push node that
        answered and is connected."""
        if self.light.is_light(device.name):
            return device.running and self.light.connected(device)
        return device.running and device.link_up and self.relay_up

    def tell_connected(self, device: SimDevice) -> None:
        """The Messenger asks its transport before every timer call; a change is news at
        once (but not to a core that waits for a light push)."""
        if device.session is not None and device.held is None:
            device.session.set_connected(self.connected(device), self.now)

    # -- sending, as the API does -----------------------------------------------------------

    def send(self, sender: str, recipient: str, text: str) -> str:
        """A 1:1 text from ``sender`` to ``recipient``'s account; its id once committed."""
        device = self.devices[sender]
        return device.send_text(self.devices[recipient].public_key, text, self.now)

    def send_public(self, sender: str, name: str, text: str) -> str:
        device = self.devices[sender]
        message_id, actions = device.send_public(name, text)
        self._perform(device, actions)
        return message_id

    # -- the clock --------------------------------------------------------------------------

    def schedule(self, at: float, run: Callable[[], None]) -> Event:
        """``run`` at virtual time ``at`` (or now, if that passed); the event, to cancel."""
        return self._events.schedule(max(at, self.now), run)

    def next_time(self) -> float | None:
        """When something happens next: a network event, a device's deadline (unless its
        core waits for a light push) or a light transport's."""
        times = [
            d.session.next_deadline()
            for d in self.devices.values()
            if d.session is not None and d.held is None
        ]
        times += [self.light.next_deadline(), self._events.next_at()]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    def run_until(self, until: float) -> None:
        """Run every event and timer due up to ``until``; the clock ends there."""
        stuck: dict[str, int] = {}
        while True:
            upcoming = self.next_time()
            if upcoming is None or upcoming > until:
                self.now = max(self.now, until)
                return
            if upcoming > self.now:
                self.now = upcoming
                stuck.clear()
            if self._events.run_due(self.now):
                continue
            for name in self.light.due(self.now):
                stuck[f"light {name}"] = stuck.get(f"light {name}", 0) + 1
                if stuck[f"light {name}"] > MAX_TIMERS_AT_ONCE:
                    raise SimulationError(f"{name}'s filter plan keeps a deadline at {self.now}")
                self.light.pump(self.devices[name])
            for device in list(self.devices.values()):
                session = device.session
                deadline = session.next_deadline() if session is not None else None
                if session is None or deadline is None or deadline > self.now or device.held:
                    continue
                stuck[device.name] = stuck.get(device.name, 0) + 1
                if stuck[device.name] > MAX_TIMERS_AT_ONCE:
                    raise SimulationError(
                        f"{device.name}'s session keeps a deadline of {deadline} at {self.now}"
                    )
                self.stats.timers += 1
                session.set_connected(self.connected(device), self.now)
                actions = session.handle_timer(self.now, self.wall_ns())
                self._perform(device, actions)
                later = session.next_deadline()
                if not actions and later is not None and later <= self.now:
                    # Nothing was due after all (the session compared in another float
                    # expression than its deadline's); a real clock would have moved on.
                    self.stats.idle_timers += 1
                    self.now += TIMER_NUDGE
                break

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until_true(self, done: Callable[[], bool], *, limit: float, step: float = 1.0) -> bool:
        """Run ``step`` seconds at a time until ``done()`` or ``limit`` seconds passed;
        whether ``done()`` came true."""
        end = self.now + limit
        while not done():
            if self.now >= end:
                return False
            self.run_until(min(end, self.now + step))
        return True

    # -- carrying out a session's actions ---------------------------------------------------

    def _perform(self, device: SimDevice, actions: list[Action]) -> None:
        for index, action in enumerate(actions):
            session = device.session
            if session is None:
                return
            if device.held is not None:
                # The core waits for a light push (started here or by a nested call):
                # the rest waits behind it, in order.
                device.held += actions[index:]
                return
            if isinstance(action, Commit):
                device.db.apply(action)
            elif isinstance(action, Publish) and self.light.is_light(device.name):
                device.held = []
                incarnation = device.incarnation
                done = functools.partial(self._light_published, device, incarnation, action)
                self.light.publish(device, action, done)
            elif isinstance(action, Publish):
                outcome = self._publish(device, action)
                self._perform(device, session.published(action, outcome, self.now))
            elif isinstance(action, Deliver):
                self._deliver(device, action)
            elif isinstance(action, Listen):
                device.listen(action.content_topics)
            elif isinstance(action, CheckStored):
                ask = functools.partial(holds_of, action.hashes)
                stored = functools.partial(self._stored, device, action.hashes)
                self._ask_store(device, ask, stored)
            elif isinstance(action, SyncHistory):
                answer = functools.partial(self._history, device, action)
                self._ask_store(device, functools.partial(history_of, action), answer, history=True)
            elif isinstance(action, AdvertiseContactCode):
                self._perform(device, device.advertise_contact_code(self.now))
            elif isinstance(action, AnnounceDevice):
                self._perform(device, device.announce_device())

    def _deliver(self, device: SimDevice, action: Deliver) -> None:
        session = device.live()
        try:
            text = device.read(action)
        except (ChatError, ValueError) as exc:
            self.stats.rejected += 1
            self._perform(device, session.rejected(action, exc, self.now))
            return
        incarnation = device.incarnation

        def commit() -> None:
            if device.incarnation == incarnation:  # else the crash took the write with it
                device.committed(action, text, self.now)

        self.schedule(self.now + self._write_delay, commit)

    def _light_published(
        self,
        device: SimDevice,
        incarnation: int,
        action: Publish,
        outcome: tuple[bytes, int] | None,
    ) -> None:
        """A light push was answered: the core goes on with what waited, then its inbox."""
        if device.incarnation != incarnation or device.session is None:
            return  # it crashed while it waited
        held, device.held = device.held or [], None
        self.stats.light_publish_failures += outcome is None
        self._perform(device, device.session.published(action, outcome, self.now) + held)
        while device.held is None and device.inbox and device.session is not None:
            message, digest = device.inbox.popleft()
            self._perform(device, device.session.receive(message, digest, self.now))

    def received(self, device: SimDevice, message: WakuMessage, digest: bytes) -> None:
        """A light device's transport hands over a message (queued while its core waits
        for a light push, as the Messenger's inbox, bounded)."""
        session = device.session
        if session is None:
            return
        if device.held is None:
            self._perform(device, session.receive(message, digest, self.now))
        elif len(device.inbox) < MAX_INBOX:
            device.inbox.append((message, digest))
        else:
            self.stats.inbox_dropped += 1

    # -- the network ------------------------------------------------------------------------

    def _publish(self, device: SimDevice, action: Publish) -> tuple[bytes, int] | None:
        if not self.connected(device):
            self.stats.refused += 1
            return None
        message = WakuMessage(
            action.payload, action.content_topic, version=1, timestamp=action.timestamp_ns
        )
        digest = message_hash(self.pubsub_topic, message)
        self.stats.published += 1
        relay = self.relay_incarnation
        sender = device.name
        self.cross(sender, lambda: self.at_relay(sender, relay, message, digest))
        return digest, 1

    def cross(self, name: str, arrive: Callable[[], None]) -> None:
        """One message over ``name``'s link, as its faults have it."""
        faults = self.faults(name)
        if self.rng.random() < faults.loss:
            self.stats.lost += 1
            return
        copies = 1
        if self.rng.random() < faults.duplicate:
            copies = 2
            self.stats.duplicated += 1
        for _ in range(copies):
            delay = faults.delay + self.rng.uniform(0.0, faults.jitter)
            if self.rng.random() < faults.reorder:
                delay += self.rng.uniform(0.0, faults.reorder_delay)
            self.schedule(self.now + delay, arrive)

    def at_relay(self, sender: str, relay: int, message: WakuMessage, digest: bytes) -> None:
        if relay != self.relay_incarnation or not self.relay_up:
            self.stats.dropped_offline += 1  # the relay restarted under it
            return
        if digest in self._relay_seen:
            self.stats.relay_duplicates += 1
            return
        self._relay_seen[digest] = None
        if len(self._relay_seen) > MAX_RELAY_SEEN:
            self._relay_seen.popitem(last=False)
        if self.store_up and self.store.keep(digest, message):
            self.stats.archived += 1
        self.light.relayed(sender, message, digest)
        for device in self.devices.values():
            if device.name == sender or not device.link_up or self.light.is_light(device.name):
                continue
            self.stats.forwarded += 1
            incarnation = device.incarnation
            arrive = functools.partial(self._arrive, device, incarnation, relay, message, digest)
            self.cross(device.name, arrive)

    def _arrive(
        self, device: SimDevice, incarnation: int, relay: int, message: WakuMessage, digest: bytes
    ) -> None:
        if (
            device.incarnation != incarnation
            or relay != self.relay_incarnation
            or not self.connected(device)
        ):
            self.stats.dropped_offline += 1
            return
        if message.content_topic not in device.topics:
            return  # the transport does not deliver topics nobody listens to
        self._perform(device, device.live().receive(message, digest, self.now))

    # -- the store --------------------------------------------------------------------------

    def _store_reachable(self, device: SimDevice) -> bool:
        return self.connected(device) and self.store_up

    def _ask_store(
        self,
        device: SimDevice,
        ask: Callable[[SimStore], T],
        answer: Callable[[T], None],
        *,
        history: bool = False,
    ) -> None:
        """``ask`` a store node, then ``answer`` with what it said (``store_failed`` when
        none answered): the hub's store for a relay device, its store nodes in failover
        order for a light one."""
        self.stats.store_queries += 1
        session = device.live()
        if self.light.is_light(device.name):
            incarnation = device.incarnation

            def failed() -> None:
                if device.incarnation == incarnation:
                    self.stats.store_failures += 1
                    device.live().store_failed(self.now, history=history)

            self.light.store_query(device, ask, answer, failed)
            return
        if not self._store_reachable(device):
            self.stats.store_failures += 1
            session.store_failed(self.now, history=history)
            return
        incarnation = device.incarnation

        def reply() -> None:
            if device.incarnation != incarnation:
                return  # the device crashed while it waited
            if not self._store_reachable(device):
                self.stats.store_failures += 1
                device.live().store_failed(self.now, history=history)
                return
            answer(ask(self.store))

        self.schedule(self.now + self._store_rtt, reply)

    def _stored(self, device: SimDevice, asked: tuple[bytes, ...], found: list[bytes]) -> None:
        if self.light.is_light(device.name):
            self.light.store_verdict(device, asked, found)
        self._perform(device, device.live().store_answer(found, self.now))

    def _history(
        self, device: SimDevice, query: SyncHistory, found: list[tuple[bytes, WakuMessage]]
    ) -> None:
        live = device.live()
        for digest, message in found:
            if device.session is not live:
                return
            if live.seen(digest):
                continue
            self.stats.history_fetched += 1
            self._perform(device, live.receive(message, digest, self.now))
        if device.session is live:
            self._perform(device, live.history_synced(query, self.now))

    # -- what the tests read ----------------------------------------------------------------

    def chat(self, viewer: str, other: str) -> list[StoredText]:
        """``viewer``'s 1:1 chat with ``other``, in the order the app shows it."""
        return self.devices[viewer].db.chat(self.devices[other].chat_id)

    def public_chat(self, viewer: str, name: str) -> list[StoredText]:
        return self.devices[viewer].db.chat(name)
