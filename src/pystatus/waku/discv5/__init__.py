"""Node Discovery v5.1 (devp2p ``discv5/discv5-wire.md`` and ``discv5-theory.md``).

The protocol core is sans-IO (no sockets, no clock reads: every ``now`` is monotonic seconds,
passed in); :class:`Discv5Service` is the thin asyncio UDP adapter around it. Checked against
the spec's published vectors (``discv5-wire-test-vectors.md``).

Public API
----------
``Discv5Service(key, enr=None, *, bind=("0.0.0.0", 0), bootstrap=(), config=None,
enr_filter=None, advertise_ip=None, on_found=None, on_pong=None, found_queue_size=1024,
enr_auto_update=False)``
    ``key``: :class:`~pystatus.p2p.crypto.keys.Secp256k1PrivateKey`. ``enr``: our record, a
    function ``(ip, udp_port) -> Enr`` called once the socket is bound (for port 0), or
    ``None`` for a bare ip/udp record. ``bootstrap``: records (``enr:`` boot nodes).

    - ``await start()`` / ``await stop()``: bind (``ConfigError`` if it cannot), add the
      bootstrap nodes, run a lookup for our own id; ``stop`` closes everything.
    - ``await lookup(target=None, *, filtered=True) -> list[Enr]``: one iterative lookup
      (random target if ``None``); the closest nodes that answered.
    - ``found()``: async iterator of records that passed ``enr_filter`` (new, or newer
      seq); ``on_found(enr)`` is called for the same records.
    - ``on_pong(PongReceived)``: the ip/port a peer sees us at. ``enr_auto_update=True``
      (nwaku's ``--discv5-enr-auto-update``) re-signs our record with the address most peers
      report (:mod:`.autoupdate`: ``EndpointVote``, ``record_with_endpoint``).
    - ``local_enr``, ``table_records()``, ``core`` (the :class:`Discv5Core`).

``WakuEnrFilter.of(cluster_id, shards=None, capabilities=Capabilities(0))``
    The ENR filter: records of the cluster (``rs``/``rsv``), sharing a shard, advertising the
    ``waku2`` bits asked for. Any ``Callable[[Enr], str | None]`` works (``None`` keeps a
    record; a string names why it is refused, counted in ``waku_discv5_filtered_records``).

``Discv5Config(...)``
    Timers (seconds) and bounds: request_timeout 1.0, request_retries 1, handshake_timeout 1.0,
    max_sessions 1024, max_challenges 1024, max_pending_requests 512, bucket_size 16 (k),
    replacements 10, alpha 3, max_lookups 8, revalidate_interval 5.0, refresh_interval 30.0
    (a random-target lookup that often), max_nodes_responses 16, request_rate 10.0 and
    request_burst 20 (requests answered per peer), protocol_id b"d5waku". Bad values:
    ``ConfigError``.

Waku's discv5 network is not Ethereum's: 33/WAKU2-DISCV5 isolates it with the header's
protocol-id "d5waku" (go-waku ``waku/v2/discv5/discover.go``; nwaku the same), our default.
``Discv5Config(protocol_id=b"discv5")`` speaks Ethereum's (the spec's vectors use it).

``Discv5Core(key, record, *, now, config=None, enr_filter=None, rng=os.urandom)``
    The sans-IO node: ``receive(data, (ip, port), now)``, ``handle_timer(now)``,
    ``next_deadline()``, ``lookup(now, target=None) -> (id, events)``, ``ping(record, now)``,
    ``add_node(record, now)``, ``update_record(record)``, ``close()``. Events
    (:mod:`.events`): ``SendDatagram``, ``NodeFound``, ``LookupFinished``, ``PongReceived``.

Lower layers, usable alone: :mod:`.packet` (packet codec), :mod:`.messages` (message codec),
:mod:`.crypto` (v4 scheme: node ids, ECDH, key derivation, id-signature), :mod:`.sessions`
(sessions and handshake), :mod:`.table` (routing table), :mod:`.lookup`.

Errors: :class:`PacketError` (a remote broke the wire rules; dropped and counted in
``waku_discv5_dropped_packets{reason}``, never raised out of ``receive``) and
:class:`Discv5LocalError` (a caller's mistake). Metrics: :mod:`.metrics` (``waku_discv5_*``).
TOPICQUERY/REGTOPIC (topic advertisement) are not spoken.
"""

from pystatus.waku.discv5.config import Discv5Config
from pystatus.waku.discv5.core import Discv5Core
from pystatus.waku.discv5.errors import Discv5LocalError, PacketError
from pystatus.waku.discv5.events import (
    Event,
    LookupFinished,
    NodeFound,
    PongReceived,
    SendDatagram,
)
from pystatus.waku.discv5.filter import EnrFilter, WakuEnrFilter
from pystatus.waku.discv5.service import Discv5Service

__all__ = [
    "Discv5Config",
    "Discv5Core",
    "Discv5LocalError",
    "Discv5Service",
    "EnrFilter",
    "Event",
    "LookupFinished",
    "NodeFound",
    "PacketError",
    "PongReceived",
    "SendDatagram",
    "WakuEnrFilter",
]
