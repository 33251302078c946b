"""The web bench end to end at a tiny size (3 messages a path), so `make bench` cannot rot
unseen: both paths are measured and the table shows their ratio."""

from __future__ import annotations

from bench.web import run_web, web_table


async def test_web_bench_measures_both_paths() -> None:
    results = await run_web(3)
    assert set(results) == {"browser", "rest"}
    for p50, p99 in results.values():
        assert 0 < p50 <= p99 < 20_000
    table = web_table(results, 3)
    assert [c.header for c in table.columns][-1] == "ratio (browser/REST)"
    assert table.row_count == 2
