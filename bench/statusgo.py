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
import contextlib
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from prometheus_client import Counter
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from pystatus.archive.retention import RetentionPolicy
from pystatus.chat.account import Account
from pystatus.chat.events import ChatEvent
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger
from pystatus.node import NodeConfig, WakuNode
from pystatus.node.config import StoreConfig
from pystatus.p2p import metrics as p2p_metrics
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.waku import metrics as waku_metrics
from pystatus.waku.relay import WakuRelay
from tests.interop.statusgo_peer import StatusGoPeer, StatusGoPeerError, statusgo_binary

ROOT = Path(__file__).resolve().parent.parent
MESSAGES_ENV = "PYSTATUS_BENCH_STATUSGO_MESSAGES"
DEFAULT_MESSAGES = 200
DEFAULT_WINDOW = 20
SHARD = "/waku/2/rs/16/32"
RELAY = "/vac/waku/relay/2.0.0"
STORE = "/vac/waku/store-query/3.0.0"
PASSWORD = "benchmark password"
FAST = ScryptParams(n=1 << 10)
SEND_TIMEOUT = 60.0
ACK_GRACE = 60.0
"""How long after the last delivery a run waits for the sender to see every acknowledgement."""
SETTLE = 3.0
"""Quiet seconds before each run, so the previous run's stragglers stay out of its counters."""

Event = dict[str, Any]


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
        async with Messenger(account, relay, store=node.store_peer()) as messenger:

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


class PystatusPeer:
    """A :func:`_messenger_process` child, driven as :class:`StatusGoPeer` drives status-go."""

    def __init__(self, service_addr: str, *, ready_timeout: float = 90.0) -> None:
        self._service_addr = service_addr
        self._ready_timeout = ready_timeout
        self._directory: Path | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._pending: dict[int, asyncio.Future[Event]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._stderr: deque[str] = deque(maxlen=100)
        self._exited = False
        self.events: list[Event] = []
        self.ready: Event = {}

    @property
    def compressed_key(self) -> str:
        return str(self.ready["compressedKey"])

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.returncode

    def diagnostics(self) -> str:
        return "\n".join(["--- pystatus messenger stderr ---", *self._stderr])

    async def __aenter__(self) -> PystatusPeer:
        self._directory = Path(tempfile.mkdtemp(prefix="bench-statusgo-py-"))
        ready: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.statusgo",
            "--messenger",
            self._service_addr,
            str(self._directory / "account"),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            limit=16 * 1024 * 1024,
        )
        self._readers = [
            asyncio.ensure_future(self._read_stdout(ready)),
            asyncio.ensure_future(self._read_stderr()),
        ]
        try:
            async with asyncio.timeout(self._ready_timeout):
                self.ready = await ready
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        process = self._process
        if process is not None:
            if process.returncode is None:
                with contextlib.suppress(Exception):
                    await self.request("stop", timeout=10)
                with contextlib.suppress(Exception):
                    if process.stdin is not None:
                        process.stdin.close()
                try:
                    async with asyncio.timeout(10):
                        await process.wait()
                except TimeoutError:
                    process.kill()
            await process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    async def _read_stdout(self, ready: asyncio.Future[Event]) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"(stdout) {line.decode(errors='replace').rstrip()}")
                continue
            if message.get("event") == "ready" and not ready.done():
                ready.set_result(message)
            elif "id" in message and message["id"] in self._pending:
                future = self._pending.pop(message["id"])
                if not future.done():
                    future.set_result(message)
            else:
                self.events.append(message)
                self._changed.set()
        self._exited = True
        self._changed.set()
        failure = StatusGoPeerError(f"pystatus messenger exited\n{self.diagnostics()}")
        if not ready.done():
            ready.set_exception(failure)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(failure)
        self._pending.clear()

    async def _read_stderr(self) -> None:
        assert self._process is not None
        assert self._process.stderr is not None
        while line := await self._process.stderr.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())

    async def request(self, cmd: str, timeout: float = 30.0, **args: object) -> Event:
        process = self._process
        if process is None or process.stdin is None or process.returncode is not None:
            raise StatusGoPeerError(f"pystatus messenger is not running\n{self.diagnostics()}")
        request_id = next(self._ids)
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        process.stdin.write(json.dumps({"id": request_id, "cmd": cmd, **args}).encode() + b"\n")
        try:
            await process.stdin.drain()
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as exc:
            raise StatusGoPeerError(f"{cmd}: no reply in {timeout:.0f} s") from exc
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            raise StatusGoPeerError(f"{cmd} failed in pystatus: {reply.get('error')}")
        return reply

    async def wait_event(
        self, predicate: Callable[[Event], bool], timeout: float = 30.0, *, since: int = 0
    ) -> Event:
        index = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    while index < len(self.events):
                        event = self.events[index]
                        index += 1
                        if predicate(event):
                            return event
                    if self._exited:
                        raise StatusGoPeerError(f"pystatus messenger exited\n{self.diagnostics()}")
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError as exc:
            raise StatusGoPeerError(f"no matching event in {timeout:.0f} s") from exc


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
                except StatusGoPeerError:
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


