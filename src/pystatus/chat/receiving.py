"""Receiving, for :class:`~pystatus.chat.session.ChatSession`: status-go v1.1.0's layers for
one Waku message (``protocol/common/message_sender.go`` handleMessage): the RFC 26 envelope
(ECIES or symmetric, by the topic's :class:`~pystatus.chat.listening.Listener`; unsigned ones
dropped), segments, the ProtocolMessage (bundles, then the Double Ratchet for direct messages
or the bare ``public_message``), then MVDS for 1:1 payloads. What comes out is a
:class:`~pystatus.chat.actions.Deliver` per wrapped message, for the content handlers.

A base class of the session (its state is the session's), kept apart by concern.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import coincurve

from pystatus.chat import mvds
from pystatus.chat.actions import Action, AnnounceDevice, Commit, Deliver
from pystatus.chat.encryption import (
    NO_INSTALLATION,
    EncryptionError,
    EncryptionService,
    NoSession,
    NotForThisDevice,
)
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.hash_ratchet import GroupMessage, HashRatchet
from pystatus.chat.hash_ratchet_exchange import carries_only_keys, receive_key_exchange
from pystatus.chat.hash_ratchet_state import STATE_NAME, export_state
from pystatus.chat.listening import Listener, Listening
from pystatus.chat.one_to_one import sync_payload
from pystatus.chat.proto import encryption_pb2 as pb
from pystatus.chat.ratchet import AlreadyRead, RatchetError
from pystatus.chat.reliability import OWED_ACKS, OWED_EVENTS, Drops, OwedAcks, OwedAcksError
from pystatus.chat.segmentation import (
    AlreadyCompleted,
    Complete,
    Incomplete,
    Reassembler,
    SegmentationError,
)
from pystatus.chat.wrapper import InvalidWrapper
from pystatus.errors import ChatError, WakuError
from pystatus.waku.message import WakuMessage
from pystatus.waku.payload import PayloadError, decrypt_asymmetric, decrypt_symmetric
from pystatus.waku.wire import parse

BARE_WRAPPER = b"\x0a\x41"
"""How a bare ApplicationMetadataMessage starts (field 1, a 65-byte signature); a
ProtocolMessage has no field 1."""

log = logging.getLogger("pystatus.chat.session")


class Receiving:
    identity: bytes
    public_key: bytes
    encryption: EncryptionService
    listening: Listening
    drops: Drops
    mvds: mvds.MVDS
    owed_acks: OwedAcks
    _segments: Reassembler
    hash_ratchet: HashRatchet | None = None
    """Group keys of encrypted communities and channels (pystatus.chat.hash_ratchet), set by
    whoever takes part in one; without it their messages are dropped (``no_group_key``)."""

    if TYPE_CHECKING:  # provided by the ChatSession this is mixed into

        def saw(self, digest: bytes) -> bool: ...

        def _negotiated(self) -> list[Action]: ...

        def _acknowledgements(self) -> list[Action]: ...

        def _tick(self, now: float, now_ns: int) -> list[Action]: ...

    def _drop(self, reason: str, sender: bytes | None, detail: object) -> list[Action]:
        self.drops.drop(reason, sender, detail)
        return []

    def acknowledge(self, ack: tuple[bytes, bytes], now: float) -> None:
        """A delivered message is stored: acknowledge it in the next payload (which waits
        up to a second for a message of ours to ride along, as status-go's). The
        acknowledgement is owed, and saved by the next :meth:`handle_timer`'s
        :class:`Commit`, until a payload carrying it is published."""
        self.mvds.acknowledge(*ack, now)
        self.owed_acks.add(*ack)

    def rejected(self, deliver: Deliver, exc: Exception, now: float) -> list[Action]:
        """A :class:`Deliver` the content handlers refused: counted, and acknowledged (it
        will not get any better)."""
        if deliver.ack is not None:
            self.acknowledge(deliver.ack, now)
        return self._drop("invalid", None, exc)

    def restore_owed_acks(self, saved: bytes, now: float) -> None:
        """At start: the acknowledgements owed when the device stopped (sync state
        :data:`~pystatus.chat.reliability.OWED_ACKS`) go out in the first payloads. Malformed
        ones are counted (``chat_mvds_owed_acks_events{unreadable}``), logged and skipped:
        their senders resend."""
        try:
            owed = OwedAcks.load(saved)
        except OwedAcksError as exc:
            OWED_EVENTS.labels("unreadable").inc()
            log.warning("owed acknowledgements not restored: %s", exc)
            return
        for peer, message in owed:
            self.mvds.acknowledge(peer, message, now)
            self.owed_acks.add(peer, message)
        self.owed_acks.saved()  # what the database holds

    def flush_acks(self, now: float, now_ns: int) -> list[Action]:
        """At a graceful stop: the acknowledgements queued go out now instead of after their
        delay (a sender would otherwise wait for its resend), with what else is due. Carry
        the actions out, then :meth:`owed_commit`."""
        self.mvds.hurry_acks()
        return self._tick(now, now_ns)

    def owed_commit(self) -> list[Action]:
        """A :class:`Commit` of the owed acknowledgements, when they changed since saved."""
        if not self.owed_acks.dirty:
            return []
        return [Commit(sync_state=((OWED_ACKS, self.owed_acks.saved()),))]

    def _group_keys_changed(
        self, changes: int, late: Sequence[tuple[GroupMessage, object]]
    ) -> list[Action]:
        """Save the group keys when they changed; deliver the group messages that waited for
        them, to the public chat (a channel) each came on."""
        assert self.hash_ratchet is not None
        out: list[Action] = []
        if self.hash_ratchet.changes != changes:
            out.append(Commit(sync_state=((STATE_NAME, export_state(self.hash_ratchet)),)))
        for message, context in late:
            if isinstance(context, tuple) and len(context) == 2:
                sender, chat = context
                out.append(Deliver(sender, message.plaintext, public_chat=chat))
        return out

    def receive(self, message: WakuMessage, digest: bytes, now: float) -> list[Action]:
        """A Waku message on a topic we listen to (``digest``: its RFC 14 hash), from the
        relay, a filter push or the store. Never raises: what cannot be used is dropped and
        counted (``chat_dropped_messages{reason}``)."""
        if not self.saw(digest):
            return self._drop("duplicate", None, "seen before")
        listener = self.listening.get(message.content_topic)
        if listener is None:
            return self._drop("not_listening", None, message.content_topic)
        if message.version != 1:
            return self._drop("unencrypted", None, f"version {message.version}")
        try:
            if listener.kind == "private":
                opened = decrypt_asymmetric(message.payload, self.identity)
            elif listener.kind == "community_control":  # ECIES to a community we control
                opened = decrypt_asymmetric(message.payload, listener.key)
            else:
                opened = decrypt_symmetric(message.payload, listener.key)
        except (PayloadError, WakuError, ValueError) as exc:
            return self._drop("undecodable", None, exc)
        if opened.signer is None:
            return self._drop("unsigned", None, "an unsigned envelope")  # status-go's too
        sender = opened.signer
        try:
            if opened.payload[:2] == BARE_WRAPPER:
                # A bare wrapper parses as a SegmentMessage too (signature as hash, type as
                # count): it is taken whole, before the segmentation layer.
                return self._receive(sender, opened.payload, listener, now)
            reassembled = self._segments.receive(sender, opened.payload, now)
            if isinstance(reassembled, Incomplete | AlreadyCompleted):
                return []
            payload = reassembled.payload if isinstance(reassembled, Complete) else opened.payload
            return self._receive(sender, payload, listener, now)
        except NotForThisDevice as exc:
            return self._drop("not_for_this_installation", sender, exc)
        except UnknownGroupKey as exc:
            # Kept by the hash ratchet until its key arrives (status-go keeps it too).
            return self._drop("no_group_key", sender, exc)
        except AlreadyRead as exc:
            return self._drop("duplicate", None, exc)  # the store brought back what we read
        except (NoSession, RatchetError) as exc:
            return self._drop("no_session", sender, exc)
        except (EncryptionError, InvalidWrapper, SegmentationError, ChatError) as exc:
            return self._drop("invalid", sender, exc)
        except (WakuError, ValueError) as exc:
            return self._drop("undecodable", sender, exc)

    def _receive(self, sender: bytes, data: bytes, listener: Listener, now: float) -> list[Action]:
        if data[:2] == BARE_WRAPPER:
            # status-go's SkipEncryptionLayer (communities): the payload is the wrapper itself.
            public_chat = listener.name if listener.kind == "public" else None
            return [Deliver(sender, data, public_chat=public_chat, bare=True)]
        protocol = parse(pb.ProtocolMessage(), data, "protocol message")
        if (
            sender == self.public_key
            and protocol.installation_id == self.encryption.installation_id
        ):
            return self._drop("own_echo", None, "our own message, relayed back")
        public = listener.kind in ("public", "contact_code")
        group = NO_INSTALLATION in protocol.direct_message and protocol.direct_message[
            NO_INSTALLATION
        ].HasField("HR_header")
        if public and not protocol.public_message and not group:
            raise ChatError("a public chat message with nothing in it")
        own_devices = set(self.encryption.installations.get(self.public_key, {}))
        out: list[Action] = []
        if protocol.public_message:
            for bundle in protocol.bundles:
                with contextlib.suppress(ChatError, ValueError):  # a bad bundle: ignored
                    if coincurve.PublicKey(bundle.identity).format(compressed=False) == sender:
                        self.encryption.add_bundle(bundle)
            wrapped = protocol.public_message
        elif listener.kind == "public":
            # A community's or channel's message under its hash ratchet key (status-go's
            # BuildHashRatchetMessage), or its public rekey message (seq_no 0).
            if self.hash_ratchet is None:
                raise UnknownGroupKey("we hold no group keys", group_id=b"", key_id=b"")
            changes = self.hash_ratchet.changes
            opened = self.hash_ratchet.decrypt(
                protocol, sender=sender, context=(sender, listener.name)
            )
            wrapped = opened.plaintext
            out += self._group_keys_changed(changes, opened.opened)
        else:
            if not protocol.direct_message:
                raise ChatError("a protocol message with no payload")
            wrapped = self.encryption.decrypt(sender, protocol)
            out += self._negotiated()
            if self.hash_ratchet is not None:
                changes = self.hash_ratchet.changes
                _, late = receive_key_exchange(self.hash_ratchet, protocol, wrapped, sender)
                out += self._group_keys_changed(changes, late)
                if carries_only_keys(self.encryption.installation_id, protocol, wrapped):
                    return out
        if sender == self.public_key and (
            set(self.encryption.installations.get(self.public_key, {})) - own_devices
        ):
            out.append(AnnounceDevice())  # a device of ours we did not know
        if not wrapped:
            return out  # a bundle advert: the bundle was all it carried
        if listener.kind == "contact_code":
            return [*out, Deliver(sender, wrapped, contact_code=True)]
        if listener.kind == "public":
            return [*out, Deliver(sender, wrapped, public_chat=listener.name)]
        payload = sync_payload(wrapped)
        if payload is None:
            return [*out, Deliver(sender, wrapped)]
        if sender == self.public_key:
            # Our other device's copy of what it sent: shown, not acknowledged.
            return out + [Deliver(None, bytes(m.body), own_copy=True) for m in payload.messages]
        new = self.mvds.receive(sender, wrapped, now)
        out += self._acknowledgements()
        return out + [Deliver(sender, sync.body, ack=(sender, sync.id)) for sync in new]
