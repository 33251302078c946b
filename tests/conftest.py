"""Shared test configuration: the hypothesis profile, and the xdist groups that keep the
heaviest tests from overlapping when the suite runs in several workers (``make test`` runs
``pytest -n PYTEST_WORKERS --dist loadgroup``; see the Makefile).

A test in a group runs on one worker, one after another with the rest of its group, so two
tests of one group never compete for the machine's two cores. The groups are named here, by
node id prefix, rather than in each file, so the one list shows what is kept apart and why.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=200
)
settings.load_profile("default")

XDIST_GROUPS: dict[str, tuple[str, ...]] = {
    # Pure CPU for tens of seconds (simulations on a virtual clock, twenty in-process nodes):
    # two of them side by side each take twice as long, and the time-bound ones fail.
    "cpu": (
        "tests/sim/test_mixed.py::test_a_spammer_is_graylisted",
        "tests/chat/test_simnet.py::test_any_interleaving_delivers",
        "tests/node/test_discv5_node.py::test_twenty_nodes_find_each_other",
    ),
    # Many real processes at once (networks of nodes, status-go, kill -9 and restart), each
    # waiting on the others under deadlines: one such test at a time.
    "processes": (
        "tests/testnet/test_scenarios.py::test_a_killed_sender",
        "tests/node/test_durability.py::test_kill_9_loses_nothing",
        "tests/interop/test_statusgo_chat.py::test_twenty_each_way_with_the_other_side_offline",
        "tests/bench/test_bandwidth.py::test_statusgo_light_runs_in_the_same_bench",
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    # Registered here too, so --strict-markers accepts the mark under -p no:xdist.
    config.addinivalue_line(
        "markers", "xdist_group(name): run on one xdist worker with the rest of the group"
    )


@pytest.hookimpl(trylast=True)  # after xdist's own hook, whose node id edit is lost (below)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        for group, prefixes in XDIST_GROUPS.items():
            if item.nodeid.startswith(prefixes):
                item.add_marker(pytest.mark.xdist_group(group))
                break
    if getattr(config.option, "loadgroup", False):  # set on xdist's workers under loadgroup
        for item in items:
            _suffix_group(item)


def _suffix_group(item: pytest.Item) -> None:
    """Give a grouped test the ``@<group>`` node id suffix that xdist's loadgroup scheduler
    reads. xdist 3.8 writes it to ``Item._nodeid``, which pytest 9.2 no longer reads (node ids
    are structured, in ``Item._id``), so without this every group is silently ignored
    (pytest-xdist issue 1386). Raises UsageError when this pytest has neither field, rather
    than run the groups' tests side by side unnoticed."""
    names = sorted(
        {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
    )
    if not names:
        return
    suffix = "@" + "_".join(names)
    if item.nodeid.endswith(suffix):
        return  # a pytest where xdist's own edit took effect
    structured = getattr(item, "_id", None)
    if structured is None:
        raise pytest.UsageError(f"cannot put {item.nodeid} in its xdist group: no Item._id")
    base = str(structured).removesuffix(suffix)
    item._id = type(structured).parse(base + suffix)
    assert item.nodeid.endswith(suffix), item.nodeid
