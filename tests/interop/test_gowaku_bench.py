"""The go-waku bench end to end in a tiny configuration, so `make bench` cannot rot unseen."""

from __future__ import annotations

import pytest

from bench.gowaku import run_gowaku
from tests.interop.gowaku_peer import require_gowaku

pytestmark = pytest.mark.interop


async def test_gowaku_bench_measures_both_sides() -> None:
    require_gowaku()
    result = await run_gowaku(messages=200, samples=20, store_messages=2000)
    assert set(result.relay) == {"one link", "line of 5"}
    for ours, theirs in result.relay.values():
        for figures in (ours, theirs):
            assert figures.msgs_per_s > 0
            assert 0 < figures.p50_ms <= figures.p99_ms
            assert figures.cpu_us >= 0  # measured (NaN fails); /proc counts 10 ms ticks
        assert ours.delivered == 1.0
        assert 0 < theirs.delivered <= 1.0
    for store in result.store:
        assert store.messages == 2000
        assert 0 < store.p50_ms <= store.p99_ms
    assert 0 < result.hash_p50_ms <= result.hash_p99_ms
