"""The bandwidth bench end to end in a tiny configuration (two short messages per run)."""

from __future__ import annotations

import pytest

from bench.bandwidth import SHARD, run_bandwidth
from bench.bandwidth_floor import floor_parts
from bench.bandwidth_report import GROUPS, Run, bandwidth_tables, comparisons, grouped
from pystatus.p2p.bandwidth import OVERHEAD, Bytes
from tests.interop.statusgo_peer import require_statusgo

RELAY = "/vac/waku/relay/2.0.0"
FILTER_PUSH = "/vac/waku/filter-push/2.0.0-beta1"
LIGHTPUSH = GROUPS["lpush"]


def _check_sums(run: Run) -> None:
    for _, measured in run.measured():
        socket = measured.bandwidth.socket.total
        # The columns split the socket's bytes: none lost, none counted twice.
        assert sum(grouped(measured.bandwidth).values()) == socket
        assert measured.bandwidth.overhead.total > 0
        assert all(
            value.inbound >= 0 and value.outbound >= 0
            for value in measured.bandwidth.buckets.values()
        )


async def test_relay_and_light_runs_measure_every_message() -> None:
    runs = await run_bandwidth(2, ("short",), statusgo=None, settle=0.2)
    run, light = runs
    assert run.failure is None
    assert (run.delivered, run.acknowledged) == (2, 2)
    assert run.payload > 0
    assert run.sender is not None and run.receiver is not None
    _check_sums(run)
    # Each message went out over relay, at least its payload's worth, and came in likewise.
    assert run.sender.bandwidth[RELAY].outbound >= run.payload
    assert run.receiver.bandwidth[RELAY].inbound >= run.payload
    assert set(run.sender.bandwidth.buckets) - {RELAY, *OVERHEAD} <= {
        "/vac/waku/store-query/3.0.0",
        "/ipfs/ping/1.0.0",
        "/ipfs/id/1.0.0",
        "/vac/waku/metadata/1.0.0",
    }
    # Two light clients: no relay, light push out, filter in.
    assert light.failure is None
    assert (light.delivered, light.acknowledged) == (2, 2)
    assert light.payload > 0
    assert light.sender is not None and light.receiver is not None
    _check_sums(light)
    assert light.sender.bandwidth[RELAY] == light.receiver.bandwidth[RELAY] == Bytes()
    assert sum(light.sender.bandwidth[codec].outbound for codec in LIGHTPUSH) >= light.payload
    assert light.receiver.bandwidth[FILTER_PUSH].inbound >= light.payload
    # The floor is one: each light side spent at least what it says the protocols need.
    published = light.published
    assert published is not None and published.sender_count >= 2
    assert published.receiver_count >= 1
    floor = floor_parts(
        published.sender_bytes / published.sender_count,
        published.receiver_bytes / published.receiver_count,
        published.receiver_count / light.delivered,
        SHARD,
    )
    for role, measured in light.measured():
        spent = measured.bandwidth.socket.total / light.delivered
        assert sum(p.bytes for p in floor if p.side == role) <= spent, role
    totals, parts = bandwidth_tables(runs)
    assert totals.row_count == parts.row_count == 4
    assert len(parts.columns) == 3 + len(GROUPS)
    assert any("light" in line for line in comparisons(runs))


@pytest.mark.timeout(300)
async def test_statusgo_light_runs_in_the_same_bench() -> None:
    """status-go in light mode receives from and sends to a pystatus account; skipped with the
    reason when its peer is not built (failed under PYSTATUS_REQUIRE_PEERS=1)."""
    binary = require_statusgo()
    runs = await run_bandwidth(
        2, ("short",), statusgo=binary, pystatus=False, settle=1.5, ack_grace=1.0
    )
    assert [run.go_sends for run in runs] == [False, True]
    for run in runs:
        assert run.failure is None, run.failure
        assert run.delivered == 2
        assert run.payload > 0
        _check_sums(run)
        go = run.sender if run.go_sends else run.receiver
        assert go is not None and go.libp2p is not None
        assert go.libp2p.socket.total > 0
        # status-go is a light client: no relay; it sent by light push, received by filter.
        assert go.bandwidth[RELAY].total == 0
        if run.go_sends:
            # go-waku of status-go v1.1.0 speaks light push v2.
            pushed = sum(go.bandwidth[codec].outbound for codec in LIGHTPUSH)
            assert pushed >= run.payload, go.bandwidth
        else:
            assert go.bandwidth[FILTER_PUSH].inbound >= run.payload
    assert comparisons(runs) != []
