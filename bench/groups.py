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
- **Community channel, hash ratchet**: the Messenger's send path for an encrypted community
  (``community_keys.seal_post``, status-go's SendCommunityMessage: the wrapped message under
  the community's key with an HRHeader, no bundle, sealed with the channel name's key, signed,
  on the channel's topic). Key distribution is shown apart, as the control node's
  ``CommunityKeys.control_change`` does it: a member admitted is sent the kept keys in one
  1:1 Double Ratchet message (SEND_TO_MEMBERS); a ban makes a new key sent 1:1 to each
  remaining member (pystatus sends no public RekeyGroup: see :mod:`pystatus.chat.community_keys`).

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

from pystatus.chat import community_control as control
from pystatus.chat import mvds
from pystatus.chat.actions import Action, Publish
from pystatus.chat.community import COMMUNITY_CHAT, member_key
from pystatus.chat.community_keys import CommunityKeys, seal_direct, seal_post
from pystatus.chat.encryption import EncryptionService
from pystatus.chat.group import GroupChats, outbox_entries
from pystatus.chat.hash_ratchet import HashRatchet
from pystatus.chat.hash_ratchet_exchange import KeyDistribution
from pystatus.chat.proto import chat_message_pb2
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, wrap
from pystatus.waku.message import WakuMessage

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
    """A new key to every remaining member after a ban (1:1 each)."""


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


def hash_ratchet_costs(sender: Sender, repeats: int) -> tuple[Cost, Cost, Cost]:
    """(one message, keys to a joining member, rekey after a ban), through the Messenger's
    own code: an encrypted community (``community_control.create(encrypted=True)``) whose keys
    :class:`~pystatus.chat.community_keys.CommunityKeys` makes and sends as members are
    admitted and banned, posts sealed by ``community_keys.seal_post``."""
    now_ms = sender.ns // 10**6
    private, community = control.create(
        sender.encryption.public_key, "bench", now_ms, manual_accept=True, encrypted=True
    )
    channel_id, community = control.add_channel(community, private, "general", now_ms)
    chat_id = community.id + channel_id
    members = [member_key(k) for k in sender.keys]
    joiners = members[-repeats:] if len(members) > repeats else members[1:]
    for member in members:
        if member not in joiners:
            community = control.add_member(community, private, member, now_ms)
    ratchet = HashRatchet("sender")
    keys = CommunityKeys(sender.identity)
    keys.control_change(community, ratchet, sender.encryption, now_ms)  # the first key
    admitted = []  # each joiner's admission, made before timing (signing is not key cost)
    for member in joiners:
        community = control.add_member(community, private, member, now_ms)
        admitted.append(community)

    def send(i: int) -> list[Publish]:
        body = _text(sender.ns // 10**6 + i, chat_id, COMMUNITY_CHAT)
        wrapped = wrap(body, MessageType.CHAT_MESSAGE, sender.identity)
        parts = seal_post(ratchet, sender.identity, community, chat_id, wrapped, 1 << 20)
        return [Publish(p.content_topic, p.payload, sender.ns, "public") for p in parts]

    message = _measure(repeats, send)

    def _sent(plan: KeyDistribution | None) -> list[Publish]:
        assert plan is not None
        return [
            Publish(p.content_topic, p.payload, sender.ns, "control")
            for recipient, m in plan.direct.items()
            for p in seal_direct(sender.encryption, sender.identity, recipient, m, 1 << 20)
        ]

    def join(i: int) -> list[Publish]:
        state = admitted[i % len(admitted)]
        return _sent(keys.control_change(state, ratchet, sender.encryption, now_ms))

    full = admitted[-1]
    banned = [control.ban(full, private, m, now_ms + 1) for m in members[:repeats]]

    def ban(i: int) -> list[Publish]:
        sender.now += 0.001  # each new key gets its own timestamp, hence its own id
        state = banned[i % len(banned)]
        return _sent(keys.control_change(state, ratchet, sender.encryption, sender.ns // 10**6))

    joins = _measure(len(admitted), join)
    keys.remember(full)
    return message, joins, _measure(max(1, repeats // 2), ban)


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
