"""Chat on the simulated network (issue 19, item 1): ChatSessions on relay nodes exchange 1:1
texts end to end through the real routers, and each sender sees its texts delivered (the
MVDS acks came back). A few seconds of CPU."""

from __future__ import annotations

from pystatus.sim.config import build
from pystatus.sim.run import simulate


def test_chat_pairs_exchange_texts_and_see_them_delivered() -> None:
    report, _, _ = simulate(build(nodes=80, messages=5, seed=4, chat_pairs=3, chat_messages=6))
    chat = report["chat"]
    assert chat["accounts"] == 6
    assert chat["sent"] == 18
    assert chat["received"] == 18
    assert chat["delivered_status"] == 18
    assert chat["counters"].get("rejected", 0) == 0
    assert not any(k.startswith("unhandled_") for k in chat["counters"])
    # A text crosses a few 40 ms links after waiting for its MVDS batch (300 ms at most).
    assert 0 < chat["arrival_ms"]["p50"] <= chat["arrival_ms"]["max"] < 1000
    assert chat["arrival_ms"]["p50"] <= chat["delivered_status_ms"]["p50"]
    assert report["delivered_fraction"] == 1.0
