"""The discovery bench end to end in a tiny configuration: eight nodes, a target of three
peers, one new node per method; go-waku's side too when its peer is built."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from bench.discovery import METHODS, TRIAL_LIMIT, DiscoveryResult, discovery_table, run_discovery
from tests.interop.gowaku_peer import gowaku_binary


def _render(result: DiscoveryResult) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(discovery_table(result))
    return console.export_text()


async def test_each_method_brings_a_new_pystatus_node_to_its_target() -> None:
    result = await run_discovery(8, 3, 1, gowaku=False)
    assert set(result.pystatus) == set(METHODS)
    for method, times in result.pystatus.items():
        assert len(times) == 1, method
        assert 0 < times[0] < TRIAL_LIMIT, method
    assert result.gowaku == {} and result.gowaku_missing == "not asked"
    text = _render(result)
    assert all(method in text for method in METHODS)
    assert "go-waku not run: not asked" in text


async def test_go_waku_side_by_side() -> None:
    if gowaku_binary()[0] is None:
        pytest.skip(gowaku_binary()[1])
    result = await run_discovery(8, 3, 1)
    assert set(result.gowaku) == set(METHODS), result.gowaku_missing
    for method in METHODS:
        assert 0 < result.gowaku[method][0] < TRIAL_LIMIT, method
    assert "(lower is better)" in _render(result)


def test_a_target_the_network_cannot_meet_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        asyncio.run(run_discovery(3, 3, 1, gowaku=False))