@dataclass(frozen=True)
class Counts:
    """The service node's counters: wire bytes and stream bytes by protocol (in + out), the
    envelopes its relay took in, and those it rejected, by reason."""

    wire: float
    protocols: dict[str, float]
    envelopes: float = 0.0
    """New Waku messages the node's relay took in (each envelope once, on any shard)."""
    envelope_bytes: float = 0.0
    rejected: dict[str, float] = field(default_factory=dict)
    graylisted: float = 0.0
    """Times a peer's gossipsub score fell below the graylist threshold."""

    def __sub__(self, other: Counts) -> Counts:
        return Counts(
            self.wire - other.wire,
            _minus(self.protocols, other.protocols),
            self.envelopes - other.envelopes,
            self.envelope_bytes - other.envelope_bytes,
            {k: v for k, v in _minus(self.rejected, other.rejected).items() if v},
            self.graylisted - other.graylisted,
        )


def _minus(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a.get(k, 0.0) - b.get(k, 0.0) for k in set(a) | set(b)}


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


@dataclass
class Run:
    impl: str
    mode: str
    sent: int
    delivered: int = 0
    acknowledged: int = 0
    accept_s: float = 0.0
    """First send command to the last send command's reply."""
    deliver_s: float = 0.0
    """First send command to the last receipt."""
    ack_s: float = 0.0
    """First send command to the last acknowledgement the sender saw."""
    latencies_ms: list[float] = field(default_factory=list)
    counts: Counts = field(default_factory=lambda: Counts(0.0, {}))
    failure: str = ""

    @property
    def msgs_per_s(self) -> float:
        return self.delivered / self.deliver_s if self.deliver_s else 0.0

    @property
    def accepted_per_s(self) -> float:
        return self.sent / self.accept_s if self.accept_s else 0.0

    def quantile_ms(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def per_delivered(self, value: float) -> float:
        return value / self.delivered if self.delivered else float("nan")


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
    except* StatusGoPeerError as group_error:
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


def _service_config(directory: Path) -> NodeConfig:
    return NodeConfig(
        listen_address="127.0.0.1",
        tcp_port=0,
        cluster_id=16,
        shards=(32, 64),
        store=StoreConfig(
            db_url=f"sqlite:///{directory}/store.sqlite3",
            retention=RetentionPolicy.parse("time:3600"),
        ),
    )


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
        async with WakuNode(_service_config(Path(temporary))) as service:
            addr = str(service.host.full_addrs()[0])
            relay = service.require_relay()
            runs = await _mode(addr, relay, binary, "one at a time", count, 1, limit)
            pipelined = f"pipelined ({window} in flight)"
            runs += await _mode(addr, relay, binary, pipelined, count, window, limit)
            return runs


# -- the report ---------------------------------------------------------------------------------


def _ratio(mine: float, theirs: float, hint: str) -> str:
    if not theirs or mine != mine or theirs != theirs:
        return "-"
    return f"{mine / theirs:.2f}{hint}"


KNOWN_PROTOCOLS = {RELAY: "relay", STORE: "store"}


def _other(run: Run) -> float:
    rest = sum(v for k, v in run.counts.protocols.items() if k not in KNOWN_PROTOCOLS)
    return run.per_delivered(rest)


def _rejected(run: Run) -> str:
    total = sum(run.counts.rejected.values())
    reasons = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(run.counts.rejected.items()))
    return f"{total:,.0f} ({reasons})" if total else "0"


def _table(runs: list[Run], count: int, limit: float) -> Table:
    table = Table(
        title=f"statusgo: 1:1 messages end to end through one pystatus relay + store node, "
        f"{count} per run (pystatus → pystatus beside status-go v1.1.0 → status-go)"
    )
    for column in ("metric", "pystatus", "status-go", "ratio (py/go)"):
        table.add_column(column, justify="right")
    higher, lower = "", " (lower is better)"
    modes = list(dict.fromkeys(run.mode for run in runs))
    for mode in modes:
        py = next(r for r in runs if r.mode == mode and r.impl == "pystatus")
        go = next(r for r in runs if r.mode == mode and r.impl == "status-go")
        table.add_section()
        table.add_row(f"[bold]{mode}[/bold]", "", "", "")

        def row(name: str, mine: float, theirs: float, hint: str, fmt: str = ",.1f") -> None:
            table.add_row(name, f"{mine:{fmt}}", f"{theirs:{fmt}}", _ratio(mine, theirs, hint))

        table.add_row(
            f"delivered within {limit:.0f} s / acknowledged",
            f"{py.delivered}/{py.acknowledged}",
            f"{go.delivered}/{go.acknowledged}",
            "",
        )
        row("delivered messages/s", py.msgs_per_s, go.msgs_per_s, higher)
        row("send commands answered/s", py.accepted_per_s, go.accepted_per_s, higher)
        row("latency p50 (ms)", py.quantile_ms(50), go.quantile_ms(50), lower)
        row("latency p99 (ms)", py.quantile_ms(99), go.quantile_ms(99), lower)
        row("all acknowledged after (s)", py.ack_s, go.ack_s, lower)
        row(
            "wire bytes per delivered",
            py.per_delivered(py.counts.wire),
            go.per_delivered(go.counts.wire),
            lower,
            ",.0f",
        )
        for protocol, name in KNOWN_PROTOCOLS.items():
            row(
                f"  {name} stream bytes per delivered",
                py.per_delivered(py.counts.protocols.get(protocol, 0.0)),
                go.per_delivered(go.counts.protocols.get(protocol, 0.0)),
                lower,
                ",.0f",
            )
        row("  other stream bytes per delivered", _other(py), _other(go), lower, ",.0f")
        row(
            "Waku envelopes per delivered",
            py.per_delivered(py.counts.envelopes),
            go.per_delivered(go.counts.envelopes),
            lower,
            ",.2f",
        )
        row(
            "  envelope bytes per delivered",
            py.per_delivered(py.counts.envelope_bytes),
            go.per_delivered(go.counts.envelope_bytes),
            lower,
            ",.0f",
        )
        table.add_row("envelopes the relay rejected", _rejected(py), _rejected(go), "")
        table.add_row(
            "peers the relay graylisted",
            f"{py.counts.graylisted:,.0f}",
            f"{go.counts.graylisted:,.0f}",
            "",
        )
        for run in (py, go):
            if run.failure:
                table.add_row(f"  {run.impl}: {run.failure}", "", "", "")
    return table


