"""Bytes on the wire per delivered 1:1 message, by protocol, beside the encrypted payload.

One pystatus service node (relay, store, filter, light push; cluster 16, shards 32 and 64)
runs in this process; every messenger reaches the network only through it. Runs:

- **pystatus relay**: two accounts, each a Messenger on its own in-process relay node.
- **pystatus light**: two accounts, each a Messenger over a
  :class:`~pystatus.chat.light.LightTransport` (filter, light push, store) of the service
  node, as ``pystatus node --chat --relay=false`` runs.
- **status-go light**: status-go v1.1.0 as a light client (``tests/interop/statusgo``, built
  by ``make statusgo``), sending to and receiving from a pystatus light client.

The service node has one more relay peer (its light push refuses to publish without one).

Each run sends N 1:1 texts of one size (a short one and a 1 KiB one) one at a time from A to B
(the next once B has the previous, and ``interval`` after the previous send), waits until A
has seen each acknowledged, lets the last frames arrive (``settle`` seconds), and takes the
difference of byte counters around it:

- pystatus accounts: their host's counters (:mod:`pystatus.p2p.bandwidth`): every byte of
  their socket, by protocol and transport overhead;
- status-go: libp2p's stream counter that status-go wires up (its ``bandwidth`` command: no
  Noise or muxer framing), and the socket bytes of its connection as the service node counted
  them (everything status-go sent and received, as it has no other peer).

The encrypted payload is the Waku payload (RFC 26 envelope: ciphertext, padding, signature) of
what A published during the run: counted at a pystatus sender's transport, and for a status-go
sender from the messages the service node took by light push (less the pystatus side's).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import RenderableType
from rich.text import Text

from bench.bandwidth_floor import floor_parts, floor_table
from bench.bandwidth_report import Measured, Run, bandwidth_tables, comparisons, write_json
from bench.bandwidth_report import Published as Published_
from pystatus.chat.account import Account
from pystatus.chat.events import ChatEvent
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.light import LightTransport
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.chat.transport import Published, Received, Transport
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import status_service_config
from pystatus.p2p.bandwidth import MULTISTREAM, Bandwidth, Bytes
from pystatus.p2p.connection import Connection
from pystatus.p2p.peer_id import PeerId
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayedMessage
from tests.interop.json_lines import Event
from tests.interop.statusgo_peer import StatusGoPeer, statusgo_binary

SHORT_TEXT = "On my way, I'll be at the station in ten minutes. Want me to bring anything?"
"""A typical short chat text (76 characters)."""
KIB_TEXT_SIZE = 1024
SIZES = {"short": len(SHORT_TEXT), "1 KiB": KIB_TEXT_SIZE}
SHARD = "/waku/2/rs/16/32"
PASSWORD = "bandwidth bench"
FAST = ScryptParams(n=1 << 10)
MESSAGES_ENV = "PYSTATUS_BENCH_BANDWIDTH_MESSAGES"
DEFAULT_MESSAGES = 50
JSON_PATH = Path(tempfile.gettempdir()) / "pystatus-bench-bandwidth.json"
ACK_GRACE = 10.0
"""Seconds a status-go sender gets to report acknowledgements once all are delivered."""
DEFAULT_INTERVAL = 1.0
"""Seconds from one send to the next: a conversation's pace, slow enough that every message
gets its own acknowledgement (MVDS batches what arrives within its 300 ms epoch)."""
SETTLE = 2.0
"""Seconds after the last acknowledgement before counters are read: the last frames land,
and libp2p's counters in status-go fold their totals in once a second."""


def text_for(size: str, index: int, tag: str) -> str:
    """A text of the run's size, unique per message (so deliveries can be matched)."""
    head = f"{tag} {index}: "
    body = SHORT_TEXT if size == "short" else "x" * KIB_TEXT_SIZE
    return head + body[len(head) :]


def _limit(count: int) -> float:
    """Seconds a run has to deliver and see acknowledged its messages."""
    return 60.0 + 2.0 * count


# -- the network --------------------------------------------------------------------------------


def _light_config() -> NodeConfig:
    return NodeConfig(listen_address="127.0.0.1", tcp_port=0, cluster_id=16, relay=False)


def _relay_config(service: WakuNode) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        storenode=service.host.full_addrs()[0],
    )


