"""Noise XX secure channel (libp2p/specs noise/README.md), sans-IO."""

from pystatus.p2p.noise.handshake import NOISE_PROTOCOL_ID, NoiseHandshake
from pystatus.p2p.noise.transport import NoiseTransport

__all__ = ["NOISE_PROTOCOL_ID", "NoiseHandshake", "NoiseTransport"]
