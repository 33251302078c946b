"""Mixed networks in the simulator (issue 19, item 3): light clients on filter and light push
through service nodes, store nodes, and a spammer contained by the relay's per-peer rate limit
and gossipsub's scoring. Small runs, a few seconds of CPU each."""

from __future__ import annotations

from typing import Any

from pystatus.sim.config import build
from pystatus.sim.run import simulate


def _run(**settings: Any) -> dict[str, Any]:
    report, _, _ = simulate(build(**settings))
    return report


def test_light_clients_get_every_message_by_filter_and_push_through_light_push() -> None:
    report = _run(nodes=100, messages=20, seed=5, light_fraction=0.1, store_fraction=0.02)
    assert report["light_nodes"] == 10 and report["store_nodes"] == 1
    assert report["delivered_fraction"] == 1.0
    light = report["light"]["counters"]
    assert light["filter_subscribe_200"] == 10
    pushed = sum(v for k, v in light.items() if k.startswith("lightpush_"))
    assert pushed == light.get("lightpush_200", 0) > 0
    assert light["store_answers"] == 10
    for protocol in ("filter", "lightpush", "store"):
        assert report["bandwidth"][protocol]["in"]["max"] > 0


def test_a_spammer_is_graylisted_by_its_neighbours_and_its_reach_shrinks() -> None:
    """100 spam messages a second for 4.5 s against a relay limit of 20 a second per peer."""
    common: dict[str, Any] = {
        "nodes": 100,
        "messages": 10,
        "message_rate": 2.0,
        "seed": 9,
        "spam_rate": 100.0,
    }
    unlimited = _run(**common)
    limited = _run(**common, peer_rate=20.0, peer_burst=40.0)
    assert unlimited["spam"]["neighbours_graylisting_spammer"] == 0
    spam = limited["spam"]
    # A neighbour that heard a spam message first from another peer never judged the
    # spammer's copy (a duplicate), so not quite every neighbour need graylist it.
    assert spam["neighbours_graylisting_spammer"] >= 0.8 * spam["neighbours"]
    assert (
        spam["neighbours_meshing_spammer"]
        <= spam["neighbours"] - spam["neighbours_graylisting_spammer"]
    )
    assert limited["relay"]["rejected"]["rate_limited"] > 0
    assert spam["deliveries"] < unlimited["spam"]["deliveries"] / 2
    # The limit costs honest traffic too: a peer forwarding the spam its own limit let
    # through can exceed the next hop's limit, and what is rejected once is never taken again.
    assert limited["delivered_fraction"] > 0.95
