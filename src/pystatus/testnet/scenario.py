"""A testnet on 127.0.0.1: two chatting accounts on their own node processes joined by a line
of relay nodes (the first also a store node), with faults injected on every relay link and
nodes killed and restarted on a schedule. A scenario sends messages both ways and reports
what arrived, how often, in what order, how late, and how many bytes it took.

Topology: alice - relay-1 (store) - ... - relay-k - bob; both accounts ask relay-1's store.
With ``light=True`` both accounts are Waku light clients (``node --chat --relay=false``, as
the Status mobile app): relay-1 also serves filter and light push, and both use it for
everything (filter subscriptions, light push, store).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pystatus.chat.account import Account
from pystatus.chat.keys import public_key_from_chat_key_text
from pystatus.chat.keystore import ScryptParams
from pystatus.p2p.faults import FaultPlan
from pystatus.testnet.process import NodeProcess, NodeProcessError, NodeSpec, free_port

PASSWORD = "testnet password"
CLUSTER = 16
SHARD = 32  # status-go's default shard: where every chat topic travels
SETTLE_TIMEOUT = 300.0
SCRAPE_INTERVAL = 2.0
STATUS_READS = 8
"""Status reads in flight at once per report."""


@dataclass(frozen=True, slots=True)
class Outage:
    node: str
    """``alice``, ``bob`` or ``relay-N``."""
    at_fraction: float
    """When, as the fraction of messages sent."""
    seconds: float


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    faults: FaultPlan | None = None
    outages: tuple[Outage, ...] = ()


SCENARIOS = {
    "lossy": Scenario(
        "lossy",
        "20% of messages lost at random on every relay link, both ways",
        faults=FaultPlan(loss=0.2),
    ),
    "recipient-offline": Scenario(
        "recipient-offline",
        "bob's node is killed (SIGKILL) and comes back 60 s later",
        outages=(Outage("bob", 0.3, 60.0),),
    ),
    "relay-restart": Scenario(
        "relay-restart",
        "the relay (and store) node between them is killed (SIGKILL) and restarted",
        outages=(Outage("relay-1", 0.4, 10.0),),
    ),
    "sender-crash": Scenario(
        "sender-crash",
        "alice's node is killed (SIGKILL) mid-conversation and restarted 5 s later",
        outages=(Outage("alice", 0.5, 5.0),),
    ),
}


@dataclass(slots=True)
class Sent:
    sender: str
    index: int
    id: str
    sent_at: float


@dataclass(slots=True)
class Report:
    scenario: str
    messages: int
    sent: int = 0
    delivered: int = 0
    duplicates: int = 0
    order_violations: int = 0
    acknowledged: int = 0
    """Messages the sender's view shows delivered."""
    statuses: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    latency_samples: int = 0
    wire_bytes: float = 0.0
    bytes_per_delivered: float = 0.0
    protocol_bytes: dict[str, float] = field(default_factory=dict)
    node_bytes: dict[str, dict[str, float]] = field(default_factory=dict)
    """Bytes each node sent, by protocol."""
    chat_bytes: dict[str, float] = field(default_factory=dict)
    history_bytes: float = 0.0
    history_fetched: float = 0.0
    history_duplicate_ratio: float = 1.0
    faults: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.delivered == self.messages
            and self.duplicates == 0
            and self.order_violations == 0
            and self.acknowledged == self.messages
        )


@dataclass(slots=True)
class Progress:
    sent: int = 0
    delivered: int = 0
    acknowledged: int = 0
    phase: str = "starting"