@contextlib.asynccontextmanager
async def _relay_peer(service: WakuNode) -> AsyncIterator[WakuNode]:
    """A relay peer of ``service`` on the shard: its light push refuses to publish without
    one (503), as a fleet node would have many."""
    async with WakuNode(_relay_config(service)) as node:
        await node.connect(str(service.host.full_addrs()[0]))
        relay = service.require_relay()
        async with asyncio.timeout(60):
            while relay.mesh_size(SHARD) == 0:
                await asyncio.sleep(0.05)
        yield node


class TappedTransport:
    """A messenger's transport, counting the Waku payload bytes it publishes."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.store = inner.store
        self.bytes = 0
        self.encoded = 0
        """Bytes of the Waku messages published, encoded (the payload and its fields)."""
        self.published = 0

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    def listen(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.inner.listen(pubsub_topic, content_topics)

    def unlisten(self, pubsub_topic: str, content_topics: Collection[str]) -> None:
        self.inner.unlisten(pubsub_topic, content_topics)

    def on_message(self, callback: Callable[[Received], None]) -> None:
        self.inner.on_message(callback)

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> Published:
        published = await self.inner.publish(pubsub_topic, message)
        self.bytes += len(message.payload)
        self.encoded += len(message.encode())
        self.published += 1
        return published

    def connected(self) -> bool:
        return self.inner.connected()

    def store_verdict(self, asked: Collection[bytes], found: Collection[bytes]) -> None:
        self.inner.store_verdict(asked, found)


class ServiceTap:
    """Waku payload bytes the service node relayed that it did not get over relay: what
    light clients pushed to it."""

    def __init__(self, service: WakuNode) -> None:
        self.bytes = 0
        service.require_relay().add_observer(self._observe)

    def _observe(self, item: RelayedMessage) -> None:
        if item.source is None:
            self.bytes += len(item.message.payload)


@dataclass
class Account_:
    """A pystatus account on its own relay node, with what it received and saw acknowledged."""

    node: WakuNode
    messenger: Messenger
    tap: TappedTransport
    texts: set[str]
    delivered: set[str]
    changed: asyncio.Event

    @property
    def chat_key(self) -> str:
        return self.messenger.chat_key

    def bandwidth(self) -> Bandwidth:
        return self.node.host.bandwidth()

    def has(self, text: str) -> Callable[[], bool]:
        return lambda: text in self.texts

    def _on_event(self, event: ChatEvent) -> None:
        if event.kind == "message" and not event.outgoing:
            self.texts.add(event.text)
            self.changed.set()
        elif event.kind == "status" and event.status == "delivered":
            self.delivered.add(event.id)
            self.changed.set()

    async def wait(self, done: Callable[[], bool], deadline: float) -> bool:
        while not done():
            self.changed.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self.changed.wait()
            except TimeoutError:
                return done()
        return True


@contextlib.asynccontextmanager
async def _pystatus_account(
    service: WakuNode, directory: Path, *, light: bool
) -> AsyncIterator[Account_]:
    """An account on its own node: a relay peer of ``service``, or (``light``) its light
    client (filter, light push, store), as ``pystatus node --chat --relay=false`` runs."""
    account, _ = Account.create(directory, PASSWORD, params=FAST)
    service_addr = service.host.full_addrs()[0]
    config = _light_config() if light else _relay_config(service)
    async with WakuNode(config) as node:
        inner: Transport
        if light:
            inner = LightTransport(
                node.host,
                filter_client=node.filter_client,
                lightpush_client=node.lightpush_client,
                store_client=node.store_client,
                filternodes=[service_addr],
                lightpushnodes=[service_addr],
                storenodes=[service_addr],
            )
        else:
            await node.connect(str(service_addr))
            relay = node.require_relay()
            async with asyncio.timeout(60):
                while relay.mesh_size(SHARD) == 0:
                    await asyncio.sleep(0.05)
            inner = RelayTransport(relay, store=node.store_peer())
        tap = TappedTransport(inner)
        async with Messenger(account, tap) as messenger:
            side = Account_(node, messenger, tap, set(), set(), asyncio.Event())
            messenger.add_listener(side._on_event)
            if light:
                await _until_subscribed(service, node.peer_id)
            yield side


# -- runs ---------------------------------------------------------------------------------------


async def _pace(started: float, interval: float) -> None:
    """Wait until ``interval`` seconds after ``started`` (monotonic), the next send's time."""
    await asyncio.sleep(max(0.0, started + interval - time.monotonic()))


