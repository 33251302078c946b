"""The host's configuration: one keyword-only dataclass, validated when built."""

from __future__ import annotations

from dataclasses import dataclass

from pystatus import __version__
from pystatus.errors import ConfigError
from pystatus.p2p.crypto.keys import PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.muxer.mplex import MPLEX_PROTOCOL_ID
from pystatus.p2p.muxer.yamux import YAMUX_PROTOCOL_ID


@dataclass(frozen=True, kw_only=True, slots=True)
class HostConfig:
    identity: PrivateKey
    """The node's libp2p identity key (secp256k1 on the Waku network)."""

    listen_addrs: tuple[Multiaddr, ...] = ()
    """Where to listen: ``/ip4/0.0.0.0/tcp/60000`` and ``/ip4/0.0.0.0/tcp/8000/ws`` forms."""

    announce_addrs: tuple[Multiaddr, ...] = ()
    """Addresses advertised instead of the bound ones (``--nat=extip:IP``)."""

    muxers: tuple[str, ...] = (YAMUX_PROTOCOL_ID, MPLEX_PROTOCOL_ID)
    """Stream muxers in order of preference when dialing."""

    agent_version: str = f"pystatus/{__version__}"

    handshake_timeout: float = 10.0
    """Seconds a new connection has to finish security and muxer negotiation."""

    negotiate_timeout: float = 10.0
    """Seconds a new stream has to agree on a protocol."""

    identify_timeout: float = 5.0
    """Seconds to wait for a peer's identify reply."""

    dial_timeout: float = 10.0

    max_connections: int = 300
    """Connections in both directions; inbound connections over this are refused."""

    max_streams_per_connection: int = 1024

    max_peers_in_store: int = 1000

    def __post_init__(self) -> None:
        for name in ("handshake_timeout", "negotiate_timeout", "identify_timeout", "dial_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_connections < 1:
            raise ConfigError("max_connections must be at least 1")
        if self.max_streams_per_connection < 1:
            raise ConfigError("max_streams_per_connection must be at least 1")
        unknown = [m for m in self.muxers if m not in (YAMUX_PROTOCOL_ID, MPLEX_PROTOCOL_ID)]
        if unknown or not self.muxers:
            raise ConfigError(f"unsupported muxers {unknown or 'none'}; use yamux and/or mplex")
