"""GET /health in nwaku's v0.37 shape: nodeHealth, then fifteen protocols in nwaku's order."""

from __future__ import annotations

from pathlib import Path

from pystatus.node import NodeConfig, RestConfig, WakuNode
from pystatus.node.config import FilterConfig, StoreConfig
from tests.api.rest import rest_client
from tests.p2p.hosts import wait_for, within

NWAKU_ORDER = [
    "Relay",
    "Rln Relay",
    "Lightpush",
    "Legacy Lightpush",
    "Filter",
    "Store",
    "Legacy Store",
    "Peer Exchange",
    "Rendezvous",
    "Mix",
    "Lightpush Client",
    "Legacy Lightpush Client",
    "Store Client",
    "Legacy Store Client",
    "Filter Client",
]


def _config(**overrides: object) -> NodeConfig:
    settings: dict[str, object] = {"listen_address": "127.0.0.1", "tcp_port": 0, "cluster_id": 1}
    return NodeConfig(**(settings | overrides))  # type: ignore[arg-type]


def _by_name(report: dict[str, object]) -> dict[str, tuple[str, str | None]]:
    entries = report["protocolsHealth"]
    assert isinstance(entries, list)
    names = [next(k for k in entry if k != "desc") for entry in entries]
    assert names == NWAKU_ORDER
    return {
        name: (entry[name], entry.get("desc")) for name, entry in zip(names, entries, strict=True)
    }


async def test_a_service_node_reports_as_nwaku_once_relay_has_a_peer(tmp_path: Path) -> None:
    config = _config(
        rest=RestConfig(port=0),
        store=StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3"),
        filter=FilterConfig(),
        lightpush=True,
        peer_exchange=True,
    )
    async with WakuNode(config) as service, rest_client(service) as api:
        alone = _by_name((await api.get("/health")).json())
        assert alone["Relay"] == ("NOT_READY", "No connected peers")
        assert alone["Lightpush"] == (
            "NOT_READY",
            "Node has no relay peers to fullfill push requests",
        )
        assert alone["Filter"][0] == "NOT_READY"
        async with WakuNode(_config()) as peer:
            await within(peer.connect(service.host.full_addrs()[0]))
            await wait_for(lambda: service.relay is not None and bool(service.relay.relay_peers()))
            report = (await api.get("/health")).json()
        assert report["nodeHealth"] == "READY"
        assert _by_name(report) == {
            "Relay": ("READY", None),
            "Rln Relay": ("NOT_MOUNTED", None),
            "Lightpush": ("READY", None),
            "Legacy Lightpush": ("READY", None),
            "Filter": ("READY", None),
            "Store": ("READY", None),
            "Legacy Store": ("NOT_MOUNTED", None),
            "Peer Exchange": ("READY", None),
            "Rendezvous": ("NOT_MOUNTED", None),
            "Mix": ("NOT_MOUNTED", None),
            "Lightpush Client": ("READY", None),
            "Legacy Lightpush Client": ("READY", None),
            "Store Client": ("READY", None),
            "Legacy Store Client": ("NOT_MOUNTED", None),
            "Filter Client": ("NOT_READY", "No Filter service peer available yet"),
        }


async def test_a_light_node_reports_its_service_peers() -> None:
    async with WakuNode(_config()) as service:
        addr = service.host.full_addrs()[0]
        config = _config(relay=False, rest=RestConfig(port=0), filternode=addr, lightpushnode=addr)
        async with WakuNode(config) as light, rest_client(light) as api:
            report = _by_name((await api.get("/health")).json())
    assert report["Relay"] == ("NOT_MOUNTED", None)
    assert report["Lightpush Client"] == ("READY", None)
    assert report["Filter Client"] == ("READY", None)
    assert report["Store Client"][0] == "NOT_READY"
