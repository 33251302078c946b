"""discv5 sessions and the WHOAREYOU handshake (discv5-theory.md, "Sessions"), sans-IO.

:class:`SessionLayer` turns plaintext messages for a (node id, UDP endpoint) into datagrams
and datagrams back into messages. It owns the three tables the handshake needs, each bounded
and measured: the session cache (LRU, keyed by node id *and* endpoint, as the spec demands
against spoofing), the WHOAREYOU challenges we sent, and the peers we sent a first packet to
(with the messages queued behind it). Nothing here reads a clock: ``now`` is monotonic
seconds, passed in.

Initiator: ``send`` without a session sends random bytes as an ordinary message packet and
remembers the plaintext; the peer's WHOAREYOU (matched by nonce) is answered with a handshake
packet carrying that plaintext under the new initiator key, and the queued messages follow
under the same session. Recipient: an undecryptable message packet gets a WHOAREYOU; a
handshake packet matching a stored challenge is verified (record, id-signature), and its
message opens the session.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import coincurve

from pystatus.waku.discv5 import crypto, packet
from pystatus.waku.discv5 import metrics as m
from pystatus.waku.discv5.errors import PacketError
from pystatus.waku.discv5.messages import Message, decode_message
from pystatus.waku.discv5.packet import HandshakeAuth, MessageAuth, WhoareyouAuth
from pystatus.waku.enr import Enr
from pystatus.waku.errors import InvalidEnr

Endpoint = tuple[str, int]
Datagram = tuple[bytes, Endpoint]
Rng = Callable[[int], bytes]

MAX_QUEUED_PER_PEER = 16


@dataclass(slots=True)
class _Session:
    write_key: bytes
    read_key: bytes
    counter: int = 0


@dataclass(slots=True)
class _Challenge:
    challenge_data: bytes
    record: Enr | None
    sent_at: float


@dataclass(slots=True)
class _Initiation:
    """A first packet sent without a session, and the messages queued behind it."""

    sent_at: float
    queued: list[bytes] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sent:
    """What a packet we sent carried, kept until a WHOAREYOU might name its nonce."""

    key: tuple[bytes, Endpoint]
    record: Enr | None
    plaintext: bytes
    sent_at: float


@dataclass(frozen=True, slots=True)
class Incoming:
    """An authenticated message from ``node_id`` at ``endpoint``; ``record`` when the packet
    was a handshake that carried one (already verified)."""

    node_id: bytes
    endpoint: Endpoint
    message: Message
    record: Enr | None


class SessionLayer:
    """Sessions, challenges and handshakes for one local node.

    ``secret`` is our 32-byte static key, ``known_record(node_id)`` returns the record we
    hold for a node (or ``None``), ``rng(n)`` gives n random bytes, ``protocol_id`` is the
    6-byte network name of the header (Waku's "d5waku" unless told otherwise). Limits:
    ``max_sessions`` (LRU), ``max_challenges`` and ``max_initiations`` (oldest dropped),
    ``handshake_timeout`` seconds for a challenge or a first packet to be answered.
    ``whoareyou_timeout`` (seconds, by default ``handshake_timeout``) is how long a WHOAREYOU
    naming one of our packets is still answered: the core gives the time its request waits,
    as go-ethereum answers a WHOAREYOU while the call it challenges is active
    (p2p/discover/v5_udp.go, matchWithCall).
    """

    def __init__(
        self,
        secret: bytes,
        local_record: Enr,
        *,
        known_record: Callable[[bytes], Enr | None],
        rng: Rng,
        max_sessions: int = 1024,
        max_challenges: int = 1024,
        max_initiations: int = 1024,
        handshake_timeout: float = 1.0,
        whoareyou_timeout: float | None = None,
        protocol_id: bytes = packet.WAKU_PROTOCOL_ID,
    ) -> None:
        self._secret = secret
        self._protocol_id = protocol_id
        self.local_record = local_record
        self.local_id = crypto.node_id(local_record)
        self._known_record = known_record
        self._rng = rng
        self._max_sessions = max_sessions
        self._max_challenges = max_challenges
        self._max_initiations = max_initiations
        self._handshake_timeout = handshake_timeout
        self._whoareyou_timeout = (
            handshake_timeout if whoareyou_timeout is None else whoareyou_timeout
        )
        self._sessions: OrderedDict[tuple[bytes, Endpoint], _Session] = OrderedDict()
        self._challenges: OrderedDict[tuple[bytes, Endpoint], _Challenge] = OrderedDict()
        self._initiations: OrderedDict[tuple[bytes, Endpoint], _Initiation] = OrderedDict()
        self._sent: OrderedDict[bytes, _Sent] = OrderedDict()

    # -- sizes and teardown -----------------------------------------------------------------

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    def has_session(self, node_id: bytes, endpoint: Endpoint) -> bool:
        return (node_id, endpoint) in self._sessions

    def close(self) -> None:
        """Forget everything (the gauges go back down by what this layer held)."""
        m.SESSIONS.dec(len(self._sessions))
        m.CHALLENGES.dec(len(self._challenges))
        m.HANDSHAKES_PENDING.dec(len(self._initiations))
        self._sessions.clear()
        self._challenges.clear()
        self._initiations.clear()
        self._sent.clear()

    def expire(self, now: float) -> None:
        """Forget challenges and first packets older than the handshake timeout, and packets
        sent longer ago than a WHOAREYOU may name them (oldest first: the tables are kept in
        the order entries were last written)."""
        limit = now - self._handshake_timeout
        while self._challenges and next(iter(self._challenges.values())).sent_at < limit:
            self._challenges.popitem(last=False)
            m.CHALLENGES.dec()
        while self._initiations and next(iter(self._initiations.values())).sent_at < limit:
            self._initiations.popitem(last=False)
            m.HANDSHAKES_PENDING.dec()
        sent_limit = now - self._whoareyou_timeout
        while self._sent and next(iter(self._sent.values())).sent_at < sent_limit:
            self._sent.popitem(last=False)

    # -- sending -----------------------------------------------------------------------------

    def send(
        self,
        node_id: bytes,
        endpoint: Endpoint,
        plaintext: bytes,
        now: float,
        *,
        record: Enr | None = None,
    ) -> list[Datagram]:
        """Datagrams carrying ``plaintext`` (type || RLP) to ``node_id`` at ``endpoint``.

        Without a session this starts a handshake, which needs the node's ``record`` (or the
        one ``known_record`` gives); it queues behind a handshake in progress (up to 16
        messages, beyond which the oldest is dropped and counted). Raises
        :class:`PacketError` (``record``) when no record is known to handshake with.
        """
        key = (node_id, endpoint)
        session = self._sessions.get(key)
        if session is not None:
            self._sessions.move_to_end(key)
            datagram, nonce = self._seal(node_id, session, plaintext)
            self._remember(nonce, _Sent(key, record, plaintext, now))
            return [(datagram, endpoint)]
        if record is None:
            record = self._known_record(node_id)
        if record is None:
            raise PacketError("record", "no record to start a handshake with")
        pending = self._initiations.get(key)
        if pending is not None and now - pending.sent_at < self._handshake_timeout:
            if len(pending.queued) >= MAX_QUEUED_PER_PEER:
                pending.queued.pop(0)
                m.DROPPED.labels("queue_full").inc()
            pending.queued.append(plaintext)
            return []
        nonce = self._rng(packet.NONCE_SIZE)
        datagram = packet.encode_message(
            dest_id=node_id,
            src_id=self.local_id,
            masking_iv=self._rng(16),
            nonce=nonce,
            key=self._rng(16),
            plaintext=self._rng(20),
            protocol_id=self._protocol_id,
        )
        queued = pending.queued if pending is not None else []
        if pending is None:
            m.HANDSHAKES_PENDING.inc()
            if len(self._initiations) >= self._max_initiations:
                self._initiations.popitem(last=False)
                m.HANDSHAKES_PENDING.dec()
                m.ERRORS.labels("initiations_full").inc()
        self._initiations[key] = _Initiation(now, queued)
        self._initiations.move_to_end(key)
        self._remember(nonce, _Sent(key, record, plaintext, now))
        return [(datagram, endpoint)]

    def _remember(self, nonce: bytes, sent: _Sent) -> None:
        # As many as the initiation table: a WHOAREYOU answers within the handshake timeout.
        self._sent[nonce] = sent
        while len(self._sent) > self._max_initiations:
            self._sent.popitem(last=False)

    def _seal(self, node_id: bytes, session: _Session, plaintext: bytes) -> tuple[bytes, bytes]:
        # Spec advice: a 32-bit message counter then 64 random bits keep GCM nonces unique.
        session.counter = (session.counter + 1) & 0xFFFFFFFF
        nonce = session.counter.to_bytes(4, "big") + self._rng(8)
        datagram = packet.encode_message(
            dest_id=node_id,
            src_id=self.local_id,
            masking_iv=self._rng(16),
            nonce=nonce,
            key=session.write_key,
            plaintext=plaintext,
            protocol_id=self._protocol_id,
        )
        return datagram, nonce

    def _store_session(self, key: tuple[bytes, Endpoint], session: _Session) -> None:
        if key not in self._sessions:
            m.SESSIONS.inc()
            if len(self._sessions) >= self._max_sessions:
                self._sessions.popitem(last=False)
                m.SESSIONS.dec()
                m.SESSIONS_EVICTED.inc()
        self._sessions[key] = session
        self._sessions.move_to_end(key)

    # -- receiving ---------------------------------------------------------------------------

    def receive(
        self, data: bytes, endpoint: Endpoint, now: float
    ) -> tuple[list[Datagram], Incoming | None]:
        """(datagrams to send, the message if one was authenticated) for one datagram.

        Raises :class:`PacketError` for anything that must be dropped; the caller counts it.
        """
        decoded = packet.decode_packet(data, self.local_id, self._protocol_id)
        auth = decoded.auth
        if isinstance(auth, MessageAuth):
            return self._on_message(decoded, auth, endpoint, now)
        if isinstance(auth, WhoareyouAuth):
            return self._on_whoareyou(decoded, auth, endpoint, now), None
        return self._on_handshake(decoded, auth, endpoint, now)

    def _on_message(
        self, decoded: packet.Packet, auth: MessageAuth, endpoint: Endpoint, now: float
    ) -> tuple[list[Datagram], Incoming | None]:
        key = (auth.src_id, endpoint)
        session = self._sessions.get(key)
        if session is not None:
            try:
                plaintext = packet.open_message(decoded, session.read_key)
            except PacketError:
                pass  # stale keys on their side: challenge them again, below
            else:
                self._sessions.move_to_end(key)
                message = decode_message(plaintext)
                return [], Incoming(auth.src_id, endpoint, message, None)
        return [self._challenge(auth.src_id, endpoint, decoded.nonce, now)], None

    def _challenge(self, src_id: bytes, endpoint: Endpoint, nonce: bytes, now: float) -> Datagram:
        record = self._known_record(src_id)
        datagram, challenge_data = packet.encode_whoareyou(
            dest_id=src_id,
            masking_iv=self._rng(16),
            nonce=nonce,
            id_nonce=self._rng(16),
            enr_seq=record.seq if record is not None else 0,
            protocol_id=self._protocol_id,
        )
        key = (src_id, endpoint)
        if key not in self._challenges:
            m.CHALLENGES.inc()
            if len(self._challenges) >= self._max_challenges:
                self._challenges.popitem(last=False)
                m.CHALLENGES.dec()
                m.ERRORS.labels("challenges_full").inc()
        # A newer challenge replaces the older one: only the latest WHOAREYOU can be answered.
        self._challenges[key] = _Challenge(challenge_data, record, now)
        self._challenges.move_to_end(key)
        return datagram, endpoint

    def _on_whoareyou(
        self, decoded: packet.Packet, auth: WhoareyouAuth, endpoint: Endpoint, now: float
    ) -> list[Datagram]:
        sent = self._sent.pop(decoded.nonce, None)
        if sent is None or sent.key[1] != endpoint:
            raise PacketError("unsolicited", "WHOAREYOU for no packet we sent")
        # A busy peer may challenge late; while our request still waits for its answer the
        # challenge is answered, or the request would wait out its deadline for nothing.
        if now - sent.sent_at > self._whoareyou_timeout:
            raise PacketError("unsolicited", "WHOAREYOU after its request timed out")
        key = sent.key
        node_id = key[0]
        pending = self._initiations.pop(key, None)
        if pending is not None:
            m.HANDSHAKES_PENDING.dec()
        if self._sessions.pop(key, None) is not None:
            # The peer lost the session we still held: ours is stale, a new one replaces it.
            m.SESSIONS.dec()
        record = sent.record or self._known_record(node_id)
        remote_key = record.get("secp256k1") if record is not None else None
        if remote_key is None:
            raise PacketError("record", "peer record lacks its key")
        challenge_data = decoded.message_ad
        ephemeral = coincurve.PrivateKey(self._rng(32))
        ephemeral_pub = bytes(ephemeral.public_key.format(compressed=True))
        secret = crypto.ecdh(remote_key, bytes(ephemeral.secret))
        initiator_key, recipient_key = crypto.derive_keys(
            secret, self.local_id, node_id, challenge_data
        )
        signature = crypto.id_sign(self._secret, challenge_data, ephemeral_pub, node_id)
        ours = self.local_record
        handshake = packet.encode_handshake(
            dest_id=node_id,
            src_id=self.local_id,
            masking_iv=self._rng(16),
            nonce=self._rng(packet.NONCE_SIZE),
            key=initiator_key,
            plaintext=sent.plaintext,
            id_signature=signature,
            ephemeral_pubkey=ephemeral_pub,
            record=ours.to_bytes() if auth.enr_seq < ours.seq else None,
            protocol_id=self._protocol_id,
        )
        session = _Session(write_key=initiator_key, read_key=recipient_key)
        self._store_session(key, session)
        m.HANDSHAKES.labels("initiator").inc()
        out = [(handshake, endpoint)]
        for queued in pending.queued if pending is not None else []:
            datagram, nonce = self._seal(node_id, session, queued)
            self._remember(nonce, _Sent(key, record, queued, now))
            out.append((datagram, endpoint))
        return out

    def _on_handshake(
        self, decoded: packet.Packet, auth: HandshakeAuth, endpoint: Endpoint, now: float
    ) -> tuple[list[Datagram], Incoming | None]:
        key = (auth.src_id, endpoint)
        challenge = self._challenges.get(key)
        if challenge is None or now - challenge.sent_at > self._handshake_timeout:
            raise PacketError("no_challenge", "handshake without a live WHOAREYOU")
        record = challenge.record
        if auth.record is not None:
            try:
                fresh = Enr.from_bytes(auth.record)
            except InvalidEnr as exc:
                raise PacketError("record", str(exc)) from None
            if crypto.node_id(fresh) != auth.src_id:
                raise PacketError("record", "handshake record is another node's")
            if record is None or fresh.seq >= record.seq:
                record = fresh
        if record is None:
            raise PacketError("record", "handshake without a record we lack")
        public = record.get("secp256k1")
        if public is None or not crypto.id_verify(
            public,
            auth.id_signature,
            challenge.challenge_data,
            auth.ephemeral_pubkey,
            self.local_id,
        ):
            raise PacketError("signature", "id-signature does not verify")
        secret = crypto.ecdh(auth.ephemeral_pubkey, self._secret)
        initiator_key, recipient_key = crypto.derive_keys(
            secret, auth.src_id, self.local_id, challenge.challenge_data
        )
        plaintext = packet.open_message(decoded, initiator_key)
        del self._challenges[key]
        m.CHALLENGES.dec()
        self._store_session(key, _Session(write_key=recipient_key, read_key=initiator_key))
        m.HANDSHAKES.labels("recipient").inc()
        message = decode_message(plaintext)
        return [], Incoming(auth.src_id, endpoint, message, record)
