"""DNS discovery (EIP-1459): read ENR trees through DNS with dnspython's asyncio resolver.

:class:`DnsDiscovery` walks each ``enrtree://`` URL with :class:`~pystatus.waku.enrtree.
TreeWalk`, follows the links it finds to other trees, and hands back the node records. It
remembers each tree's sequence number, so a replayed older root is refused, and keeps the
entries it checked (bounded), so a new root costs only the lookups of what changed. The name
servers are nwaku's ``--dns-discovery-name-server`` (1.1.1.1 and 1.0.0.1 unless told).
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
from collections.abc import Sequence

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.resolver
import dns.zone

from pystatus.waku import metrics
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import Entry, InvalidEnrTree, Link, TreeWalk
from pystatus.waku.errors import LocalWakuError

log = logging.getLogger(__name__)

DEFAULT_NAME_SERVERS = ("1.1.1.1", "1.0.0.1")
"""nwaku's default ``--dns-discovery-name-server``."""
LOOKUP_TIMEOUT = 5.0
"""Seconds one TXT lookup may take, retries included."""
MAX_TREES = 16
"""Trees read in one round, links followed included."""
MAX_CACHED_ENTRIES = 10_000
"""Checked tree entries kept between rounds (least recently used go first)."""
CONCURRENT_LOOKUPS = 8
ROOT_TTL = 60
"""Seconds a root may be cached: short, so a new tree is seen soon (EIP-1459's example)."""
ENTRY_TTL = 86900
"""Seconds other entries may be cached: their names are their hashes, so they never change."""


def txt_rdata(text: str) -> dns.rdtypes.ANY.TXT.TXT:
    """One TXT record holding ``text``, split into the 255-byte strings DNS allows."""
    raw = text.encode("ascii")
    strings = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings)


def zone_text(domain: str, records: dict[str, str]) -> str:
    """``records`` (full name to entry text, as :func:`~pystatus.waku.enrtree.build_tree` gives
    them) as a zone file for ``domain``, with relative names."""
    origin = dns.name.from_text(domain)
    zone = dns.zone.Zone(origin, relativize=True)
    for name, text in records.items():
        relative = dns.name.from_text(name).relativize(origin)
        ttl = ROOT_TTL if relative == dns.name.empty else ENTRY_TTL
        zone.find_rdataset(relative, dns.rdatatype.TXT, create=True).add(txt_rdata(text), ttl)
    return str(zone.to_text(sorted=True, relativize=True, want_origin=True))


class InvalidNameServer(LocalWakuError):
    """A ``--dns-discovery-name-server`` that is not an IP address (with an optional port)."""


def parse_name_server(text: str) -> tuple[str, int]:
    """``"1.1.1.1"``, ``"127.0.0.1:5353"``, ``"::1"`` or ``"[::1]:5353"`` as (address, port).

    nwaku takes addresses only (port 53); a port is our addition, for servers on another port
    such as a test's. Raises :class:`InvalidNameServer`.
    """
    host, port = text.strip(), 53
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise InvalidNameServer(f"{text!r}: expected [address]:port")
            port = int(rest[1:])
    elif host.count(":") == 1:
        host, _, raw_port = host.partition(":")
        if not raw_port.isdigit():
            raise InvalidNameServer(f"{text!r}: the port is not a number")
        port = int(raw_port)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise InvalidNameServer(f"{text!r} is not an IP address") from None
    if not 0 < port < 65536:
        raise InvalidNameServer(f"{text!r}: port out of range")
    return host, port


