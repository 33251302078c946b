"""1:1 messages end to end, pystatus to pystatus beside status-go v1.1.0 to status-go, over one
pystatus relay + store service node.

The service node runs in this process (cluster 16, shards 32 and 64, SQLite store); it is the
only Waku peer of four accounts, each in its own process: two pystatus Messengers, each on its
own pystatus node (``python -m bench.statusgo --messenger ADDR DIR``, driven over JSON lines
like the status-go peer), and two status-go peers (``tests/interop/statusgo``, built by
``make statusgo``). For each pair, N messages are sent one at a time (the next send command
once the previous one was answered), then, with four fresh accounts, N pipelined (up to W send
commands in flight). Each run: delivered messages per second, latency from the send command to
the receiver's message event, when the sender saw them all acknowledged, the service node's
byte counters per delivered message and the envelopes its relay rejected. ``NOTES`` (printed
under the table) says what each number means.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client import Counter
from rich.console import RenderableType
from rich.text import Text

from bench.statusgo_report import NOTES, Counts, Run, statusgo_table
from pystatus.chat.account import Account
from pystatus.chat.events import ChatEvent
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger, RelayTransport
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import status_service_config
from pystatus.p2p import metrics as p2p_metrics
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku import metrics as waku_metrics
from pystatus.waku.relay import WakuRelay
from tests.interop.json_lines import Event, JsonLinesError, JsonLinesProcess
from tests.interop.statusgo_peer import StatusGoPeer, statusgo_binary

ROOT = Path(__file__).resolve().parent.parent
MESSAGES_ENV = "PYSTATUS_BENCH_STATUSGO_MESSAGES"
DEFAULT_MESSAGES = 200
DEFAULT_WINDOW = 20
SHARD = "/waku/2/rs/16/32"
PASSWORD = "benchmark password"
FAST = ScryptParams(n=1 << 10)
SEND_TIMEOUT = 60.0
ACK_GRACE = 60.0
"""How long after the last delivery a run waits for the sender to see every acknowledgement."""
SETTLE = 3.0
"""Quiet seconds before each run, so the previous run's stragglers stay out of its counters."""


def default_messages() -> int:
    return int(os.environ.get(MESSAGES_ENV, DEFAULT_MESSAGES))


def default_limit(count: int) -> float:
    """Seconds a run has to deliver everything: 2 minutes and 1 s per message."""
    return 120.0 + 1.0 * count


# -- the pystatus account process ---------------------------------------------------------------


async def _messenger_process(service_addr: str, directory: Path) -> None:
    """One pystatus account on its own node, peered only with the service node; prints its
    events as JSON lines and runs ``send`` commands from stdin concurrently."""

    def emit(fields: Event) -> None:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()

    account, _ = Account.create(directory, PASSWORD, params=FAST)
    config = NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        storenode=Multiaddr.from_string(service_addr),
    )
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with WakuNode(config) as node:
        await node.connect(service_addr)
        relay = node.require_relay()
        async with asyncio.timeout(60):
            while relay.mesh_size(SHARD) == 0:
                await asyncio.sleep(0.05)
        async with Messenger(account, RelayTransport(relay, store=node.store_peer())) as messenger:

            def on_event(event: ChatEvent) -> None:
                if event.kind == "message" and not event.outgoing:
                    emit({"event": "message", "id": event.id, "text": event.text})
                elif event.kind == "status":
                    emit({"event": "status", "messageId": event.id, "outgoingStatus": event.status})

            messenger.add_listener(on_event)

            async def serve(request: Event) -> None:
                reply: Event = {"id": request.get("id")}
                try:
                    if request.get("cmd") != "send":
                        raise ValueError(f"unknown command {request.get('cmd')!r}")
                    message_id = await messenger.send(str(request["to"]), str(request["text"]))
                    reply.update(ok=True, messageId=message_id)
                except Exception as exc:
                    reply.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                emit(reply)

            emit(
                {
                    "event": "ready",
                    "compressedKey": messenger.chat_key,
                    "peerId": str(node.host.peer_id),
                }
            )
            running: set[asyncio.Task[None]] = set()
            while line := await reader.readline():
                request = json.loads(line)
                if request.get("cmd") == "stop":
                    emit({"id": request.get("id"), "ok": True})
                    break
                task = asyncio.create_task(serve(request))
                running.add(task)
                task.add_done_callback(running.discard)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    emit({"event": "stopped"})


