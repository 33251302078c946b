"""Networks a node joins by name (``--preset``): cluster, shards, message size limit and where
to find the first peers.

- ``twn``: The Waku Network, as nwaku's ``--preset=twn`` (cluster 1, 8 auto-sharded shards,
  150 KiB messages), found through the waku.sandbox fleet's tree. Its relay requires RLN
  proofs, which pystatus does not make: a node relays and serves, but what it publishes there
  is dropped by the others (said at start).
- ``status.prod`` and ``status.staging``: the Status fleets as status-go v1.1.0 lists them
  (``params/cluster.go``): cluster 16, status-go's default and non-protected shards (32 and
  64, ``protocol/common/shard/shard.go``), 1 MiB messages, the fleet's DNS tree, and the
  fleet's discv5 bootstrap records (``DiscV5BootstrapNodes``).

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
    discv5_bootstrap_nodes: tuple[str, ...] = ()
    """``enr:`` records discv5 starts from with ``--discv5-discovery`` when no
    ``--discv5-bootstrap-node`` is given (the trees' records are added to them when DNS
    discovery runs too)."""
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
            discv5_bootstrap_nodes=(
                (
                    "enr:-QEKuED9AJm2HGgrRpVaJY2nj68ao_QiPeUT43sK-aRM7sMJ6R4G11OSDOwnvVacgN1sTw-K"
                    "7soC5dzHDFZgZkHU0u-XAYJpZIJ2NIJpcISnYxMvim11bHRpYWRkcnO4WgAqNiVib290LTAxLmRv"
                    "LWFtczMuc3RhdHVzLnByb2Quc3RhdHVzLmltBnZfACw2JWJvb3QtMDEuZG8tYW1zMy5zdGF0dXMu"
                    "cHJvZC5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAAgAEAiXNlY3AyNTZrMaEC3rRtFQSgc24u"
                    "WewzXaxTY8hDAHB8sgnxr9k8Rjb5GeSDdGNwgnZfg3VkcIIjKIV3YWt1Mg0"
                ),
                (
                    "enr:-QEcuED7ww5vo2rKc1pyBp7fubBUH-8STHEZHo7InjVjLblEVyDGkjdTI9VdqmYQOn95vuQH"
                    "-Htku17WSTzEufx-Wg4mAYJpZIJ2NIJpcIQihw1Xim11bHRpYWRkcnO4bAAzNi5ib290LTAxLmdj"
                    "LXVzLWNlbnRyYWwxLWEuc3RhdHVzLnByb2Quc3RhdHVzLmltBnZfADU2LmJvb3QtMDEuZ2MtdXMt"
                    "Y2VudHJhbDEtYS5zdGF0dXMucHJvZC5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAAgAEAiXNl"
                    "Y3AyNTZrMaECxjqgDQ0WyRSOilYU32DA5k_XNlDis3m1VdXkK9xM6kODdGNwgnZfg3VkcIIjKIV3"
                    "YWt1Mg0"
                ),
                (
                    "enr:-QEcuEAoShWGyN66wwusE3Ri8hXBaIkoHZHybUB8cCPv5v3ypEf9OCg4cfslJxZFANl90s-j"
                    "mMOugLUyBx4EfOBNJ6_VAYJpZIJ2NIJpcIQI2hdMim11bHRpYWRkcnO4bAAzNi5ib290LTAxLmFj"
                    "LWNuLWhvbmdrb25nLWMuc3RhdHVzLnByb2Quc3RhdHVzLmltBnZfADU2LmJvb3QtMDEuYWMtY24t"
                    "aG9uZ2tvbmctYy5zdGF0dXMucHJvZC5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAAgAEAiXNl"
                    "Y3AyNTZrMaEDP7CbRk-YKJwOFFM4Z9ney0GPc7WPJaCwGkpNRyla7mCDdGNwgnZfg3VkcIIjKIV3"
                    "YWt1Mg0"
                ),
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
            discv5_bootstrap_nodes=(
                (
                    "enr:-QEQuEDsh6FgAb_36cReaX7W4gWx_7_GNpsUki7bXMoMrrrWij5pDEyV3guR-urDW_6GJTAz"
                    "pQiJV61F-CfNn_NxPbY-AYJpZIJ2NIJpcISPxvrpim11bHRpYWRkcnO4YAAtNihib290LTAxLmRv"
                    "LWFtczMuc2hhcmRzLnN0YWdpbmcuc3RhdHVzLmltBnZfAC82KGJvb3QtMDEuZG8tYW1zMy5zaGFy"
                    "ZHMuc3RhZ2luZy5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAAgAEAiXNlY3AyNTZrMaEDIH8B"
                    "cuEzgnmwPQTu7BPYyg4u4om7K9qekKA2gT_H2wSDdGNwgnZfg3VkcIIjKIV3YWt1Mg0"
                ),
                (
                    "enr:-QEiuED2UusuHo1d6WN2-tHjtj0T0gdnsOh7aRZnFF6OEYLDbyxOtQo2_4dFUHhc9xm5SHNr"
                    "WJJq8X7FRsxc4VCMGjjbAYJpZIJ2NIJpcIRoxQVgim11bHRpYWRkcnO4cgA2NjFib290LTAxLmdj"
                    "LXVzLWNlbnRyYWwxLWEuc3RhdHVzLnN0YWdpbmcuc3RhdHVzLmltBnZfADg2MWJvb3QtMDEuZ2Mt"
                    "dXMtY2VudHJhbDEtYS5zdGF0dXMuc3RhZ2luZy5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAA"
                    "gAEAiXNlY3AyNTZrMaEDNAvlGjekD1YV4WpmjwArGAH2g9kHFJnMRfgUhcIkoA2DdGNwgnZfg3Vk"
                    "cIIjKIV3YWt1Mg0"
                ),
                (
                    "enr:-QEiuECJPv2vL00Jp5sTEMAFyW7qXkK2cFgphlU_G8-FJuJqoW_D5aWIy3ylGdv2K8DkiG7P"
                    "Wgng4Ql_VI7Qc2RhBdwfAYJpZIJ2NIJpcIQvTKi6im11bHRpYWRkcnO4cgA2NjFib290LTAxLmFj"
                    "LWNuLWhvbmdrb25nLWMuc3RhdHVzLnN0YWdpbmcuc3RhdHVzLmltBnZfADg2MWJvb3QtMDEuYWMt"
                    "Y24taG9uZ2tvbmctYy5zdGF0dXMuc3RhZ2luZy5zdGF0dXMuaW0GAbveA4Jyc40AEAUAAQAgAEAA"
                    "gAEAiXNlY3AyNTZrMaEDkbgV7oqPNmFtX5FzSPi9WH8kkmrPB1R3n9xRXge91M-DdGNwgnZfg3Vk"
                    "cIIjKIV3YWt1Mg0"
                ),
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
