"""A discrete-event simulator of a Waku network running the real sans-IO cores (issue 19).

- :mod:`~pystatus.sim.config`: the knobs (TOML and flags)
- :mod:`~pystatus.sim.network`: topology, link latency, uplink queues
- :mod:`~pystatus.sim.relaynode`: the gossipsub router with Waku relay's validation
- :mod:`~pystatus.sim.services`: light clients (filter, light push) and store queries
- :mod:`~pystatus.sim.runner`: the event loop on the virtual clock
- :mod:`~pystatus.sim.report` and :mod:`~pystatus.sim.plots`: the JSON report, PNG plots
- :mod:`~pystatus.sim.run`: one call that does it all and measures what the run cost
"""
