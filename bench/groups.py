"""Private group against community channel (issue 17, item 5): the cost of ONE message, in
bytes on the wire and sender CPU, for groups of 10, 50 and 200.

- **Private group** (status-go v1.1.0 ``protocol/messenger_group_chat.go`` and
  ``messenger.go`` dispatchMessage): the sender's ``ChatSession`` holds an established Double
  Ratchet session with each member (bundles exchanged and one message each way first); the
  message is ``GroupChats.message`` (a signed MembershipUpdateMessage carrying every event of
  the group), one MVDS outbox entry per member (``group.outbox_entries``), queued and sent at
  the next MVDS epoch (``ChatSession.handle_timer``): one Waku message per member.
- **Community channel, unencrypted**: the wrapped ChatMessage through
  ``ChatSession.send_public`` (status-go's SendPublic: public message with our bundle, sealed
  with the channel name's key): one Waku message whatever the size.
- **Community channel, hash ratchet**: pystatus's send path for encrypted channels is not
  wired yet, so the pieces status-go's SendCommunityMessage chains are called here in its
  order (``message_sender.go`` sendCommunity, dispatchCommunityChatMessage): the wrapped
  message under the group's key (``HashRatchet.encrypt``, BuildHashRatchetMessage, no
  bundle), the serialised ProtocolMessage sealed with the channel name's key, signed, on the
  channel's topic. Key distribution is shown apart: a member joining is sent the kept keys in
  one 1:1 message (SEND_TO_MEMBERS); a ban makes a new key sent 1:1 to each remaining member
  plus one public RekeyGroup message (``hash_ratchet_exchange.distribute``, status-go's
  RekeyCompatibility).

Bytes are the encoded Waku messages as published (protobuf ``WakuMessage``, RFC 26 version 1
payload with padding and signature), summed. CPU is ``time.process_time`` of this process
around the send path (median of ``repeats`` messages); the Messenger's database commit is left
out (the sans-IO session is measured). Building the members' accounts costs several seconds of
CPU at 200 members.

Run: ``nice -n 10 python -m bench --only groups`` or ``python -m bench.groups [sizes...]``.
status-go's own group message beside pystatus's: :mod:`bench.groups_statusgo` (a group of 3).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import coincurve
from rich.console import Console
from rich.table import Table

from pystatus.chat import mvds, topics
from pystatus.chat.actions import Action, Publish
from pystatus.chat.community import COMMUNITY_CHAT
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.group import GroupChats, outbox_entries
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import KeyActionType, distribute, plan_key_action
from pystatus.chat.membership import key_text
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.segmentation import segment
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import encrypt_asymmetric, encrypt_symmetric

SIZES = (10, 50, 200)
T0_NS = 1_800_000_000 * 10**9
TEXT = "x" * 100
"""The message's text: 100 characters, a typical chat line."""
COMMUNITY = "0x02" + "42" * 32
CHANNEL = COMMUNITY + "0f3d2c1b-0000-4000-8000-00000000bench"


@dataclass(frozen=True, slots=True)
class Cost:
    """One send: Waku messages published, their encoded bytes summed, sender CPU (µs)."""

    messages: int
    wire_bytes: int
    cpu_us: float


@dataclass(frozen=True, slots=True)
class SizeResult:
    members: int
    group: Cost
    public: Cost
    hash_ratchet: Cost
    join_keys: Cost
    """Keys to one joining member."""
    ban_rekey: Cost
    """A new key to every remaining member after a ban (1:1 each plus one public)."""


def _wire(publishes: Iterable[Publish]) -> tuple[int, int]:
    sizes = [
        len(WakuMessage(p.payload, p.content_topic, version=1, timestamp=p.timestamp_ns).encode())
        for p in publishes
    ]
    return len(sizes), sum(sizes)


def _measure(repeats: int, send: Callable[[int], list[Publish]]) -> Cost:
    """Run ``send(i)`` ``repeats`` times; the median CPU and the last one's bytes."""
    cpu: list[float] = []
    count = total = 0
    for i in range(repeats):
        start = time.process_time()
        publishes = send(i)
        cpu.append((time.process_time() - start) * 1e6)
        count, total = _wire(publishes)
    return Cost(count, total, statistics.median(cpu))


