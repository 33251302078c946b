"""The asyncio adapter of discv5: one UDP socket around a :class:`Discv5Core`.

Thin on purpose: datagrams go to ``core.receive``, the core's deadline is one
``loop.call_at`` timer re-armed after every call (no polling), and events are dispatched:
datagrams to the socket, found records to a bounded queue and an optional callback, finished
lookups to the futures awaiting them. Times are ``loop.time()`` (monotonic seconds).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from pystatus.errors import ConfigError
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.discv5 import metrics as m
from pystatus.waku.discv5.autoupdate import (
    EndpointVote,
    record_endpoints,
    record_with_endpoint,
)
from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.core import Discv5Core
from pystatus.waku.discv5.errors import Discv5LocalError
from pystatus.waku.discv5.events import (
    Event,
    LookupFinished,
    NodeFound,
    PongReceived,
    SendDatagram,
)
from pystatus.waku.discv5.filter import EnrFilter
from pystatus.waku.discv5.table import record_endpoint
from pystatus.waku.enr import Enr

Endpoint = tuple[str, int]

MAX_ADDED_BEFORE_START = 256
"""Records :meth:`Discv5Service.add_bootstrap` keeps until the service starts."""


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, service: Discv5Service) -> None:
        self._service = service

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        # IPv6 addresses come as (host, port, flow, scope): the endpoint is the first two.
        self._service._on_datagram(data, (str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        m.ERRORS.labels("socket").inc()


class Discv5Service:
    """A discv5 node on a UDP socket.

    ``key`` is the node's secp256k1 identity. ``enr`` is its record, or a function
    ``(ip, udp_port) -> Enr`` called at :meth:`start` once the socket is bound (so that
    ``bind=("127.0.0.1", 0)`` can take a free port), or ``None`` for a bare record with just
    ip and udp. The ip is ``advertise_ip``, by default the bind address (which must then not
    be a wildcard).
    ``bootstrap`` records seed the table. ``enr_filter`` chooses which found records are
    reported (:meth:`found`, ``on_found``, :meth:`lookup`); ``on_pong`` sees every PONG (the
    address peers see us at). At most ``found_queue_size`` unread records wait in
    :meth:`found`; older ones are dropped and counted (``waku_discv5_found_dropped``).
    ``enr_auto_update`` re-signs our record with the ip/udp that most peers' PONGs report
    (3 agreeing peers at least; :mod:`.autoupdate`), counted in ``waku_discv5_enr_updates``.
    Raises :class:`~pystatus.errors.ConfigError` for an unusable record or address.
    """

    def __init__(
        self,
        key: Secp256k1PrivateKey,
        enr: Enr | Callable[[str, int], Enr] | None = None,
        *,
        bind: Endpoint = ("0.0.0.0", 0),
        bootstrap: Sequence[Enr] = (),
        config: Discv5Config | None = None,
        enr_filter: EnrFilter | None = None,
        advertise_ip: str | None = None,
        on_found: Callable[[Enr], None] | None = None,
        on_pong: Callable[[PongReceived], None] | None = None,
        found_queue_size: int = 1024,
        enr_auto_update: bool = False,
    ) -> None:
        if found_queue_size < 1:
            raise ConfigError("discv5 found_queue_size must be at least 1")
        self._key = key
        self._enr = enr if isinstance(enr, Enr) else None
        self._build_enr = enr if not isinstance(enr, Enr) else None
        self._bind = bind
        self._bootstrap = list(bootstrap)
        self._added: list[Enr] = []
        """Records given to :meth:`add_bootstrap` before :meth:`start`."""
        self._config = config or Discv5Config()
        self._filter = enr_filter
        self._advertise_ip = advertise_ip
        self._on_found = on_found
        self._on_pong = on_pong
        self._found: asyncio.Queue[Enr] = asyncio.Queue(found_queue_size)
        self._lookups: dict[int, asyncio.Future[tuple[Enr, ...]]] = {}
        self._core: Discv5Core | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._vote = EndpointVote() if enr_auto_update else None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the socket, add the bootstrap nodes and start a lookup for our own id.
        Raises :class:`ConfigError` if the socket cannot be bound or the record is unusable."""
        self._loop = loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=self._bind
            )
        except OSError as exc:
            raise ConfigError(f"discv5 cannot bind UDP {self._bind}: {exc.strerror}") from None
        self._transport = transport
        host, port = transport.get_extra_info("sockname")[:2]
        if self._enr is None:
            ip = self._advertise_ip or host
            if ipaddress.ip_address(ip).is_unspecified:
                transport.close()
                raise ConfigError("discv5 needs an advertised IP when bound to a wildcard")
            if self._build_enr is not None:
                self._enr = self._build_enr(ip, port)
            else:
                self._enr = Enr.build(self._key, ip=ip, udp=port)
        now = loop.time()
        self._core = core = Discv5Core(
            self._key, self._enr, now=now, config=self._config, enr_filter=self._filter
        )
        for record in self._bootstrap:
            try:
                self._dispatch(core.add_node(record, now))
            except Discv5LocalError as exc:
                transport.close()
                raise ConfigError(f"discv5 bootstrap record refused: {exc}") from None
        added, self._added = self._added, []
        self.add_bootstrap(added)
        _, events = core.lookup(now, core.local_id)
        self._dispatch(events)

    async def stop(self) -> None:
        """Close the socket, cancel the timer and fail pending lookups (CancelledError)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        if self._core is not None:
            self._core.close()
        for future in self._lookups.values():
            future.cancel()
        self._lookups.clear()

    def add_bootstrap(self, records: Iterable[Enr]) -> int:
        """Seed the routing table with more bootstrap records, as nwaku adds the records DNS
        discovery found to discv5's bootstrap nodes. Before :meth:`start` they join the given
        ones; after it each is added and pinged at once. Records without ip and udp (a tree
        may list TCP-only nodes) or our own are skipped, counted in
        ``waku_discv5_errors{kind=bootstrap_skipped}``. Returns how many were taken."""
        taken = 0
        for record in records:
            own = self._enr is not None and record.peer_id == self._enr.peer_id
            if own or record_endpoint(record) is None:
                m.ERRORS.labels("bootstrap_skipped").inc()
                continue
            if self._core is None or self._loop is None:
                if len(self._added) >= MAX_ADDED_BEFORE_START:
                    m.ERRORS.labels("bootstrap_skipped").inc()
                    continue
                self._added.append(record)
            else:
                try:
                    self._dispatch(self._core.add_node(record, self._loop.time()))
                except Discv5LocalError:
                    m.ERRORS.labels("bootstrap_skipped").inc()
                    continue
            taken += 1
        return taken

    # -- queries ------------------------------------------------------------------------------

    @property
    def local_enr(self) -> Enr:
        """Our record (built at :meth:`start` when none was given)."""
        if self._enr is None:
            raise Discv5LocalError("the discv5 service has not started")
        return self._core.local_record if self._core is not None else self._enr

    @property
    def core(self) -> Discv5Core:
        if self._core is None:
            raise Discv5LocalError("the discv5 service has not started")
        return self._core

    def table_records(self) -> list[Enr]:
        """Every record in the routing table (unfiltered)."""
        return [entry.record for entry in self.core.table.entries()]

    async def lookup(self, target: bytes | None = None, *, filtered: bool = True) -> list[Enr]:
        """Run one lookup toward ``target`` (random if ``None``) and return the closest nodes
        that answered, those passing the ENR filter when ``filtered``. Raises
        :class:`Discv5LocalError` when too many lookups run or the service is stopped."""
        loop = asyncio.get_running_loop()
        lookup_id, events = self.core.lookup(loop.time(), target)
        future: asyncio.Future[tuple[Enr, ...]] = loop.create_future()
        self._lookups[lookup_id] = future
        self._dispatch(events)
        records = await future
        if filtered and self._filter is not None:
            return [r for r in records if self._filter(r) is None]
        return list(records)

    async def found(self) -> AsyncIterator[Enr]:
        """Records found that passed the filter, as they come (new ones, or newer seqs)."""
        while True:
            yield await self._found.get()

    # -- plumbing -----------------------------------------------------------------------------

    def _on_datagram(self, data: bytes, endpoint: Endpoint) -> None:
        if self._core is None or self._loop is None:
            return
        self._dispatch(self._core.receive(data, endpoint, self._loop.time()))

    def _on_timer(self, deadline: float) -> None:
        self._timer, self._armed_at = None, None
        if self._core is None or self._loop is None:
            return
        # The loop may run a timer a hair early; the core is told the deadline it asked for.
        self._dispatch(self._core.handle_timer(max(self._loop.time(), deadline)))

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, SendDatagram):
                if self._transport is not None and not self._transport.is_closing():
                    self._transport.sendto(event.data, event.endpoint)
            elif isinstance(event, NodeFound):
                self._report(event.record)
            elif isinstance(event, LookupFinished):
                future = self._lookups.pop(event.lookup_id, None)
                if future is not None and not future.done():
                    future.set_result(event.records)
            else:
                self._on_pong_event(event)
        self._rearm()

    def _on_pong_event(self, event: PongReceived) -> None:
        if self._on_pong is not None:
            self._on_pong(event)
        if self._vote is None or self._core is None or self._loop is None:
            return
        self._vote.insert(event.node_id, (event.ip, event.port), self._loop.time())
        majority = self._vote.majority(self._loop.time())
        record = self._core.local_record
        if majority is None or majority in record_endpoints(record):
            return
        try:
            updated = record_with_endpoint(record, self._key, majority)
        except Discv5LocalError:
            m.ERRORS.labels("enr_update").inc()
            return
        self._core.update_record(updated)
        self._enr = updated
        m.ENR_UPDATES.inc()

    def _report(self, record: Enr) -> None:
        if self._found.full():
            self._found.get_nowait()
            m.FOUND_DROPPED.inc()
        self._found.put_nowait(record)
        if self._on_found is not None:
            self._on_found(record)

    def _rearm(self) -> None:
        if self._core is None or self._loop is None or self._transport is None:
            return
        deadline = self._core.next_deadline()
        if deadline == self._armed_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = deadline
        self._timer = (
            self._loop.call_at(deadline, self._on_timer, deadline) if deadline is not None else None
        )