NOTES = """\
Set-up. Every account runs in its own process and its only Waku peer is the pystatus service \
node in this process (relay + SQLite store, cluster 16, shards 32 and 64): two pystatus \
Messengers, each on its own pystatus node, and two status-go v1.1.0 peers, each on its own \
wakuv2 node; both kinds have the service node as their store node, as the app has one. Each \
mode starts four fresh accounts (no backlog from the previous run); each pair first sends one \
message each way (ratchets set up, not counted); then the pystatus pair runs, then the \
status-go pair, while the other pair idles. Both are driven alike: one JSON-line `send` command \
per message over a pipe; events come back as JSON lines, stamped when they reach this process.
- one at a time: the next send command is written once the previous one was answered. \
pipelined: up to W commands are written ahead (status-go runs its commands one after another, \
the pystatus process runs them concurrently).
- send commands answered/s: how fast the sender accepts messages. status-go's `send` answers \
once SendChatMessage has stored the message, queued it for MVDS and queued a ChatIdentity \
envelope (it sends one with every 1:1 message); MVDS batches the queued messages into one \
envelope per 300 ms epoch, and every envelope then waits in go-waku's throttled publish queue \
(UseThrottledPublish, as in the app: 2 envelopes/s, burst 4). pystatus's Messenger.send \
answers once the message is stored; its MVDS epoch (0.3 s) sends it, unthrottled.
- delivered messages/s: messages the receiver showed within the run's limit, over the time \
from the first send command to the last of them. latency p50/p99: from writing a message's \
send command to reading the receiver's message event, over the delivered messages only (a run \
that missed its limit shows its fastest ones); status-go hands received messages to the app \
once per --retrieve-interval (1 s, as in the app), pystatus as soon as each is stored.
- all acknowledged after: from the first send command to the sender's last `delivered` status \
(the receiver's MVDS acknowledgement arrived); waited for 60 s once all were delivered.
- bytes: the service node's own counters (nothing else in this process runs pystatus), read \
just before the first send and after the last acknowledgement (or the limit), received + sent, \
over delivered messages. wire = libp2p_network_bytes (TCP payload, Noise and yamux framing \
included); by protocol = libp2p_protocol_bytes (stream payload). The node relays each envelope \
to every other mesh peer of the shard, the idle pair's nodes too; the counts include messages, \
ChatIdentity envelopes, MVDS acknowledgements and resends, both sides' store queries confirming \
their envelopes arrived, gossip control and keep-alives, and whatever the idle pair sent.
- Waku envelopes: new messages the service node's relay accepted (waku_relay_messages, once \
each however many peers forward it) and their encoded size (waku_relay_network_bytes).
- envelopes the relay rejected: waku_relay_invalid_messages during the run. A Waku message \
carries the time it was made; relays (this one, nwaku alike) refuse one more than 20 s old. \
status-go stamps its envelopes when it queues them, so in a burst every envelope that waits \
more than 20 s in its 2/s queue is refused (timestamp_too_old), and what arrives after that is \
what MVDS sends again (30 s after the first try, then 60, 120, ... plus up to 9 s). Each \
refusal also costs the sender gossipsub score (the relay uses nwaku's scoring parameters): \
peers the relay graylisted counts the times a peer's score fell below the graylist threshold \
(waku_relay_graylisted_peers); while it is there the relay ignores everything that peer sends, \
fresh resends included, until the penalty decays."""


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
    return [_table(runs, count, limit), Text(NOTES.replace("W commands", f"{window} commands"))]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--messenger":
        asyncio.run(_messenger_process(sys.argv[2], Path(sys.argv[3])))
    else:
        sys.exit("usage: python -m bench.statusgo --messenger SERVICE_ADDR DIRECTORY")
