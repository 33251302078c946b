"""Connection upgrade: raw transport -> multistream -> Noise XX -> multistream -> muxer.

The protocol cores are sans-IO; this module only moves their bytes between them and the
transport, in the order libp2p/specs connections/README.md gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pystatus.p2p.crypto.keys import PrivateKey
from pystatus.p2p.errors import ConnectionClosed, NegotiationError
from pystatus.p2p.multistream import MultistreamDialer, MultistreamListener, Negotiated
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.mplex import MPLEX_PROTOCOL_ID, MplexSession
from pystatus.p2p.muxer.yamux import YAMUX_PROTOCOL_ID, YamuxSession
from pystatus.p2p.noise.handshake import NOISE_PROTOCOL_ID, NoiseHandshake
from pystatus.p2p.noise.transport import NoiseTransport
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.transport.base import RawConnection

MuxerFactory = Callable[[bool], MuxerSession]


@dataclass(frozen=True, slots=True)
class MuxerOptions:
    """Per-connection stream limits handed to every muxer session."""

    max_streams: int = 1024


def muxer_factories(options: MuxerOptions) -> dict[str, MuxerFactory]:
    def yamux(initiator: bool) -> MuxerSession:
        return YamuxSession(is_initiator=initiator, max_streams=options.max_streams)

    def mplex(initiator: bool) -> MuxerSession:
        return MplexSession(is_initiator=initiator, max_streams=options.max_streams)

    return {YAMUX_PROTOCOL_ID: yamux, MPLEX_PROTOCOL_ID: mplex}


@dataclass(slots=True)
class UpgradedConnection:
    """A secured, multiplexed connection not yet driven. ``handshake_in``/``handshake_out``:
    the bytes the upgrade itself exchanged, without those it read past its end (the
    ``initial_plaintext`` and its framing, and a partial Noise frame), which the connection
    counts when it handles them."""

    raw: RawConnection
    noise: NoiseTransport
    session: MuxerSession
    remote_peer: PeerId
    initial_plaintext: bytes
    handshake_in: int = 0
    handshake_out: int = 0


class _Tally:
    """The raw connection as the upgrade uses it, counting its bytes each way."""

    __slots__ = ("inbound", "outbound", "raw")

    def __init__(self, raw: RawConnection) -> None:
        self.raw = raw
        self.inbound = 0
        self.outbound = 0

    async def read(self) -> bytes:
        data = await self.raw.read()
        self.inbound += len(data)
        return data

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.outbound += len(data)


async def _negotiate_raw(
    raw: _Tally, machine: MultistreamDialer | MultistreamListener
) -> Negotiated:
    while True:
        out = machine.data_to_send()
        if out:
            raw.write(out)
        data = await raw.read()
        if not data:
            raise ConnectionClosed("peer closed during security negotiation")
        result = machine.receive_data(data)
        if result is not None:
            out = machine.data_to_send()
            if out:
                raw.write(out)
            return result


async def _handshake(raw: _Tally, handshake: NoiseHandshake, leftover: bytes) -> None:
    if leftover:
        handshake.receive_data(leftover)
    while True:
        out = handshake.data_to_send()
        if out:
            raw.write(out)
        if handshake.complete:
            return
        data = await raw.read()
        if not data:
            raise ConnectionClosed("peer closed during the noise handshake")
        handshake.receive_data(data)


async def _negotiate_secure(
    raw: _Tally,
    noise: NoiseTransport,
    machine: MultistreamDialer | MultistreamListener,
) -> Negotiated:
    pending = noise.pending_plaintext()
    while True:
        out = machine.data_to_send()
        if out:
            raw.write(noise.encrypt(out))
        if pending:
            result = machine.receive_data(b"".join(pending))
            pending = []
        else:
            data = await raw.read()
            if not data:
                raise ConnectionClosed("peer closed during muxer negotiation")
            result = machine.receive_data(b"".join(noise.receive_data(data)))
        if result is not None:
            out = machine.data_to_send()
            if out:
                raw.write(noise.encrypt(out))
            return result


async def upgrade(
    raw: RawConnection,
    *,
    identity: PrivateKey,
    muxers: Sequence[str],
    muxer_options: MuxerOptions,
    expected_peer: PeerId | None = None,
) -> UpgradedConnection:
    """Secure and multiplex ``raw``. The caller bounds the time this may take."""
    tally = _Tally(raw)
    initiator = raw.is_initiator
    security: MultistreamDialer | MultistreamListener
    if initiator:
        security = MultistreamDialer([NOISE_PROTOCOL_ID])
    else:
        security = MultistreamListener([NOISE_PROTOCOL_ID])
    negotiated = await _negotiate_raw(tally, security)
    handshake = NoiseHandshake(identity=identity, initiator=initiator, expected_peer=expected_peer)
    await _handshake(tally, handshake, negotiated.leftover)
    noise = handshake.into_transport()
    factories = muxer_factories(muxer_options)
    offered = [muxer for muxer in muxers if muxer in factories]
    if not offered:
        raise NegotiationError("no supported muxer configured")
    selector: MultistreamDialer | MultistreamListener
    selector = MultistreamDialer(offered) if initiator else MultistreamListener(offered)
    chosen = await _negotiate_secure(tally, noise, selector)
    session = factories[chosen.protocol](initiator)
    return UpgradedConnection(
        raw=raw,
        noise=noise,
        session=session,
        remote_peer=handshake.remote_peer_id,
        initial_plaintext=chosen.leftover,
        handshake_in=tally.inbound - len(chosen.leftover) - noise.buffered,
        handshake_out=tally.outbound,
    )
