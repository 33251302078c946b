"""A simulated Waku network on a virtual clock, joining :class:`~pystatus.chat.session.ChatSession`
devices for the reliability scenarios (issue 14), with no sockets, no asyncio and no real time.

Topology: every device has one link to a relay node (the Waku relay mesh, seen from the
devices), which is also the store node (nwaku's ``--relay --store``). A message a device
publishes crosses its link up to the relay, which archives it and forwards it down every other
device's link; each crossing may lose, duplicate or delay it by the link's
:class:`LinkFaults` (seeded random, so a run repeats), and random delays reorder. A device's
transport only delivers the content topics it listens to, as
``pystatus.chat.relay_transport`` does. The relay drops copies it already forwarded (gossipsub's
seen cache, keyed by the message's hash here).

Faults: a link goes down and up (:meth:`SimNetwork.link`, the device is offline); the relay
restarts (:meth:`SimNetwork.relay_restart`: every link and the store are out meanwhile, what
was in flight is lost, the archive is kept as nwaku's database keeps it); a device crashes
(:meth:`SimNetwork.crash`: everything its session had not committed is lost) and restarts
from its database (:meth:`SimNetwork.restart`).

Time: ``now`` is monotonic seconds of the virtual clock, and the wall clock is
``EPOCH_NS + now`` in ns. :meth:`SimNetwork.run_until` jumps the clock to whichever comes
first, the next network event or the earliest device's ``next_deadline()``, where it calls
``handle_timer(now, now_ns)``; the actions a session returns are carried out in order, as
``src/pystatus/chat/messenger.py`` carries them out: a :class:`Commit` written at once, a
:class:`Publish` handed to the network and its outcome told back, a :class:`Deliver` read by
the content handlers and acknowledged once its write committed ``write_delay`` later, store
questions answered ``store_rtt`` later.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import random
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.topics import status_pubsub_topic
from pystatus.errors import ChatError
from pystatus.testnet.simdevice import SimDevice, SimulationError, StoredText
from pystatus.waku.message import WakuMessage, message_hash

EPOCH_NS = 1_700_000_000 * 10**9
"""The wall clock at virtual time 0 (ns since the Unix epoch)."""
MAX_EVENTS = 1_000_000
"""Network events waiting at once (messages in flight, writes, store answers)."""
MAX_ARCHIVE = 1_000_000
"""Messages the store keeps."""
MAX_RELAY_SEEN = 100_000
"""Message hashes the relay remembers having forwarded (the oldest forgotten)."""
MAX_TIMERS_AT_ONCE = 1000
"""Timer calls of one device at one instant before the session counts as stuck."""
TIMER_NUDGE = 1e-6
"""How far the clock moves when a timer call found nothing due at its deadline."""


@dataclass(frozen=True, slots=True)
class LinkFaults:
    """What one device's relay link does to each message crossing it, either way."""

    loss: float = 0.0
    """Probability that a crossing is lost."""
    duplicate: float = 0.0
    """Probability that a crossing arrives twice (each copy delayed on its own)."""
    delay: float = 0.01
    """Seconds every crossing takes at least."""
    jitter: float = 0.04
    """Up to this many seconds more, uniformly at random (which reorders)."""
    reorder: float = 0.0
    """Probability that a crossing is held back a further ``reorder_delay`` at most."""
    reorder_delay: float = 2.0

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"LinkFaults.{name} is a probability, not {value}")
        if min(self.delay, self.jitter, self.reorder_delay) < 0:
            raise ValueError("LinkFaults delays are seconds, not negative")


PERFECT = LinkFaults()


@dataclass(slots=True)
class SimStats:
    """What the network did (the simulator's counters)."""

    published: int = 0
    refused: int = 0
    """Publishes while the device was offline (nothing took them)."""
    lost: int = 0
    duplicated: int = 0
    forwarded: int = 0
    dropped_offline: int = 0
    """Crossings that arrived at a link that had gone down, or a relay or device that had."""
    relay_duplicates: int = 0
    archived: int = 0
    store_queries: int = 0
    store_failures: int = 0
    history_fetched: int = 0
    """New messages the store's history answers brought."""
    timers: int = 0
    idle_timers: int = 0
    """Timer calls at a session's deadline that found nothing due (the clock is then nudged
    a microsecond on, as a real one would have moved)."""
    rejected: int = 0
    """Delivered messages the content handlers refused."""


class SimStore:
    """The store node's archive: message hash -> the message, in arrival order."""

    def __init__(self) -> None:
        self.archive: OrderedDict[bytes, WakuMessage] = OrderedDict()

    def keep(self, digest: bytes, message: WakuMessage) -> bool:
        if digest in self.archive:
            return False
        if len(self.archive) >= MAX_ARCHIVE:
            raise SimulationError(f"the simulated store holds {MAX_ARCHIVE} messages already")
        self.archive[digest] = message
        return True

    def holds(self, hashes: Iterable[bytes]) -> list[bytes]:
        return [h for h in hashes if h in self.archive]

    def history(
        self, content_topics: Iterable[str], start_ns: int, end_ns: int
    ) -> list[tuple[bytes, WakuMessage]]:
        """What reached ``content_topics`` with a timestamp in [start_ns, end_ns]."""
        wanted = set(content_topics)
        return [
            (digest, message)
            for digest, message in self.archive.items()
            if message.content_topic in wanted and start_ns <= (message.timestamp or 0) <= end_ns
        ]


