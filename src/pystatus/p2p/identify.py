"""libp2p identify and identify push (libp2p/specs identify/README.md): the message codec.

The message travels as one varint-length-prefixed protobuf, after which the sender closes its
side. Listen addresses we cannot parse are skipped (and counted), not fatal: peers advertise
transports we do not speak.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import DecodeError as ProtobufDecodeError

from pystatus.p2p.crypto.keys import PublicKey, public_key_from_protobuf
from pystatus.p2p.errors import DecodeError, P2PError
from pystatus.p2p.multiaddr import Multiaddr
from pystatus.p2p.proto import identify_pb2

IDENTIFY_PROTOCOL_ID = "/ipfs/id/1.0.0"
IDENTIFY_PUSH_PROTOCOL_ID = "/ipfs/id/push/1.0.0"
PROTOCOL_VERSION = "ipfs/0.1.0"
# js-libp2p refuses identify messages over 8 KiB; ours stay well under, and we accept up to 64.
MAX_IDENTIFY_SIZE = 64 * 1024
MAX_LISTEN_ADDRS = 64
MAX_PROTOCOLS = 256
MAX_PROTOCOL_LENGTH = 256


@dataclass(frozen=True, slots=True)
class IdentifyInfo:
    protocol_version: str
    agent_version: str
    public_key: PublicKey | None
    listen_addrs: tuple[Multiaddr, ...]
    observed_addr: Multiaddr | None
    protocols: tuple[str, ...]
    skipped_addrs: int = 0


def encode_identify(
    *,
    public_key: PublicKey,
    listen_addrs: list[Multiaddr],
    protocols: list[str],
    observed_addr: Multiaddr | None,
    agent_version: str,
    protocol_version: str = PROTOCOL_VERSION,
) -> bytes:
    message = identify_pb2.Identify(
        protocolVersion=protocol_version,
        agentVersion=agent_version,
        publicKey=public_key.to_protobuf(),
        listenAddrs=[addr.decapsulate_p2p().to_bytes() for addr in listen_addrs],
        protocols=protocols,
    )
    if observed_addr is not None:
        message.observedAddr = observed_addr.to_bytes()
    return message.SerializeToString()


def decode_identify(data: bytes) -> IdentifyInfo:
    if len(data) > MAX_IDENTIFY_SIZE:
        raise DecodeError(f"identify message of {len(data)} bytes is too large")
    message = identify_pb2.Identify()
    try:
        message.ParseFromString(data)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"malformed identify message: {exc}") from exc
    public_key = None
    if message.HasField("publicKey"):
        public_key = public_key_from_protobuf(message.publicKey)
    if len(message.protocols) > MAX_PROTOCOLS:
        raise DecodeError(f"identify lists {len(message.protocols)} protocols")
    protocols = tuple(p for p in message.protocols if 0 < len(p) <= MAX_PROTOCOL_LENGTH)
    addrs: list[Multiaddr] = []
    skipped = 0
    for raw in message.listenAddrs[:MAX_LISTEN_ADDRS]:
        try:
            addrs.append(Multiaddr.from_bytes(raw))
        except P2PError:
            skipped += 1
    skipped += max(0, len(message.listenAddrs) - MAX_LISTEN_ADDRS)
    observed = None
    if message.HasField("observedAddr"):
        try:
            observed = Multiaddr.from_bytes(message.observedAddr)
        except P2PError:
            observed = None
    return IdentifyInfo(
        protocol_version=message.protocolVersion,
        agent_version=message.agentVersion,
        public_key=public_key,
        listen_addrs=tuple(addrs),
        observed_addr=observed,
        protocols=protocols,
        skipped_addrs=skipped,
    )