async def _pystatus_run(
    impl: str, a: Account_, b: Account_, size: str, count: int, settle: float, interval: float
) -> Run:
    run = Run(impl, size, count, interval=interval)
    tag = f"{impl} {size} {time.monotonic_ns()}"
    await asyncio.sleep(settle)
    a_before, b_before, payload_before = a.bandwidth(), b.bandwidth(), a.tap.bytes
    taps_before = a.tap.encoded, a.tap.published, b.tap.encoded, b.tap.published
    deadline = time.monotonic() + _limit(count)
    ids: set[str] = set()
    for index in range(count):
        started = time.monotonic()
        text = text_for(size, index, tag)
        ids.add(await a.messenger.send(b.chat_key, text))
        if not await b.wait(b.has(text), deadline):
            run.failure = f"message {index} not delivered in time"
            break
        await _pace(started, interval)
    if not run.failure and not await a.wait(lambda: ids <= a.delivered, deadline):
        run.failure = "not all acknowledged in time"
    await asyncio.sleep(settle)
    run.delivered = sum(1 for i in range(count) if text_for(size, i, tag) in b.texts)
    run.acknowledged = len(ids & a.delivered)
    run.payload = a.tap.bytes - payload_before
    run.published = Published_(
        a.tap.encoded - taps_before[0],
        a.tap.published - taps_before[1],
        b.tap.encoded - taps_before[2],
        b.tap.published - taps_before[3],
    )
    run.sender = Measured(impl, a.bandwidth() - a_before)
    run.receiver = Measured(impl, b.bandwidth() - b_before)
    return run


def _go_bandwidth(reply: Event) -> Bandwidth:
    """status-go's ``bandwidth`` reply as buckets; libp2p files negotiation under ""."""
    buckets: dict[str, Bytes] = {}
    for item in reply.get("protocols", []):
        assert isinstance(item, dict)
        name = str(item["protocol"]) or MULTISTREAM
        buckets[name] = buckets.get(name, Bytes()) + Bytes(int(item["in"]), int(item["out"]))
    return Bandwidth(buckets)


class PeerSockets:
    """The service node's counts of its connections to one peer, closed ones included (a
    light client reconnects now and then), from the peer's side: what the service node
    received, the peer sent."""

    def __init__(self, service: WakuNode, peer: PeerId) -> None:
        self._host = service.host
        self._peer = peer
        self._closed = Bandwidth()
        self._host.on_disconnected(self._on_disconnected)

    def _on_disconnected(self, connection: Connection) -> None:
        if connection.remote_peer == self._peer:
            self._closed = self._closed + connection.traffic.snapshot()

    def bandwidth(self) -> Bandwidth:
        total = self._closed
        for connection in self._host.connections(self._peer):
            total = total + connection.traffic.snapshot()
        return Bandwidth({k: Bytes(v.outbound, v.inbound) for k, v in total.buckets.items()})


