"""Networks a node joins by name (``--preset``): cluster, shards, message size limit and where
to find the first peers.

- ``twn``: The Waku Network, as nwaku's ``--preset=twn`` (cluster 1, 8 auto-sharded shards,
  150 KiB messages), found through the waku.sandbox fleet's tree. Its relay requires RLN
  proofs, which pystatus does not make: a node relays and serves, but what it publishes there
  is dropped by the others (said at start).
- ``status.prod`` and ``status.staging``: the Status fleets as status-go v1.1.0 lists them
  (``params/cluster.go``): cluster 16, status-go's default and non-protected shards (32 and
  64, ``protocol/common/shard/shard.go``), 1 MiB messages, the fleet's DNS tree.

Flags given beside a preset win over its values.
"""

from __future__ import annotations

from dataclasses import dataclass

from pystatus.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    cluster_id: int
    shards: tuple[int, ...]
    num_shards_in_network: int
    max_message_size: int
    """Bytes."""
    dns_discovery_urls: tuple[str, ...]
    warning: str = ""
    """Said at start: what this node cannot do on that network."""


PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            name="twn",
            cluster_id=1,
            shards=tuple(range(8)),
            num_shards_in_network=8,
            max_message_size=150 * 1024,
            dns_discovery_urls=(
                "enrtree://AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O"
                "@sandbox.waku.nodes.status.im",
            ),
            warning="The Waku Network drops relay messages without RLN proofs, which pystatus "
            "does not make: what this node publishes there will not spread",
        ),
        Preset(
            name="status.prod",
            cluster_id=16,
            shards=(32, 64),
            num_shards_in_network=8,
            max_message_size=1024 * 1024,
            dns_discovery_urls=(
                "enrtree://AMOJVZX4V6EXP7NTJPMAYJYST2QP6AJXYW76IU6VGJS7UVSNDYZG4"
                "@boot.prod.status.nodes.status.im",
            ),
        ),
        Preset(
            name="status.staging",
            cluster_id=16,
            shards=(32, 64),
            num_shards_in_network=8,
            max_message_size=1024 * 1024,
            dns_discovery_urls=(
                "enrtree://AI4W5N5IFEUIHF5LESUAOSMV6TKWF2MB6GU2YK7PU4TYUGUNOCEPW"
                "@boot.staging.status.nodes.status.im",
            ),
        ),
    )
}


def preset(name: str) -> Preset:
    """The preset called ``name``. Raises :class:`ConfigError` naming the known ones."""
    try:
        return PRESETS[name.lower()]
    except KeyError:
        raise ConfigError(f"--preset {name!r}: known presets are {', '.join(PRESETS)}") from None