class LocalNetwork:
    def __init__(
        self,
        directory: Path,
        *,
        relays: int = 1,
        faults: FaultPlan | None = None,
        history_interval: float = 1.0,
        light: bool = False,
    ) -> None:
        self.directory = directory
        self.light = light
        self.relays: list[NodeProcess] = []
        self.chat: dict[str, NodeProcess] = {}
        self._relay_count = relays
        self._faults = faults
        self._history_interval = history_interval
        self.keys: dict[str, str] = {}

    def _spec(self, name: str, args: list[str], env: dict[str, str] | None = None) -> NodeSpec:
        data_dir = self.directory / name
        data_dir.mkdir(parents=True, exist_ok=True)
        # The Status cluster's default shard: every content topic of the chat travels on it.
        common = [
            f"--cluster-id={CLUSTER}",
            f"--shard={SHARD}",
            "--log-level=WARN",
        ]
        if self._faults is not None and self._faults.active:
            common.append(f"--relay-faults={self._faults}")
        return NodeSpec(
            name,
            secrets.token_hex(32),
            free_port(),
            free_port(),
            free_port(),
            data_dir,
            [*common, *args],
            env or {},
        )

    def node(self, name: str) -> NodeProcess:
        if name in self.chat:
            return self.chat[name]
        return self.relays[int(name.removeprefix("relay-")) - 1]

    async def start(self) -> None:
        """Start every node at once (Python's start-up is most of each node's time): each
        node's peer id follows from its node key, so every ``--staticnode`` address is known
        before any process runs, and a node dials again until its peer listens."""
        specs: list[tuple[NodeSpec, bool]] = []  # (spec, is a chat node)
        relay_specs = [self._spec(f"relay-{i + 1}", []) for i in range(self._relay_count)]
        for index, spec in enumerate(relay_specs):
            args = ["--store=true"] if index == 0 else []
            if index == 0 and self.light:
                args += ["--filter=true", "--lightpush=true"]
            if index > 0:
                args.append(f"--staticnode={relay_specs[index - 1].multiaddr}")
            spec.args += args
            specs.append((spec, False))
        store = relay_specs[0].multiaddr
        for name, relay in (("alice", relay_specs[0]), ("bob", relay_specs[-1])):
            if self.light:
                relay = relay_specs[0]  # the one service node
            account, _ = Account.create(
                self.directory / name / "account", PASSWORD, params=ScryptParams(n=1 << 12)
            )
            self.keys[name] = account.chat_key
            args = [
                "--chat=true",
                f"--staticnode={relay.multiaddr}",
                f"--storenode={store}",
                f"--chat-history-interval={self._history_interval}",
            ]
            if self.light:
                args += [
                    "--relay=false",
                    f"--filternode={relay.multiaddr}",
                    f"--lightpushnode={relay.multiaddr}",
                ]
            spec = self._spec(name, args, {"PYSTATUS_PASSWORD": PASSWORD})
            specs.append((spec, True))
        for spec, is_chat in specs:
            process = NodeProcess(spec, self.directory / f"{spec.name}.log")
            if is_chat:
                self.chat[spec.name] = process
            else:
                self.relays.append(process)
        # Registered before starting, so that stop() ends whichever did start.
        async with asyncio.TaskGroup() as group:
            for process in self.all():
                group.create_task(process.start())
        for process in self.all():
            if process.multiaddr != process.spec.multiaddr:
                raise NodeProcessError(
                    f"{process.spec.name} runs as {process.peer_id}, not as its node key says"
                )

    async def wait_connected(self, deadline: float = 60.0) -> None:
        """Until every node has its relay peers, and every light client its filter
        subscriptions (metrics are read off each node)."""
        # Relay nodes stand in a line, alice's node on the first and bob's on the last (light
        # clients are no relay peers).
        wanted = {} if self.light else {p.spec.name: 1 for p in self.chat.values()}
        last = len(self.relays) - 1
        for index, relay in enumerate(self.relays):
            count = (index > 0) + (index < last)
            if not self.light:
                count += (index == 0) + (index == last)
            wanted[relay.spec.name] = count
        light = list(self.chat.values()) if self.light else []
        async with asyncio.timeout(deadline):
            while True:
                await self.scrape()
                if all(
                    self.node(n).gauge("waku_relay_peers") >= count for n, count in wanted.items()
                ) and all(p.gauge("chat_light_filter_criteria") > 0 for p in light):
                    return
                await asyncio.sleep(0.5)

    def all(self) -> list[NodeProcess]:
        return [*self.relays, *self.chat.values()]

    async def scrape(self) -> None:
        async def one(process: NodeProcess) -> None:
            if process.running:
                with contextlib.suppress(Exception):
                    await process.scrape()

        await asyncio.gather(*(one(process) for process in self.all()))

    async def stop(self) -> None:
        await self.scrape()
        await asyncio.gather(*(process.stop() for process in self.all()))