def _text(clock: int, chat_id: str = "", message_type: int = 0) -> bytes:
    message = chat_message_pb2.ChatMessage(
        clock=clock,
        timestamp=clock,
        text=TEXT,
        chat_id=chat_id,
        content_type=chat_message_pb2.ChatMessage.TEXT_PLAIN,
    )
    if message_type:
        message.message_type = message_type  # type: ignore[assignment]
    return message.SerializeToString()


class Sender:
    """The sender's ChatSession and ``members - 1`` member accounts with established Double
    Ratchet sessions both ways (member side: a bare EncryptionService)."""

    def __init__(self, members: int, seed: int = 1) -> None:
        self.now = 1000.0
        self.identity = coincurve.PrivateKey().secret
        self.encryption = EncryptionService(self.identity, "sender", clock=lambda: self.ns)
        self.session = ChatSession(
            self.identity,
            self.encryption,
            config=ReliabilityConfig(resend_interval=30.0, max_sends=3),
            segment_size=1 << 20,
            mvds_state=mvds.MVDS(rng=random.Random(seed), resend_interval=30.0, max_sends=3),
        )
        self.session.set_connected(True, self.now)
        self.others: list[EncryptionService] = []
        for i in range(members - 1):
            other = EncryptionService(coincurve.PrivateKey().secret, f"m{i}", clock=lambda: self.ns)
            self.encryption.add_bundle(other.own_bundle())
            other.add_bundle(self.encryption.own_bundle())
            # One message each way: the ratchets have left X3DH, as in a running chat.
            hello = self.encryption.encrypt(other.public_key, b"hello")
            other.decrypt(self.encryption.public_key, hello)
            reply = other.encrypt(self.encryption.public_key, b"hello back")
            self.encryption.decrypt(other.public_key, reply)
            self.others.append(other)

    @property
    def ns(self) -> int:
        return T0_NS + int(self.now * 1e9)

    @property
    def keys(self) -> list[bytes]:
        return [o.public_key for o in self.others]

    def advance(self, seconds: float = 1.0) -> list[Action]:
        """Move the clock by ``seconds`` (past the MVDS epoch) and run the session's timers."""
        self.now += seconds
        return self.session.handle_timer(self.now, self.ns)


