"""The groups bench's small run (bench/groups.py): a private group's message costs one Waku
message per member, a community channel's one, whatever the size; a rekey after a ban one per
remaining member. About a second of CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.groups import groups_table, run_groups
from bench.groups_statusgo import run_side_by_side
from tests.interop.statusgo_peer import require_statusgo


def test_group_cost_grows_with_members_and_channel_cost_does_not() -> None:
    small, large = run_groups([3, 6], repeats=2)
    assert small.group.messages == 2 and large.group.messages == 5, "one per other member"
    assert large.group.wire_bytes > 2 * small.group.wire_bytes, "N messages, each with all events"
    for r in (small, large):
        assert r.public.messages == 1 and r.hash_ratchet.messages == 1
        assert r.join_keys.messages == 1
        assert r.ban_rekey.messages == r.members - 2, "1:1 to each member left"
        for cost in (r.group, r.public, r.hash_ratchet, r.join_keys, r.ban_rekey):
            assert cost.wire_bytes > 0 and cost.cpu_us > 0
    assert small.hash_ratchet.wire_bytes == large.hash_ratchet.wire_bytes
    assert groups_table([small, large]).row_count == 10


@pytest.mark.interop
@pytest.mark.slow
async def test_status_go_and_pystatus_send_a_group_text_alike(tmp_path: Path) -> None:
    """One text in a group of 3, from status-go and from pystatus: one Waku message per other
    member each, of about the same size (10 to 20 s: a status-go peer and two accounts)."""
    require_statusgo()
    result = await run_side_by_side(tmp_path)
    statusgo, ours = result["status-go"], result["pystatus"]
    assert len(statusgo) == 2 and len(ours) == 2, result
    assert abs(sum(ours) - sum(statusgo)) < 0.1 * sum(statusgo), result