class _Watcher:
    """Follows one chat node's events across its restarts.

    Events live in the node's memory only: those it told but this watcher had not yet read
    when it was killed (a poll in flight, or the moment between two polls) are gone with it.
    So after each restart the watcher first reads the chat's history (``chat_id``), as the
    API's EventLog says a client should, then the new run's events from its first one on.
    """

    def __init__(self, process: NodeProcess, chat_id: str) -> None:
        self.process = process
        self.chat_id = chat_id
        self.received: list[tuple[str, str, float]] = []  # (id, text, seen at)
        self.recovered: set[str] = set()  # received, read from history: no latency known
        self.statuses: dict[str, str] = {}
        self._since = 1
        self._incarnation = process.incarnation

    async def run(self) -> None:
        while True:
            if not self.process.running:
                await asyncio.sleep(0.2)
                continue
            try:
                if self.process.incarnation != self._incarnation:
                    await self._catch_up()
                    self._incarnation, self._since = self.process.incarnation, 1
                answer = await self.process.get("/chat/v1/events", since=self._since, wait=5)
            except (NodeProcessError, httpx.HTTPError, OSError):  # a killed node: wait for it
                await asyncio.sleep(0.2)
                continue
            assert isinstance(answer, dict)
            for event in answer["events"]:
                if event["kind"] == "message" and not event["outgoing"]:
                    self.received.append((event["id"], event["text"], event["seenAt"] / 1000))
                elif event["kind"] == "status":
                    self.statuses[event["id"]] = event["status"]
            self._since = answer["next"]

    async def _catch_up(self) -> None:
        """What the killed run told that this watcher never read, from the chat's history.

        Read before the new run's events, which are all kept from its start on: a status that
        changes after this read is in them."""
        history = await self.process.get(f"/chat/v1/chats/{self.chat_id}/messages", limit=1000)
        assert isinstance(history, list)
        seen = {i for i, _, _ in self.received}
        for message in history:
            if message["outgoing"]:
                self.statuses[message["id"]] = message["status"]
            elif message["id"] not in seen:
                self.recovered.add(message["id"])


def _percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "p50": round(statistics.median(ordered), 1),
        "p90": round(at(0.90), 1),
        "p99": round(at(0.99), 1),
        "max": round(ordered[-1], 1),
    }


async def run_scenario(
    scenario: Scenario,
    *,
    messages: int = 1000,
    rate: float = 50.0,
    relays: int = 1,
    directory: Path | None = None,
    keep: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    light: bool = False,
) -> Report:
    """Run ``scenario``: ``messages`` in all, half from each account, at ``rate`` per second;
    ``light``: both accounts chat as light clients of relay-1."""
    own_directory = directory is None
    root = directory or Path(tempfile.mkdtemp(prefix="pystatus-testnet-"))
    net = LocalNetwork(root, relays=relays, faults=scenario.faults, light=light)
    progress = Progress()
    report = Report(scenario.name, messages)
    started = time.monotonic()

    def tell(phase: str | None = None) -> None:
        if phase is not None:
            progress.phase = phase
        if on_progress is not None:
            on_progress(progress)

    tasks: list[asyncio.Task[None]] = []
    try:
        tell("starting nodes")
        await net.start()
        await net.wait_connected()
        watchers = {
            name: _Watcher(process, "0x" + _uncompressed(net.keys[_other(name)]))
            for name, process in net.chat.items()
        }
        loop = asyncio.get_running_loop()
        tasks += [loop.create_task(w.run()) for w in watchers.values()]

        async def scrape_loop() -> None:
            while True:
                await asyncio.sleep(SCRAPE_INTERVAL)
                await net.scrape()

        tasks.append(loop.create_task(scrape_loop()))
        sent: list[Sent] = []
        tell("sending")
        await _send_all(net, scenario, messages, rate, sent, progress, tell)
        report.sent = len(sent)
        tell("settling")
        await _settle(net, watchers, sent, progress, tell)
        tell("reporting")
        await _measure(net, watchers, sent, report)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await net.stop()
        report.seconds = round(time.monotonic() - started, 1)
        _account_bytes(net, report)
        if own_directory and not keep:
            shutil.rmtree(root, ignore_errors=True)
    return report