def group_cost(sender: Sender, repeats: int) -> Cost:
    groups = GroupChats(sender.identity, sender.encryption.public_key)
    created = groups.create("bench", sender.keys, sender.ns // 10**6)
    chat_id = created.group.chat_id
    sender.session.queue(outbox_entries(sender.session, created, "created", sender.ns), sender.now)
    sender.advance()

    def send(i: int) -> list[Publish]:
        clock = groups.next_clock(sender.ns // 10**6)
        message = chat_message_pb2.ChatMessage.FromString(_text(clock))
        out = groups.message(chat_id, message)
        entries = outbox_entries(sender.session, out, f"m{i}", sender.ns)
        sender.session.queue(entries, sender.now)
        return [a for a in sender.advance() if isinstance(a, Publish)]

    return _measure(repeats, send)


def public_cost(sender: Sender, repeats: int) -> Cost:
    def send(i: int) -> list[Publish]:
        body = _text(sender.ns // 10**6 + i, CHANNEL, COMMUNITY_CHAT)
        wrapped = wrap(body, MessageType.CHAT_MESSAGE, sender.identity)
        actions = sender.session.send_public(CHANNEL, wrapped, sender.ns, [f"p{i}"])
        return [a for a in actions if isinstance(a, Publish)]

    return _measure(repeats, send)


def _channel_publishes(identity: bytes, serialized: bytes, now_ns: int) -> list[Publish]:
    """status-go's transport.SendPublic on the channel's chat id: sealed with the key of its
    name, signed, segmented when large."""
    key = topics.public_chat_key(CHANNEL)
    topic = topics.public_chat_content_topic(CHANNEL)
    return [
        Publish(topic, encrypt_symmetric(part, key, signer=identity), now_ns, "public")
        for part in segment(serialized, 1 << 20)
    ]


def _direct_publishes(sender: Sender, recipient: bytes, message: pb.ProtocolMessage) -> Publish:
    """A 1:1 ProtocolMessage on the contact's negotiated topic (partitioned without one), as
    one_to_one.seal_private places it."""
    secret = sender.encryption.negotiated(recipient)
    serialized = message.SerializeToString()
    if secret is not None:
        key = topics.negotiated_key(secret)
        payload = encrypt_symmetric(serialized, key, signer=sender.identity)
        return Publish(topics.negotiated_content_topic(secret), payload, sender.ns, "control")
    payload = encrypt_asymmetric(serialized, recipient, signer=sender.identity)
    return Publish(topics.partitioned_content_topic(recipient), payload, sender.ns, "control")


def hash_ratchet_costs(sender: Sender, repeats: int) -> tuple[Cost, Cost, Cost]:
    """(one message, keys to a joining member, rekey after a ban)."""
    group_id = CHANNEL.encode()
    ratchet = HashRatchet("sender")
    ratchet.new_key(group_id, sender.ns // 10**6)

    def send(i: int) -> list[Publish]:
        body = _text(sender.ns // 10**6 + i, CHANNEL, COMMUNITY_CHAT)
        wrapped = wrap(body, MessageType.CHAT_MESSAGE, sender.identity)
        serialized = ratchet.encrypt(group_id, wrapped).SerializeToString()
        return _channel_publishes(sender.identity, serialized, sender.ns)

    message = _measure(repeats, send)
    members = [key_text(k) for k in sender.keys]

    def join(_: int) -> list[Publish]:
        action = plan_key_action(
            was_encrypted=True,
            is_encrypted=True,
            control_node_changed=False,
            members=members,
            added=members[:1],
        )
        assert action.type is KeyActionType.SEND_TO_MEMBERS
        plan = distribute(ratchet, sender.encryption, group_id, action, sender.ns // 10**6)
        return [_direct_publishes(sender, r, m) for r, m in plan.direct.items()]

    def ban(i: int) -> list[Publish]:
        banned = members[i % len(members)]
        action = plan_key_action(
            was_encrypted=True,
            is_encrypted=True,
            control_node_changed=False,
            members=[m for m in members if m != banned],
            removed=[banned],
        )
        assert action.type is KeyActionType.REKEY
        sender.now += 0.001  # each new key gets its own timestamp, hence its own id
        plan = distribute(ratchet, sender.encryption, group_id, action, sender.ns // 10**6)
        out = [_direct_publishes(sender, r, m) for r, m in plan.direct.items()]
        assert plan.public is not None
        return out + _channel_publishes(sender.identity, plan.public.SerializeToString(), sender.ns)

    return message, _measure(repeats, join), _measure(max(1, repeats // 2), ban)


def run_groups(sizes: Iterable[int] = SIZES, repeats: int = 5) -> list[SizeResult]:
    results = []
    for size in sizes:
        sender = Sender(size)
        group = group_cost(sender, repeats)
        public = public_cost(sender, repeats)
        hr, join, ban = hash_ratchet_costs(sender, repeats)
        results.append(SizeResult(size, group, public, hr, join, ban))
    return results


def _kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def groups_table(results: list[SizeResult]) -> Table:
    table = Table(title="groups: the cost of one 100-character message (sender side), by members")
    for column in ("members", "form", "Waku messages", "KiB on the wire", "sender CPU (ms)"):
        table.add_column(column, justify="right")
    for r in results:
        rows = [
            ("private group (DR + MVDS)", r.group),
            ("community, unencrypted", r.public),
            ("community, hash ratchet", r.hash_ratchet),
            ("  HR keys to one joiner", r.join_keys),
            ("  HR rekey on a ban", r.ban_rekey),
        ]
        for name, cost in rows:
            table.add_row(
                str(r.members),
                name,
                f"{cost.messages:,}",
                _kib(cost.wire_bytes),
                f"{cost.cpu_us / 1000:,.2f}",
            )
    table.caption = (
        "Bytes: encoded Waku messages as published, summed. CPU: process time, median of 5 "
        "(rekey: of 2). Community relay fan-out and store are the network's, not the sender's."
    )
    return table


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or list(SIZES)
    Console(width=120).print(groups_table(run_groups(sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