async def _statusgo_run(
    sockets: PeerSockets,
    go: StatusGoPeer,
    py: Account_,
    tap: ServiceTap,
    size: str,
    count: int,
    settle: float,
    *,
    go_sends: bool,
    ack_grace: float,
    interval: float,
) -> Run:
    impl = "status-go light"
    run = Run(impl, size, count, go_sends=go_sends, interval=interval)
    tag = f"{impl} {size} {time.monotonic_ns()}"
    await asyncio.sleep(settle)
    go_before = _go_bandwidth(await go.request("bandwidth"))
    socket_before = sockets.bandwidth()
    py_before = py.bandwidth()
    # The service node sees light pushes from both: status-go's payload is the rest.
    payload_before = tap.bytes - py.tap.bytes if go_sends else py.tap.bytes
    deadline = time.monotonic() + _limit(count)
    ids: set[str] = set()
    go_received: set[str] = set()
    try:
        started = time.monotonic()
        for index in range(count):
            if index:
                await _pace(started, interval)
                started = time.monotonic()
            text = text_for(size, index, tag)
            if go_sends:
                reply = await go.request("send", timeout=60, to=py.chat_key, text=text)
                ids.add(str(reply["messageId"]))
                if not await py.wait(py.has(text), deadline):
                    run.failure = f"message {index} not delivered in time"
                    break
            else:
                ids.add(await py.messenger.send(go.compressed_key, text))
                since = max(0, len(go.events) - 200)
                await go.wait_event(
                    _go_message(text),
                    timeout=max(1.0, deadline - time.monotonic()),
                    since=since,
                )
                go_received.add(text)
        if not run.failure:
            if go_sends:
                # status-go as a light client at times reports pystatus's acknowledgements
                # late or not at all: they get a grace period, then the run goes on.
                await _go_acknowledged(go, ids, min(deadline, time.monotonic() + ack_grace))
            elif not await py.wait(lambda: ids <= py.delivered, deadline):
                run.failure = "not all acknowledged in time"
    except Exception as exc:  # the peer's errors end the run, reported, not the whole bench
        run.failure = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    await asyncio.sleep(settle)
    texts = [text_for(size, i, tag) for i in range(count)]
    if go_sends:
        run.delivered = sum(1 for t in texts if t in py.texts)
        run.acknowledged = len(_go_delivered(go) & ids)
        run.payload = tap.bytes - py.tap.bytes - payload_before
    else:
        run.delivered = len(go_received)
        run.acknowledged = len(ids & py.delivered)
        run.payload = py.tap.bytes - payload_before
    go_side = Measured("status-go light", sockets.bandwidth() - socket_before)
    go_side.libp2p = _go_bandwidth(await go.request("bandwidth")) - go_before
    py_side = Measured("pystatus light", py.bandwidth() - py_before)
    run.sender, run.receiver = (go_side, py_side) if go_sends else (py_side, go_side)
    return run


def _go_message(text: str) -> Callable[[Event], bool]:
    return lambda event: event.get("event") == "message" and event.get("text") == text


def _go_delivered(go: StatusGoPeer) -> set[str]:
    return {
        str(e.get("messageId"))
        for e in go.events
        if e.get("event") == "status" and e.get("outgoingStatus") == "delivered"
    }


async def _go_acknowledged(go: StatusGoPeer, ids: set[str], deadline: float) -> bool:
    while not ids <= _go_delivered(go):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        with contextlib.suppress(Exception):
            await go.wait_event(
                lambda e: e.get("event") == "status" and e.get("messageId") in ids,
                timeout=min(remaining, 5.0),
                since=max(0, len(go.events) - 1),
            )
    return True


async def _warm_up_pystatus(a: Account_, b: Account_) -> None:
    """One message each way: both ratchets set up, the negotiated topic in use."""
    deadline = time.monotonic() + 90
    for sender, receiver, text in ((a, b, "warm-up"), (b, a, "warm-up reply")):
        await sender.messenger.send(receiver.chat_key, text)
        if not await receiver.wait(receiver.has(text), deadline):
            raise TimeoutError(f"warm-up message {text!r} not delivered")


async def _warm_up_statusgo(go: StatusGoPeer, py: Account_) -> None:
    deadline = time.monotonic() + 90
    await py.messenger.send(go.compressed_key, "warm-up")
    await go.wait_event(lambda e: e.get("event") == "message" and e.get("text") == "warm-up", 90)
    await go.request("send", timeout=60, to=py.chat_key, text="warm-up reply")
    if not await py.wait(lambda: "warm-up reply" in py.texts, deadline):
        raise TimeoutError("status-go's warm-up reply not delivered")