async def _send_all(
    net: LocalNetwork,
    scenario: Scenario,
    messages: int,
    rate: float,
    sent: list[Sent],
    progress: Progress,
    tell: Callable[[str | None], None],
) -> None:
    """Each account sends its half in a loop of its own, in order, at ``rate / 2`` messages a
    second (monotonic clock), so that together they keep ``rate`` however long one request
    takes; a sender whose node is down waits for it. An outage begins once its fraction of
    all the messages has been sent."""
    outages = sorted(scenario.outages, key=lambda o: o.at_fraction)
    interval = 2.0 / rate

    async def outage(item: Outage) -> None:
        process = net.node(item.node)
        await process.kill()
        await asyncio.sleep(item.seconds)
        await process.start()

    async with asyncio.TaskGroup() as group:

        def begin_due_outages() -> None:
            while outages and len(sent) >= outages[0].at_fraction * messages:
                group.create_task(outage(outages.pop(0)))

        async def talk(sender: str, count: int) -> None:
            process, other = net.chat[sender], _other(sender)
            index = 0
            next_at = time.monotonic()
            while index < count:
                begin_due_outages()
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                if not process.running:
                    await asyncio.sleep(0.2)  # killed: until the outage restarts it
                    continue
                try:
                    answer = await process.post(
                        "/chat/v1/messages", {"to": net.keys[other], "text": f"{sender} {index}"}
                    )
                except (NodeProcessError, httpx.HTTPError, OSError):
                    await asyncio.sleep(0.2)  # the node is restarting
                    continue
                assert isinstance(answer, dict)
                sent.append(Sent(sender, index, answer["id"], time.time()))
                index += 1
                progress.sent = len(sent)
                tell(None)
                next_at = max(next_at + interval, time.monotonic())

        group.create_task(talk("alice", messages - messages // 2))
        group.create_task(talk("bob", messages // 2))


def _other(name: str) -> str:
    return "bob" if name == "alice" else "alice"


def _delivered_ids(watchers: dict[str, _Watcher]) -> set[str]:
    return {i for w in watchers.values() for i, _, _ in w.received} | {
        i for w in watchers.values() for i in w.recovered
    }


async def _settle(
    net: LocalNetwork,
    watchers: dict[str, _Watcher],
    sent: list[Sent],
    progress: Progress,
    tell: Callable[[str | None], None],
) -> None:
    """Until every message is stored at its recipient and shown delivered to its sender."""
    wanted = {s.id: s for s in sent}
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        arrived = _delivered_ids(watchers)
        acknowledged = {
            i for w in watchers.values() for i, s in w.statuses.items() if s == "delivered"
        }
        progress.delivered = len(arrived & wanted.keys())
        progress.acknowledged = len(acknowledged & wanted.keys())
        tell(None)
        if progress.delivered == len(wanted) and progress.acknowledged == len(wanted):
            return
        await asyncio.sleep(0.5)


async def _measure(
    net: LocalNetwork, watchers: dict[str, _Watcher], sent: list[Sent], report: Report
) -> None:
    by_id = {s.id: s for s in sent}
    counts: defaultdict[str, int] = defaultdict(int)
    latencies = []
    for name, watcher in watchers.items():
        last_index: dict[str, int] = {}
        for message_id, _, seen_at in watcher.received:
            item = by_id.get(message_id)
            if item is None:
                continue
            counts[message_id] += 1
            if counts[message_id] > 1:
                continue
            latencies.append((seen_at - item.sent_at) * 1000)
        # What a killed node stored but could not announce is in its history.
        other = "bob" if name == "alice" else "alice"
        chat_id = "0x" + _uncompressed(net.keys[other])
        with contextlib.suppress(NodeProcessError, httpx.HTTPError, OSError):
            history = await net.chat[name].get(f"/chat/v1/chats/{chat_id}/messages", limit=1000)
            assert isinstance(history, list)
            for message in history:
                if not message["outgoing"] and message["id"] in by_id:
                    counts.setdefault(message["id"], 1)
                    # Order is the chat's, by Lamport clock, as status-go shows it.
                    item = by_id[message["id"]]
                    if item.index < last_index.get(item.sender, -1):
                        report.order_violations += 1
                    last_index[item.sender] = max(item.index, last_index.get(item.sender, -1))
    report.delivered = sum(1 for c in counts.values() if c >= 1)
    report.duplicates = sum(c - 1 for c in counts.values() if c > 1)
    report.latency_ms = _percentiles(latencies)
    report.latency_samples = len(latencies)
    statuses: defaultdict[str, int] = defaultdict(int)
    # A few requests in flight at a time: one after another they took seconds.
    slots = asyncio.Semaphore(STATUS_READS)

    async def read_status(item: Sent) -> None:
        async with slots:
            with contextlib.suppress(NodeProcessError, httpx.HTTPError, OSError):
                answer = await net.chat[item.sender].get(f"/chat/v1/messages/{item.id}")
                assert isinstance(answer, dict)
                statuses[answer["status"]] += 1

    await asyncio.gather(*(read_status(item) for item in sent))
    report.statuses = dict(statuses)
    report.acknowledged = statuses.get("delivered", 0)


def _uncompressed(chat_key: str) -> str:
    return public_key_from_chat_key_text(chat_key).hex()


def _account_bytes(net: LocalNetwork, report: Report) -> None:
    nodes = net.all()
    report.wire_bytes = sum(p.counter("libp2p_network_bytes_total", direction="out") for p in nodes)
    protocols: defaultdict[str, float] = defaultdict(float)
    chat: defaultdict[str, float] = defaultdict(float)
    faults: defaultdict[str, float] = defaultdict(float)
    for process in nodes:
        sent = process.by_label("libp2p_protocol_bytes_total", "protocol", direction="out")
        report.node_bytes[process.spec.name] = sent
        for protocol, value in sent.items():
            protocols[protocol] += value
        for kind, value in process.by_label("chat_published_bytes_total", "kind").items():
            chat[kind] += value
        for kind, value in process.by_label("waku_relay_injected_faults_total", "kind").items():
            faults[kind] += value
    report.protocol_bytes = dict(protocols)
    report.chat_bytes = dict(chat)
    report.faults = dict(faults)
    report.history_bytes = sum(p.counter("chat_history_bytes_total") for p in nodes)
    fetched_new = sum(p.counter("chat_history_messages_total", result="new") for p in nodes)
    fetched_dup = sum(p.counter("chat_history_messages_total", result="duplicate") for p in nodes)
    report.history_fetched = fetched_new + fetched_dup
    report.history_duplicate_ratio = (
        round(report.history_fetched / fetched_new, 3) if fetched_new else 1.0
    )
    if report.delivered:
        report.bytes_per_delivered = round(report.wire_bytes / report.delivered, 1)