class PystatusPeer(JsonLinesProcess):
    """A :func:`_messenger_process` child, driven as :class:`StatusGoPeer` drives status-go."""

    name = "pystatus messenger"

    def __init__(self, service_addr: str, *, ready_timeout: float = 90.0) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        super().__init__(ready_timeout=ready_timeout, stderr_lines=100, cwd=ROOT, env=env)
        self._service_addr = service_addr
        self._directory: Path | None = None

    @property
    def compressed_key(self) -> str:
        return str(self.ready["compressedKey"])

    def _argv(self) -> list[str]:
        self._directory = Path(tempfile.mkdtemp(prefix="bench-statusgo-py-"))
        account = str(self._directory / "account")
        return [sys.executable, "-m", "bench.statusgo", "--messenger", self._service_addr, account]

    def _cleanup(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


# -- measuring ----------------------------------------------------------------------------------


class Peer(Protocol):
    """What a run needs of either kind of account process."""

    events: list[Event]

    @property
    def compressed_key(self) -> str: ...

    @property
    def returncode(self) -> int | None: ...

    async def request(self, cmd: str, timeout: float = 30.0, **args: object) -> Event: ...

    async def wait_event(
        self, predicate: Callable[[Event], bool], timeout: float = 30.0, *, since: int = 0
    ) -> Event: ...


class Arrivals:
    """When each of a peer's events reached this process (``time.monotonic()``), both kinds
    stamped the same way: by a task woken as soon as the peer's reader appends the event."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.times: list[float] = []
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            if len(self.times) >= len(self.peer.events):
                try:
                    await self.peer.wait_event(lambda _: True, timeout=1.0, since=len(self.times))
                except JsonLinesError:
                    if self.peer.returncode is not None:
                        return
                    continue
            now = time.monotonic()
            self.times.extend([now] * (len(self.peer.events) - len(self.times)))

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Side:
    """One account of a pair, with the arrival times of its events."""

    peer: Peer
    arrivals: Arrivals

    def first_times(self, since: int, match: Callable[[Event], str | None]) -> dict[str, float]:
        """For each key ``match`` gives an event (from index ``since``), when it first came."""
        seen: dict[str, float] = {}
        for index in range(since, len(self.arrivals.times)):
            key = match(self.peer.events[index])
            if key is not None and key not in seen:
                seen[key] = self.arrivals.times[index]
        return seen


def _totals(counter: Counter, label: str | None, **only: str) -> dict[str, float]:
    totals: defaultdict[str, float] = defaultdict(float)
    for metric in counter.collect():
        for sample in metric.samples:
            if not sample.name.endswith("_total"):
                continue
            if any(sample.labels.get(k) != v for k, v in only.items()):
                continue
            totals[sample.labels[label] if label else ""] += sample.value
    return dict(totals)


def service_counts() -> Counts:
    """Only the service node runs pystatus in this process, so the process-wide prometheus
    counters are its own."""
    wire = sum(_totals(p2p_metrics.NETWORK_BYTES, None).values())
    return Counts(
        wire,
        _totals(p2p_metrics.PROTOCOL_BYTES, "protocol"),
        sum(_totals(waku_metrics.RELAY_MESSAGES, None, direction="in").values()),
        sum(_totals(waku_metrics.RELAY_BYTES, None, direction="in").values()),
        _totals(waku_metrics.RELAY_INVALID, "reason"),
        sum(_totals(waku_metrics.RELAY_GRAYLISTED, None).values()),
    )


async def _until(done: Callable[[], bool], deadline: float, interval: float = 0.05) -> bool:
    while not done():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


async def _run(
    impl: str, mode: str, sender: Side, receiver: Side, count: int, window: int, limit: float
) -> Run:
    """``count`` messages from ``sender`` to ``receiver``, at most ``window`` send commands
    in flight (1: each waits for the previous reply), all to be delivered within ``limit``
    seconds of the first send."""
    run = Run(impl, mode, count)
    prefix = f"{impl} {mode} {time.monotonic_ns()}"
    to = receiver.peer.compressed_key
    receiver_since, sender_since = len(receiver.peer.events), len(sender.peer.events)
    starts: dict[str, float] = {}
    ids: set[str] = set()
    slots = asyncio.Semaphore(window)

    async def send(text: str) -> None:
        try:
            starts[text] = time.monotonic()
            reply = await sender.peer.request("send", timeout=SEND_TIMEOUT, to=to, text=text)
            ids.add(str(reply["messageId"]))
        finally:
            slots.release()

    def receipt(event: Event) -> str | None:
        text = event.get("text")
        if event.get("event") == "message" and not event.get("outgoing") and text in starts:
            return str(text)
        return None

    def acknowledgement(event: Event) -> str | None:
        if event.get("event") == "status" and event.get("outgoingStatus") == "delivered":
            message_id = str(event.get("messageId"))
            return message_id if message_id in ids else None
        return None

    before = service_counts()
    begun = time.monotonic()
    deadline = begun + limit
    try:
        async with asyncio.TaskGroup() as group:
            for index in range(count):
                await slots.acquire()
                group.create_task(send(f"{prefix} {index}"))
        run.accept_s = time.monotonic() - begun
        if not await _until(
            lambda: len(receiver.first_times(receiver_since, receipt)) >= count, deadline
        ):
            run.failure = f"not all delivered in {limit:.0f} s"
        # Once all are delivered, the acknowledgements get a grace period; else none.
        ack_deadline = time.monotonic() + (0.0 if run.failure else ACK_GRACE)
        if not await _until(
            lambda: len(sender.first_times(sender_since, acknowledgement)) >= len(ids),
            ack_deadline,
        ):
            run.failure = run.failure or f"not all acknowledged {ACK_GRACE:.0f} s later"
    except* JsonLinesError as group_error:
        run.failure = str(group_error.exceptions[0]).splitlines()[0]
    run.counts = service_counts() - before
    received = receiver.first_times(receiver_since, receipt)
    acked = sender.first_times(sender_since, acknowledgement)
    run.delivered, run.acknowledged = len(received), len(acked)
    run.latencies_ms = [(at - starts[text]) * 1000 for text, at in received.items()]
    run.deliver_s = max(received.values(), default=begun) - begun
    run.ack_s = max(acked.values(), default=begun) - begun
    return run


async def _warm_up(a: Side, b: Side) -> None:
    """One message each way: both ratchets set up, the negotiated topic in use."""
    for sender, receiver, text in ((a, b, "warm-up"), (b, a, "warm-up reply")):
        since = len(receiver.peer.events)
        to = receiver.peer.compressed_key
        await sender.peer.request("send", timeout=SEND_TIMEOUT, to=to, text=text)
        await receiver.peer.wait_event(_is_message(text), timeout=90, since=since)


def _is_message(text: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("event") == "message" and event.get("text") == text

    return match


async def _mode(
    addr: str, relay: WakuRelay, binary: Path, mode: str, count: int, window: int, limit: float
) -> list[Run]:
    """Four fresh accounts (no backlog from an earlier run), both pairs warmed up; then the
    pystatus run and the status-go run, one after the other."""
    async with (
        PystatusPeer(addr) as py_a,
        PystatusPeer(addr) as py_b,
        StatusGoPeer(waku_nodes=[addr], store_nodes=[addr], binary=binary) as go_a,
        StatusGoPeer(waku_nodes=[addr], store_nodes=[addr], binary=binary) as go_b,
    ):
        async with asyncio.timeout(60):
            while relay.mesh_size(SHARD) < 4:
                await asyncio.sleep(0.1)
        peers: Sequence[Peer] = (py_a, py_b, go_a, go_b)
        sides = [Side(peer, Arrivals(peer)) for peer in peers]
        try:
            pairs = {"pystatus": (sides[0], sides[1]), "status-go": (sides[2], sides[3])}
            for a, b in pairs.values():
                await _warm_up(a, b)
            runs = []
            for impl, (a, b) in pairs.items():
                await asyncio.sleep(SETTLE)
                runs.append(await _run(impl, mode, a, b, count, window, limit))
            return runs
        finally:
            for side in sides:
                await side.arrivals.close()


async def run_statusgo(count: int, window: int, limit: float, binary: Path) -> list[Run]:
    with tempfile.TemporaryDirectory(prefix="bench-statusgo-") as temporary:
        async with WakuNode(status_service_config(Path(temporary))) as service:
            addr = str(service.host.full_addrs()[0])
            relay = service.require_relay()
            runs = await _mode(addr, relay, binary, "one at a time", count, 1, limit)
            pipelined = f"pipelined ({window} in flight)"
            runs += await _mode(addr, relay, binary, pipelined, count, window, limit)
            return runs


def statusgo_report(
    count: int | None = None, window: int = DEFAULT_WINDOW, limit: float | None = None
) -> list[RenderableType]:
    """The table and its notes, or why the part was skipped."""
    binary, reason = statusgo_binary()
    if binary is None:
        return [Text(f"statusgo: skipped: {reason}")]
    count = default_messages() if count is None else count
    limit = default_limit(count) if limit is None else limit
    runs = asyncio.run(run_statusgo(count, window, limit, binary))
    return [
        statusgo_table(runs, count, limit),
        Text(NOTES.replace("W commands", f"{window} commands")),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--messenger":
        asyncio.run(_messenger_process(sys.argv[2], Path(sys.argv[3])))
    else:
        sys.exit("usage: python -m bench.statusgo --messenger SERVICE_ADDR DIRECTORY")