class DnsDiscovery:
    """The node records of ``urls`` (``enrtree://<key>@<domain>``), read over DNS.

    Raises :class:`InvalidEnrTree` for a URL that does not parse and
    :class:`InvalidNameServer` for a bad server, at construction. :meth:`resolve` never
    raises for what the network answers: failures are logged, counted in
    ``waku_dnsdisc_refused`` (by reason) and ``waku_dnsdisc_lookups`` (by result), and a tree
    that fails gives no records that round.
    """

    def __init__(
        self,
        urls: Sequence[str],
        name_servers: Sequence[str] = DEFAULT_NAME_SERVERS,
        *,
        timeout: float = LOOKUP_TIMEOUT,
        max_trees: int = MAX_TREES,
        cache_size: int = MAX_CACHED_ENTRIES,
    ) -> None:
        self.links = [Link.from_url(url) for url in urls]
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(address, port)
            for address, port in map(parse_name_server, name_servers or DEFAULT_NAME_SERVERS)
        ]
        resolver.lifetime = timeout
        resolver.cache = None  # TTLs of hours would hide a new root; entries are cached below
        self._resolver = resolver
        self._max_trees = max_trees
        self._cache_size = cache_size
        self._cache: collections.OrderedDict[str, Entry] = collections.OrderedDict()
        self._seqs: dict[str, int] = {}
        self._limit = asyncio.Semaphore(CONCURRENT_LOOKUPS)

    def seq(self, domain: str) -> int | None:
        """The sequence number of the last root read at ``domain``."""
        return self._seqs.get(domain)

    async def resolve(self) -> list[Enr]:
        """Every node record of the trees and the trees they link to, once each."""
        found: dict[bytes, Enr] = {}
        queue, visited = list(self.links), set[str]()
        while queue and len(visited) < self._max_trees:
            link = queue.pop(0)
            if link.domain in visited:
                continue
            visited.add(link.domain)
            walk = await self._walk(link)
            if walk is None:
                continue
            for enr in walk.enrs:
                found.setdefault(enr.peer_id.to_bytes(), enr)
            queue += walk.links
        if queue:
            metrics.DNSDISC_REFUSED.labels("too_many_trees").inc()
            log.info("DNS discovery: more than %d linked trees; the rest left", self._max_trees)
        metrics.DNSDISC_RECORDS.set(len(found))
        return list(found.values())

    async def _walk(self, link: Link) -> TreeWalk | None:
        cache: dict[str, Entry] = dict(self._cache)
        walk = TreeWalk(link, last_seq=self._seqs.get(link.domain, -1), cache=cache)
        try:
            while not walk.done:
                names = walk.queries()
                if not names:
                    break
                answers = await asyncio.gather(*(self._txt(name) for name in names))
                for name, (texts, failure) in zip(names, answers, strict=True):
                    if failure is None:
                        walk.answer(name, texts)
                    else:
                        walk.lookup_failed(name, failure)
        except InvalidEnrTree as exc:
            metrics.DNSDISC_REFUSED.labels(exc.reason).inc()
            log.warning("DNS discovery: no nodes from tree %s: %s", link.domain, exc)
            return None
        for error in walk.errors:
            metrics.DNSDISC_REFUSED.labels(error.reason).inc()
            log.warning("DNS discovery: in tree %s: %s", link.domain, error)
        assert walk.root is not None
        self._seqs[link.domain] = walk.root.seq
        for hash_, entry in cache.items():
            self._cache[hash_] = entry
            self._cache.move_to_end(hash_)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        metrics.DNSDISC_CACHE.set(len(self._cache))
        return walk

    async def _txt(self, name: str) -> tuple[list[str], str | None]:
        """The TXT records at ``name`` (each record's strings joined), or why there are none."""
        async with self._limit:
            try:
                answer = await self._resolver.resolve(name, dns.rdatatype.TXT, search=False)
            except dns.resolver.NXDOMAIN:
                metrics.DNSDISC_LOOKUPS.labels("not_found").inc()
                return [], "the name server says no such name (NXDOMAIN)"
            except dns.resolver.NoAnswer:
                metrics.DNSDISC_LOOKUPS.labels("not_found").inc()
                return [], "the name server has no TXT record there"
            except dns.exception.DNSException as exc:
                metrics.DNSDISC_LOOKUPS.labels("failed").inc()
                return [], f"lookup failed ({type(exc).__name__})"
        metrics.DNSDISC_LOOKUPS.labels("ok").inc()
        texts = []
        for record in answer:
            try:
                texts.append(b"".join(record.strings).decode("ascii"))
            except UnicodeDecodeError:
                continue  # no tree entry is anything but ASCII
        return texts, None