async def run_bandwidth(
    count: int,
    sizes: Sequence[str] = tuple(SIZES),
    *,
    statusgo: Path | None,
    pystatus: bool = True,
    settle: float = SETTLE,
    ack_grace: float = ACK_GRACE,
    interval: float = 0.0,
) -> list[Run]:
    """The pystatus runs, relay then light (unless ``pystatus`` is false), then the status-go
    runs when ``statusgo`` (its binary) is given. In seconds: ``interval`` from one send to
    the next (once the previous was delivered; 0: at once), ``settle`` and ``ack_grace``."""
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-bandwidth-") as temporary:
        directory = Path(temporary)
        async with (
            WakuNode(status_service_config(directory)) as service,
            # The service node's light push needs a relay peer, as a fleet node has many.
            _relay_peer(service),
        ):
            tap = ServiceTap(service)
            for mode in ("relay", "light") if pystatus else ():
                async with (
                    _pystatus_account(service, directory / f"{mode}-a", light=mode == "light") as a,
                    _pystatus_account(service, directory / f"{mode}-b", light=mode == "light") as b,
                ):
                    await _warm_up_pystatus(a, b)
                    for size in sizes:
                        runs.append(
                            await _pystatus_run(
                                f"pystatus {mode}", a, b, size, count, settle, interval
                            )
                        )
            if statusgo is None:
                return runs
            addr = str(service.host.full_addrs()[0])
            async with (
                _pystatus_account(service, directory / "c", light=True) as py,
                StatusGoPeer(
                    waku_nodes=[addr], store_nodes=[addr], light=True, binary=statusgo
                ) as go,
            ):
                go_peer = PeerId.from_string(go.peer_id)
                sockets = PeerSockets(service, go_peer)
                await _until_subscribed(service, go_peer)
                await _warm_up_statusgo(go, py)
                await _until_negotiated(service, go_peer, py)
                for size in sizes:
                    for go_sends in (False, True):
                        runs.append(
                            await _statusgo_run(
                                sockets,
                                go,
                                py,
                                tap,
                                size,
                                count,
                                settle,
                                go_sends=go_sends,
                                ack_grace=ack_grace,
                                interval=interval,
                            )
                        )
    return runs


async def _until_subscribed(service: WakuNode, peer: PeerId, timeout: float = 60.0) -> None:
    server = service.filter_server
    assert server is not None
    async with asyncio.timeout(timeout):
        while not server.subscriptions.criteria_of(peer):
            await asyncio.sleep(0.1)


async def _until_negotiated(
    service: WakuNode, peer: PeerId, py: Account_, timeout: float = 60.0
) -> None:
    """Until ``peer`` (status-go) holds a filter subscription for each negotiated topic ``py``
    listens to. After the warm-up both sides send on the topic negotiated from their shared
    secret, and status-go's light client subscribes to a new topic only at its filter
    manager's next batch (go-waku ``waku/v2/api/filter/filter_manager.go``: every 5 s); a
    message sent before that reaches it only by pystatus's MVDS resend 30 s later, which a
    measured run would time as a stall."""
    server = service.filter_server
    assert server is not None
    listening = py.messenger.session.listening.topics

    def subscribed() -> bool:
        wanted = {t for t, how in listening.items() if how.kind == "negotiated"}
        return wanted <= {topic for _, topic in server.subscriptions.criteria_of(peer)}

    async with asyncio.timeout(timeout):
        while not subscribed():
            await asyncio.sleep(0.1)


def default_messages() -> int:
    return int(os.environ.get(MESSAGES_ENV, DEFAULT_MESSAGES))


def bandwidth_report(
    count: int | None = None,
    json_path: Path = JSON_PATH,
    *,
    sizes: Sequence[str] = tuple(SIZES),
    settle: float = SETTLE,
    interval: float = DEFAULT_INTERVAL,
) -> tuple[list[RenderableType], list[Run]]:
    """Run everything (status-go when its peer is built), write the JSON; the tables, the
    ratios and notes to print, and the runs."""
    binary, reason = statusgo_binary()
    count = default_messages() if count is None else count
    runs = asyncio.run(
        run_bandwidth(count, sizes, statusgo=binary, settle=settle, interval=interval)
    )
    write_json(runs, json_path)
    floors = [floor_of(run) for run in runs if run.impl == "pystatus light" and run.published]
    notes = comparisons(runs)
    if binary is None:
        notes.append(f"status-go runs skipped: {reason}")
    notes.append(f"JSON: {json_path}")
    return [*bandwidth_tables(runs), *floors, Text("\n".join(notes))], runs


def floor_of(run: Run) -> RenderableType:
    """The protocols' floor under ``run`` (a pystatus light one), from the Waku messages both
    sides published in it (:mod:`bench.bandwidth_floor`)."""
    published = run.published
    assert published is not None
    per = max(1, run.delivered)
    parts = floor_parts(
        published.sender_bytes / max(1, published.sender_count),
        published.receiver_bytes / max(1, published.receiver_count),
        published.receiver_count / per,
        SHARD,
    )
    title = (
        f"bandwidth floor, {run.impl}, {run.size}: per delivered message, "
        f"{published.receiver_count / per:.2f} acknowledgements each"
    )
    return floor_table(title, run.payload_per_delivered(), parts)
