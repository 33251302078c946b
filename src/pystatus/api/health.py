"""GET /health as nwaku (v0.37) reports it: the node's state and one entry per protocol.

Follows nwaku's ``waku/node/health_monitor/node_health_monitor.nim`` (``getNodeHealthReport``)
and ``waku/rest_api/endpoint/health/types.nim``: ``{"nodeHealth": "READY", "protocolsHealth":
[{"Relay": "NOT_READY", "desc": "No connected peers"}, {"Rln Relay": "NOT_MOUNTED"}, ...]}``,
fifteen protocols in nwaku's order, each ``READY``, ``NOT_READY`` (with ``desc``, why) or
``NOT_MOUNTED``. Protocols pystatus lacks (RLN relay, the legacy store, rendezvous, mix) are
``NOT_MOUNTED``, as on an nwaku node started without them.
"""

from __future__ import annotations

import enum

from pystatus.node.node import WakuNode


class HealthStatus(enum.Enum):
    INITIALIZING = "INITIALIZING"
    SYNCHRONIZING = "SYNCHRONIZING"
    READY = "READY"
    NOT_READY = "NOT_READY"
    NOT_MOUNTED = "NOT_MOUNTED"
    SHUTTING_DOWN = "SHUTTING_DOWN"


_Entry = tuple[str, HealthStatus, str | None]
_Status = tuple[HealthStatus, str | None]
_READY: _Status = (HealthStatus.READY, None)
_NOT_MOUNTED: _Status = (HealthStatus.NOT_MOUNTED, None)


def _not_ready(why: str) -> _Status:
    return HealthStatus.NOT_READY, why


def protocols_health(node: WakuNode) -> list[_Entry]:
    """(protocol, status, why not ready) for each protocol, in nwaku's order."""
    config = node.config
    relay_ready = node.relay is not None and bool(node.relay.relay_peers())
    if node.relay is None:
        relay = _NOT_MOUNTED
    elif relay_ready:
        relay = _READY
    else:
        relay = _not_ready("No connected peers")
    serves_lightpush = config.lightpush and node.lightpush_server is not None
    if not serves_lightpush:
        lightpush = _NOT_MOUNTED
    elif relay_ready:
        lightpush = _READY
    else:
        lightpush = _not_ready("Node has no relay peers to fullfill push requests")
    if node.filter_server is None:
        filter_ = _NOT_MOUNTED
    elif relay_ready:
        filter_ = _READY
    else:
        filter_ = _not_ready("Relay is not ready, filter will not be able to sort out messages")
    store = _READY if node.store is not None else _NOT_MOUNTED
    # This node pushes through its own relay when it has one (REST light push).
    if config.lightpushnode is not None or (node.relay is not None and relay_ready):
        lightpush_client = _READY
    else:
        lightpush_client = _not_ready("No Lightpush service peer available yet")
    if config.storenode is not None or node.store is not None:
        store_client = _READY
    else:
        store_client = _not_ready(
            "No Store service peer available yet, neither Store service set up for the node"
        )
    if config.filternode is not None:
        filter_client = _READY
    else:
        filter_client = _not_ready("No Filter service peer available yet")
    statuses = [
        ("Relay", relay),
        ("Rln Relay", _NOT_MOUNTED),
        ("Lightpush", lightpush),
        ("Legacy Lightpush", lightpush),
        ("Filter", filter_),
        ("Store", store),
        ("Legacy Store", _NOT_MOUNTED),
        ("Peer Exchange", _READY if config.peer_exchange else _NOT_MOUNTED),
        ("Rendezvous", _NOT_MOUNTED),
        ("Mix", _NOT_MOUNTED),
        ("Lightpush Client", lightpush_client),
        ("Legacy Lightpush Client", lightpush_client),
        ("Store Client", store_client),
        ("Legacy Store Client", _NOT_MOUNTED),
        ("Filter Client", filter_client),
    ]
    return [(name, status, why) for name, (status, why) in statuses]


def health_report(node: WakuNode) -> dict[str, object]:
    """The JSON body of GET /health for a started node (``nodeHealth`` READY)."""
    entries: list[dict[str, str]] = []
    for name, status, why in protocols_health(node):
        entry = {name: status.value}
        if why is not None:
            entry["desc"] = why
        entries.append(entry)
    return {"nodeHealth": HealthStatus.READY.value, "protocolsHealth": entries}
