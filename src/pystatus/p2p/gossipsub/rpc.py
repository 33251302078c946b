"""The pubsub RPC on the wire: decoding with limits, and encoding in reusable fragments.

An RPC is a protobuf whose fields may be concatenated: each published message is encoded once
as a ``publish`` field and the same bytes are joined into every peer's RPC. The control field
is singular, and js-libp2p keeps only the last one it reads, so each RPC carries at most one.
"""

from __future__ import annotations

from google.protobuf.message import DecodeError as ProtobufDecodeError

from pystatus.p2p.errors import DecodeError, LimitExceeded
from pystatus.p2p.gossipsub.params import GossipsubParams
from pystatus.p2p.gossipsub.proto import gossipsub_rpc_pb2 as pb
from pystatus.p2p.varint import encode_uvarint

RELAY_PROTOCOL_ID = "/vac/waku/relay/2.0.0"
RPC = pb.RPC
Message = pb.Message
ControlMessage = pb.ControlMessage
ControlPrune = pb.ControlPrune
ControlGraft = pb.ControlGraft

_SUBSCRIPTIONS_TAG = b"\x0a"
_PUBLISH_TAG = b"\x12"
_CONTROL_TAG = b"\x1a"


def decode_rpc(data: bytes, params: GossipsubParams) -> pb.RPC:
    if len(data) > params.max_rpc_size:
        raise LimitExceeded(f"RPC of {len(data)} bytes")
    rpc = pb.RPC()
    try:
        rpc.ParseFromString(data)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"malformed pubsub RPC: {exc}") from exc
    if len(rpc.subscriptions) > params.max_topics_per_rpc:
        raise LimitExceeded(f"RPC carries {len(rpc.subscriptions)} subscriptions")
    if rpc.HasField("control"):
        control = rpc.control
        ids = sum(len(ihave.messageIDs) for ihave in control.ihave)
        ids += sum(len(iwant.messageIDs) for iwant in control.iwant)
        ids += sum(len(idw.messageIDs) for idw in control.idontwant)
        if ids > 4 * params.max_ihave_length:
            raise LimitExceeded(f"RPC control names {ids} message ids")
        topics = len(control.graft) + len(control.prune) + len(control.ihave)
        if topics > params.max_topics_per_rpc:
            raise LimitExceeded(f"RPC control names {topics} topics")
    return rpc


def strict_no_sign_violation(message: pb.Message) -> str | None:
    """StrictNoSign (Waku relay): a message must carry none of the author fields."""
    for name in ("from", "seqno", "signature", "key"):
        if message.HasField(name):
            return f"message carries {name!r}"
    return None


def _field(tag: bytes, payload: bytes) -> bytes:
    return tag + encode_uvarint(len(payload)) + payload


def publish_fragment(topic: str, data: bytes) -> bytes:
    return _field(_PUBLISH_TAG, pb.Message(data=data, topic=topic).SerializeToString())


def subscription_fragment(topic: str, subscribe: bool) -> bytes:
    return _field(
        _SUBSCRIPTIONS_TAG,
        pb.RPC.SubOpts(subscribe=subscribe, topicid=topic).SerializeToString(),
    )


def control_fragment(control: pb.ControlMessage) -> bytes:
    return _field(_CONTROL_TAG, control.SerializeToString())
