"""Reliable delivery: the lossy scenario beside the same traffic on a clean network.

Both runs are ``pystatus testnet`` networks of node processes (alice - relay and store - bob)
sending the same messages at the same rate; the clean run is the reference the lossy run's
latency and bytes per delivered message are compared with.
"""

from __future__ import annotations

import asyncio

from pystatus.testnet.scenario import SCENARIOS, Report, Scenario, run_scenario

CLEAN = Scenario("clean", "no faults: the reference")


async def _both(messages: int, rate: float) -> tuple[Report, Report]:
    lossy = await run_scenario(SCENARIOS["lossy"], messages=messages, rate=rate)
    clean = await run_scenario(CLEAN, messages=messages, rate=rate)
    return lossy, clean


def run_reliability(messages: int, rate: float) -> tuple[Report, Report]:
    return asyncio.run(_both(messages, rate))
