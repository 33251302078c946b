"""DNS discovery over real DNS: a local authoritative server (dnspython) serves trees the test
builds and signs; the resolver follows links, picks up a new root, refuses forged ones."""

from __future__ import annotations

import dns.zone
import pytest
from prometheus_client import REGISTRY

from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.waku.dns_discovery import (
    DnsDiscovery,
    InvalidNameServer,
    parse_name_server,
    zone_text,
)
from pystatus.waku.enr import Enr
from pystatus.waku.enrtree import Root, build_tree
from tests.waku.dns_server import TxtServer


def _records(count: int, port: int = 60000) -> list[Enr]:
    return [
        Enr.build(Secp256k1PrivateKey.generate(), ip="127.0.0.1", tcp=port + i)
        for i in range(count)
    ]


def _refused(reason: str) -> float:
    return REGISTRY.get_sample_value("waku_dnsdisc_refused_total", {"reason": reason}) or 0.0


async def test_trees_and_linked_trees_are_read_and_a_new_root_picked_up() -> None:
    key, linked_key = Secp256k1PrivateKey.generate(), Secp256k1PrivateKey.generate()
    nodes, more = _records(30), _records(5, 61000)
    linked, linked_records = build_tree(linked_key, "more.example.org", more)
    link, records = build_tree(key, "nodes.example.org", nodes, [linked])
    async with TxtServer({**records, **linked_records}).running() as server:
        discovery = DnsDiscovery([link.to_url()], [server.address])
        found = await discovery.resolve()
        assert {e.peer_id for e in found} == {e.peer_id for e in [*nodes, *more]}
        assert discovery.seq("nodes.example.org") == 1

        added = _records(2, 62000)
        _, newer = build_tree(key, "nodes.example.org", [*nodes, *added], [linked], seq=2)
        server.records.update(newer)
        server.queries.clear()
        found = await discovery.resolve()
        assert {e.peer_id for e in added} <= {e.peer_id for e in found}
        assert discovery.seq("nodes.example.org") == 2
        # Unchanged entries come from the cache: only the root and the new path are asked.
        assert len(server.queries) < 12


async def test_forged_and_replayed_roots_are_refused_and_counted() -> None:
    key = Secp256k1PrivateKey.generate()
    link, first = build_tree(key, "nodes.example.org", _records(3), seq=5)
    async with TxtServer(first).running() as server:
        discovery = DnsDiscovery([link.to_url()], [server.address])
        assert len(await discovery.resolve()) == 3

        before = _refused("signature")
        root = Root.from_text(first["nodes.example.org"])
        forged = Root(root.enr_root, root.link_root, 6).signed(Secp256k1PrivateKey.generate())
        server.records["nodes.example.org"] = forged.to_text()
        assert await discovery.resolve() == []
        assert _refused("signature") == before + 1

        before = _refused("stale")
        _, older = build_tree(key, "nodes.example.org", _records(1), seq=4)
        server.records.update(older)
        assert await discovery.resolve() == []
        assert _refused("stale") == before + 1


async def test_a_domain_without_a_tree_gives_nothing_and_no_error() -> None:
    key = Secp256k1PrivateKey.generate()
    link, _ = build_tree(key, "nodes.example.org", _records(1))
    async with TxtServer({}).running() as server:
        silent = DnsDiscovery([link.to_url()], [server.address], timeout=1.0)
        assert await silent.resolve() == []
        assert server.queries == ["nodes.example.org"]


def test_the_zone_file_parses_back_to_the_same_records() -> None:
    key = Secp256k1PrivateKey.generate()
    _, records = build_tree(key, "nodes.example.org", _records(20))
    text = zone_text("nodes.example.org", records)
    zone = dns.zone.from_text(
        text, origin="nodes.example.org", relativize=False, check_origin=False
    )
    read = {
        name.to_text(omit_final_dot=True): b"".join(rdata.strings).decode()
        for name, rdataset in zone.iterate_rdatasets("TXT")
        for rdata in rdataset
    }
    assert read == records


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1.1.1.1", ("1.1.1.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
    ],
)
def test_name_servers(text: str, parsed: tuple[str, int]) -> None:
    assert parse_name_server(text) == parsed


@pytest.mark.parametrize("text", ["dns.google", "1.1.1.1:x", "[::1]5353", "1.1.1.1:70000", ""])
def test_bad_name_servers_are_refused(text: str) -> None:
    with pytest.raises(InvalidNameServer):
        parse_name_server(text)
