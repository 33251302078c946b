"""The fault layer's decisions: seeded, in the proportions asked, refusing nonsense."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pystatus.p2p.faults import REORDER_HOLD, FaultPlan, InvalidFaultPlan, LinkFaults


def test_a_plan_parses_from_text_and_prints_back() -> None:
    plan = FaultPlan.parse("loss=0.2, delay=0.05,duplicate=0.01,reorder=0.1,seed=7")
    assert plan == FaultPlan(loss=0.2, delay=0.05, duplicate=0.01, reorder=0.1, seed=7)
    assert FaultPlan.parse(str(plan)) == plan
    assert not FaultPlan().active and plan.active


@pytest.mark.parametrize("text", ["loss=2", "loss=-0.1", "delay=-1", "jitter=1", "loss=", "seed=x"])
def test_nonsense_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidFaultPlan):
        FaultPlan.parse(text)


@given(st.text(max_size=60))
def test_parsing_any_text_raises_only_invalid_fault_plan(text: str) -> None:
    with contextlib.suppress(InvalidFaultPlan):
        FaultPlan.parse(text)


def test_losses_and_copies_come_in_the_proportions_asked() -> None:
    faults = LinkFaults(FaultPlan(loss=0.2, duplicate=0.1), random.Random(1))
    delivered = [faults.apply(b"frame") for _ in range(10_000)]
    dropped = sum(1 for d in delivered if not d)
    doubled = sum(1 for d in delivered if len(d) == 2)
    assert 1_800 < dropped < 2_200
    assert 650 < doubled < 950  # 10% of the 80% that got through
    assert faults.counts.dropped == dropped and faults.counts.duplicated == doubled


def test_reordered_frames_are_held_back_behind_later_ones() -> None:
    faults = LinkFaults(FaultPlan(reorder=1.0), random.Random(2))
    assert faults.apply(b"a") == [(REORDER_HOLD, b"a")]
    plain = LinkFaults(FaultPlan(delay=0.1), random.Random(3))
    delays = [plain.apply(b"x")[0][0] for _ in range(1000)]
    assert min(delays) >= 0 and max(delays) <= 0.2
    assert 0.09 < sum(delays) / len(delays) < 0.11


def test_the_same_seed_makes_the_same_decisions() -> None:
    first = LinkFaults(FaultPlan(loss=0.5, seed=9))
    second = LinkFaults(FaultPlan(loss=0.5, seed=9))
    assert [first.apply(b"f") for _ in range(100)] == [second.apply(b"f") for _ in range(100)]