@dataclass(order=True, slots=True)
class _Event:
    at: float
    seq: int
    run: Callable[[], None] = field(compare=False)


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
        self._events: list[_Event] = []
        self._seq = 0
        self._relay_seen: OrderedDict[bytes, None] = OrderedDict()
        self._relay_incarnation = 0
        self._seed = seed

    def wall_ns(self) -> int:
        """The wall clock now: ns since the Unix epoch."""
        return EPOCH_NS + round(self.now * 1e9)

    # -- building ---------------------------------------------------------------------------

    def add_device(
        self, name: str, identity: bytes | None = None, *, account: str | None = None
    ) -> SimDevice:
        """A device, started and online: of a new account (``identity``: its chat private
        key, else one derived from the seed and ``name``), or another installation of the
        account of device ``account`` (then :meth:`pair` them)."""
        if name in self.devices:
            raise SimulationError(f"a device named {name!r} exists already")
        if account is not None:
            identity = self.devices[account].identity
        key = identity or hashlib.sha256(f"{self._seed}/{name}".encode()).digest()
        device = SimDevice(
            name,
            key,
            config=self.config,
            has_store=self.has_store,
            wall_ns=self.wall_ns,
            seed=self.rng.getrandbits(64),
        )
        self.devices[name] = device
        self._boot(device)
        return device

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
        self.devices[name].link_up = up
        self._tell_connected(self.devices[name])

    def relay_restart(self, down_for: float) -> None:
        """The relay and store node stops now (in-flight messages are lost) and is back
        ``down_for`` seconds later with its archive (a restart while it is down starts the
        wait over)."""
        self.relay_up = False
        self.store_up = False
        self._relay_incarnation += 1
        self._relay_seen.clear()
        for device in self.devices.values():
            self._tell_connected(device)
        self.schedule(
            self.now + down_for, functools.partial(self._relay_back, self._relay_incarnation)
        )

    def _relay_back(self, incarnation: int) -> None:
        if incarnation != self._relay_incarnation:
            return  # restarted again meanwhile: that restart brings it back
        self.relay_up = True
        self.store_up = self.has_store
        for device in self.devices.values():
            self._tell_connected(device)

    def crash(self, name: str) -> None:
        """The device's process dies: what it had not committed is gone."""
        self.devices[name].crash()

    def restart(self, name: str) -> None:
        """The device starts again from its database."""
        device = self.devices[name]
        if device.running:
            raise SimulationError(f"{name} is running")
        self._boot(device)

    def _boot(self, device: SimDevice) -> None:
        actions = device.boot(self.now)
        # The Messenger's core asks its transport at once, before any timer.
        self._tell_connected(device)
        self._perform(device, actions)

    def connected(self, device: SimDevice) -> bool:
        return device.running and device.link_up and self.relay_up

    def _tell_connected(self, device: SimDevice) -> None:
        # The Messenger asks its transport before every timer call; a change is news at once.
        if device.session is not None:
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

    def schedule(self, at: float, run: Callable[[], None]) -> None:
        if len(self._events) >= MAX_EVENTS:
            raise SimulationError(f"{MAX_EVENTS} simulated events are waiting already")
        self._seq += 1
        heapq.heappush(self._events, _Event(max(at, self.now), self._seq, run))

    def next_time(self) -> float | None:
        """When something happens next: a network event or a device's deadline."""
        times = [d.session.next_deadline() for d in self.devices.values() if d.session]
        if self._events:
            times.append(self._events[0].at)
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
            if self._events and self._events[0].at <= self.now:
                heapq.heappop(self._events).run()
                continue
            for device in list(self.devices.values()):
                session = device.session
                deadline = session.next_deadline() if session is not None else None
                if session is None or deadline is None or deadline > self.now:
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
        for action in actions:
            session = device.session
            if session is None:
                return
            if isinstance(action, Commit):
                device.db.apply(action)
            elif isinstance(action, Publish):
                outcome = self._publish(device, action)
                self._perform(device, session.published(action, outcome, self.now))
            elif isinstance(action, Deliver):
                self._deliver(device, action)
            elif isinstance(action, Listen):
                device.topics.update(action.content_topics)
            elif isinstance(action, CheckStored):
                self._ask_store(device, functools.partial(self._stored, device, action))
            elif isinstance(action, SyncHistory):
                answer = functools.partial(self._history, device, action)
                self._ask_store(device, answer, history=True)
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
        relay = self._relay_incarnation
        sender = device.name
        self._cross(sender, lambda: self._at_relay(sender, relay, message, digest))
        return digest, 1

    def _cross(self, name: str, arrive: Callable[[], None]) -> None:
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

    def _at_relay(self, sender: str, relay: int, message: WakuMessage, digest: bytes) -> None:
        if relay != self._relay_incarnation or not self.relay_up:
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
        for device in self.devices.values():
            if device.name == sender or not device.link_up:
                continue
            self.stats.forwarded += 1
            incarnation = device.incarnation
            arrive = functools.partial(self._arrive, device, incarnation, relay, message, digest)
            self._cross(device.name, arrive)

    def _arrive(
        self, device: SimDevice, incarnation: int, relay: int, message: WakuMessage, digest: bytes
    ) -> None:
        if (
            device.incarnation != incarnation
            or relay != self._relay_incarnation
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
        self, device: SimDevice, answer: Callable[[], None], *, history: bool = False
    ) -> None:
        self.stats.store_queries += 1
        session = device.live()
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
            answer()

        self.schedule(self.now + self._store_rtt, reply)

    def _stored(self, device: SimDevice, action: CheckStored) -> None:
        live = device.live()
        self._perform(device, live.store_answer(self.store.holds(action.hashes), self.now))

    def _history(self, device: SimDevice, query: SyncHistory) -> None:
        live = device.live()
        for digest, message in self.store.history(
            query.content_topics, query.start_ns, query.end_ns
        ):
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
