"""A connection sends what its streams wrote in one event-loop turn as one Noise frame.

An RPC (stream opened, multistream header and protocol line, length prefix, request, close)
used to cost a transport write and an 18-byte Noise frame per operation; the frames below are
read back by the peer's Noise transport and muxer, so the test also checks nothing was lost
or reordered.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from pystatus.p2p import metrics
from pystatus.p2p.connection import FLUSH_LIMIT, Connection
from pystatus.p2p.crypto.keys import Secp256k1PrivateKey
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.multistream import MULTISTREAM_PROTOCOL_ID, encode_line
from pystatus.p2p.muxer.base import MuxerSession
from pystatus.p2p.muxer.events import StreamData, StreamEnded, StreamOpened
from pystatus.p2p.muxer.mplex import MplexSession
from pystatus.p2p.muxer.yamux import YamuxSession
from pystatus.p2p.noise.cipher import CipherState
from pystatus.p2p.noise.transport import NoiseTransport
from pystatus.p2p.peer_id import PeerId
from pystatus.p2p.transport.base import RawConnection
from pystatus.p2p.varint import encode_uvarint


class RecordingRaw(RawConnection):
    """A transport that keeps every write (one list item per ``write`` call)."""

    def __init__(self) -> None:
        self.local_addr = Multiaddr.from_string("/ip4/127.0.0.1/tcp/1")
        self.remote_addr = Multiaddr.from_string("/ip4/127.0.0.1/tcp/2")
        self.is_initiator = True
        self.writes: list[bytes] = []
        self.written = asyncio.Event()

    async def read(self) -> bytes:
        await asyncio.Event().wait()  # the test never starts the read loop
        return b""

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.written.set()

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        return None

    async def wait_closed(self) -> None:
        return None


def _sessions(muxer: str) -> tuple[MuxerSession, MuxerSession]:
    if muxer == "yamux":
        return YamuxSession(is_initiator=True), YamuxSession(is_initiator=False)
    return MplexSession(is_initiator=True), MplexSession(is_initiator=False)


def _pair(muxer: str) -> tuple[Connection, RecordingRaw, NoiseTransport, MuxerSession]:
    key = os.urandom(32)
    raw = RecordingRaw()
    ours, theirs = _sessions(muxer)
    connection = Connection(
        raw,
        NoiseTransport(send=CipherState(key), receive=CipherState(os.urandom(32))),
        ours,
        remote_peer=PeerId.from_public_key(Secp256k1PrivateKey.generate().public_key),
        on_inbound_stream=lambda stream: None,
        on_closed=lambda connection: None,
    )
    peer_noise = NoiseTransport(send=CipherState(os.urandom(32)), receive=CipherState(key))
    return connection, raw, peer_noise, theirs


@pytest.mark.parametrize("muxer", ["yamux", "mplex"])
async def test_one_rpc_is_one_noise_frame(muxer: str) -> None:
    connection, raw, peer_noise, peer_session = _pair(muxer)
    request = b"a light push request" * 20
    negotiation = encode_line(MULTISTREAM_PROTOCOL_ID) + encode_line("/vac/waku/lightpush/3.0.0")
    before = metrics.COALESCED_WRITES._value.get()

    stream = connection.open_stream()
    await stream.write(negotiation)
    await stream.write(encode_uvarint(len(request)))
    await stream.write(request)
    await stream.close()
    async with asyncio.timeout(5):
        await raw.written.wait()
    await asyncio.sleep(0)  # one more loop turn: nothing else may follow

    assert len(raw.writes) == 1
    plaintexts = peer_noise.receive_data(raw.writes[0])
    assert len(plaintexts) == 1
    events = peer_session.receive_data(plaintexts[0])
    assert isinstance(events[0], StreamOpened)
    data = b"".join(e.data for e in events if isinstance(e, StreamData))
    assert data == negotiation + encode_uvarint(len(request)) + request
    assert isinstance(events[-1], StreamEnded)
    assert metrics.COALESCED_WRITES._value.get() - before >= 4


async def test_a_full_noise_message_of_data_is_sent_at_once() -> None:
    """Bounded: a writer that does not yield still reaches the transport (and its drain)."""
    connection, raw, peer_noise, peer_session = _pair("yamux")
    stream = connection.open_stream()
    taken = stream.write_nowait(b"x" * FLUSH_LIMIT)
    assert taken == FLUSH_LIMIT
    assert len(raw.writes) == 1  # before the loop turn ends
    plaintexts = peer_noise.receive_data(raw.writes[0])
    events = peer_session.receive_data(b"".join(plaintexts))
    assert sum(len(e.data) for e in events if isinstance(e, StreamData)) == FLUSH_LIMIT


async def test_what_a_closing_connection_holds_still_leaves() -> None:
    connection, raw, peer_noise, peer_session = _pair("yamux")
    stream = connection.open_stream()
    await stream.write(b"last words")
    await connection.close()
    await asyncio.sleep(0)
    assert len(raw.writes) == 1
    events = peer_session.receive_data(b"".join(peer_noise.receive_data(raw.writes[0])))
    assert b"".join(e.data for e in events if isinstance(e, StreamData)) == b"last words"
