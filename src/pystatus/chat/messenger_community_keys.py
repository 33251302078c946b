"""Hash ratchet keys in the Messenger: the asyncio side of :mod:`pystatus.chat.community_keys`,
mixed into :class:`~pystatus.chat.messenger_community.CommunityMessaging`.

A control node sends keys after each change of an encrypted community it controls and answers
members' key requests; a member asks for keys when a message comes under a key it lacks. Keys
and the Double Ratchet steps that carried them are committed before the messages leave.

Descriptions of an encrypted community we control go out with their members, channels and
categories sealed (:mod:`pystatus.chat.community_private_data`); received ones are opened with
the keys we hold. A description of a community we joined that we cannot open (no members
readable, and not one that bans us) is held, at most :data:`MAX_HELD`, until its
key comes, as status-go holds it; then it is taken as if it had just arrived. One that opened
only in part (a token-gated channel's members sealed under the channel's key, which status-go
sends 1:1 beside it) is taken as far as it opened, and its signed form kept, at most
:data:`MAX_PARTLY_OPEN`, to be read again when a key of a missing part comes: status-go keeps
the waku message under each missing key id (messenger_communities.go
handleCommunityDescription, SaveHashRatchetMessage) and reprocesses it then, and its community
takes a description at the clock it holds (community.go UpdateCommunityDescription).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError

from pystatus.chat.actions import Action, Commit, Deliver, Publish
from pystatus.chat.community import (
    CONTROL_PUBSUB_TOPIC,
    Community,
    community_id_of,
    community_key,
    decode_description,
    member_key,
)
from pystatus.chat.community_chats import CommunityChats, Send
from pystatus.chat.community_keys import (
    EVENTS,
    TRACKED,
    CommunityKeys,
    decode_key_request,
    group_id,
    seal_direct,
)
from pystatus.chat.community_private_data import (
    UnverifiedKeys,
    open_private_data,
    seal_description,
)
from pystatus.chat.hash_ratchet_exchange import KeyDistribution, community_of_group
from pystatus.chat.hash_ratchet_state import STATE_NAME as HASH_RATCHET_STATE
from pystatus.chat.hash_ratchet_state import export_state as export_hash_ratchet
from pystatus.chat.proto import communities_pb2
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import MessageType, Unwrapped, unwrap, wrap
from pystatus.errors import ChatError

log = logging.getLogger(__name__)

MAX_HELD = 100
"""Descriptions held until their key comes (one per community, the latest)."""
MAX_PARTLY_OPEN = 100
"""Descriptions opened in part, kept to read again when a missing part's key comes (one per
community, the latest clock)."""


class CommunityKeyMessaging:
    session: ChatSession
    _identity: bytes
    _communities: CommunityChats
    _community_keys: CommunityKeys
    _held: OrderedDict[str, Unwrapped]
    _partly_open: OrderedDict[str, tuple[Unwrapped, int, frozenset[bytes]]]
    _unverified: UnverifiedKeys

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _perform_later(self, actions: list[Action]) -> None: ...

        def _receive_community(
            self, message: Unwrapped, after: Callable[[], None] | None
        ) -> None: ...

        def _community_sends(self, sends: list[Send]) -> list[Action]: ...

        @staticmethod
        def _now_ms() -> int: ...

    def _init_community_keys(self) -> None:
        self._community_keys = CommunityKeys(self._identity)
        self._held = OrderedDict()
        self._partly_open = OrderedDict()
        self._unverified = UnverifiedKeys()

    def _sealed_description(self, send: Send) -> bytes:
        """The wrapped description ``send`` carries, its members, channels and categories
        sealed when it is one of an encrypted community we control (status-go's
        encryptDescription), signed again by the community key."""
        community = self._communities.get(send.name)
        private = self._communities.private_key(send.name)
        ratchet = self.session.hash_ratchet
        if community is None or private is None or ratchet is None or not community.encrypted:
            return send.wrapped
        group = group_id(community)
        if ratchet.current_key(group) is None:
            ratchet.new_key(group, self._now_ms())  # made at creation, unless the state was lost
        description = decode_description(unwrap(send.wrapped).payload)
        sealed = seal_description(description, ratchet, group)
        return wrap(sealed.SerializeToString(), MessageType.COMMUNITY_DESCRIPTION, private)

    def _open_private(self, message: Unwrapped) -> Unwrapped | None:
        """``message`` (a description, or an answer carrying one) with the description's sealed
        parts opened; None when it is held for its key (see the module's docstring)."""
        ratchet = self.session.hash_ratchet
        if ratchet is None:
            return message
        if message.type == MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE:
            try:
                answer = communities_pb2.CommunityRequestToJoinResponse.FromString(message.payload)
            except (DecodeError, RuntimeError, ValueError):
                return message  # refused, and counted, by the community core
            if not answer.community.private_data:
                return message
            self._prove_keys(answer.community, message.author)
            open_private_data(answer.community, ratchet)
            return replace(message, payload=answer.SerializeToString())
        if message.type != MessageType.COMMUNITY_DESCRIPTION:
            return message
        description = decode_description(message.payload)
        if not description.private_data:
            return message
        self._prove_keys(description, message.author)
        missing = open_private_data(description, ratchet)
        community_id = description.ID or community_id_of(message.author)
        me = member_key(self.session.public_key)
        joined = self._communities.joined(community_id)
        banned = me in description.banned_members or me in description.ban_list
        if missing and not description.members and joined and not banned:
            self._held[community_id] = message
            self._held.move_to_end(community_id)
            EVENTS.labels("held").inc()
            while len(self._held) > MAX_HELD:
                self._held.popitem(last=False)
                EVENTS.labels("evicted_held").inc()
            TRACKED.labels("held").set(len(self._held))
            self._group_key_missing(group_id_of_community(community_id))
            return None
        self._note_partly_open(community_id, message, description.clock, missing)
        return replace(message, payload=description.SerializeToString())

    def _note_partly_open(
        self, community_id: str, message: Unwrapped, clock: int, missing: list[bytes]
    ) -> None:
        """Keep ``message`` (as it came, signed) when parts of it (key ids ``missing``) did not
        open, to read again once a key comes; one that opened fully at a clock not below the
        kept one's ends the wait. A message at an older clock changes nothing."""
        kept = self._partly_open.get(community_id)
        if kept is not None and clock < kept[1]:
            return
        if not missing:
            if kept is not None:
                del self._partly_open[community_id]
                TRACKED.labels("partly_open").set(len(self._partly_open))
            return
        self._partly_open[community_id] = (message, clock, frozenset(missing))
        self._partly_open.move_to_end(community_id)
        EVENTS.labels("partly_open").inc()
        while len(self._partly_open) > MAX_PARTLY_OPEN:
            self._partly_open.popitem(last=False)
            EVENTS.labels("evicted_partly_open").inc()
        TRACKED.labels("partly_open").set(len(self._partly_open))

    def _prove_keys(self, description: communities_pb2.CommunityDescription, signer: bytes) -> None:
        """Keys kept aside (their sender was not yet known as the owner) that a sealed part of
        ``description`` opens under are the community's when the community key signed it: the
        description's sealer holds that key. Taken; what waited for them is delivered."""
        ratchet = self.session.hash_ratchet
        if ratchet is None or not description.ID:
            return
        try:
            if community_id_of(signer) != description.ID:
                return
        except ChatError:
            return
        for name, data in description.private_data.items():
            key = self._unverified.prove(name, data)
            if key is None or community_of_group(key.group_id) != description.ID:
                continue
            _, opened = ratchet.add_keys([key])
            state = ((HASH_RATCHET_STATE, export_hash_ratchet(ratchet)),)
            actions: list[Action] = [Commit(sync_state=state)]
            for message, context in opened:
                if isinstance(context, tuple) and len(context) == 2:
                    sender, chat = context
                    actions.append(Deliver(sender, message.plaintext, public_chat=chat))
            self._perform_later(actions)

    def _keys_on_join(self, community: Community) -> None:
        """We joined an encrypted community and hold no key of it: ask for one. The control
        node sent it before its answer, but we could not yet tell its sender was the owner
        (the members were sealed), so the ratchet's authority refused it."""
        ratchet = self.session.hash_ratchet
        group = group_id(community)
        if community.encrypted and ratchet is not None and ratchet.current_key(group) is None:
            self._group_key_missing(group)

    def _group_keys_added(self, group: bytes) -> None:
        """Keys of ``group`` came: a description held for them is taken once this message is
        through (the ratchet calls here from inside the session's receive); so is one that
        opened in part, when a key of a part it lacked is now held."""
        community_id = community_of_group(group)
        held = self._held.pop(community_id, None)
        if held is not None:
            TRACKED.labels("held").set(len(self._held))
            asyncio.get_running_loop().call_soon(self._take_held, held)
            return
        kept = self._partly_open.get(community_id)
        ratchet = self.session.hash_ratchet
        if kept is None or ratchet is None:
            return
        message, _, missing = kept
        if not any(ratchet.store.get(key_id) is not None for key_id in missing):
            return  # keys of another channel, or an older key of the community
        del self._partly_open[community_id]  # noted again if a part still does not open
        TRACKED.labels("partly_open").set(len(self._partly_open))
        EVENTS.labels("reopened").inc()
        asyncio.get_running_loop().call_soon(self._take_held, message)

    def _take_held(self, held: Unwrapped) -> None:
        try:
            self._receive_community(held, None)
        except ChatError as exc:
            log.info("a held community description refused: %s", exc)

    def _group_key_missing(self, group_id: bytes) -> None:
        """A message came under a key of ``group_id`` we lack: ask the control node of a
        community we joined for its keys (rate-limited in :class:`CommunityKeys`)."""
        community = self._communities.get(community_of_group(group_id))
        if community is None or not self._communities.joined(community.id):
            return
        if self._communities.controls(community.id):
            return
        wrapped = self._community_keys.want_keys(community, self._now_ms())
        if wrapped is not None:
            send = Send(
                "control", wrapped, CONTROL_PUBSUB_TOPIC, recipient=community_key(community.id)
            )
            self._perform_later(self._community_sends([send]))

    def _key_actions(self, distribution: KeyDistribution | None) -> list[Action]:
        """The hash ratchet keys and ratchet steps saved, then the 1:1 key messages sent."""
        ratchet = self.session.hash_ratchet
        if distribution is None or ratchet is None:
            return []
        state = ((HASH_RATCHET_STATE, export_hash_ratchet(ratchet)),)
        out: list[Action] = [Commit(sync_state=state, device_state=self.session.device_state())]
        now_ns = time.time_ns()
        for recipient, message in distribution.direct.items():
            parts = seal_direct(
                self.session.encryption,
                self._identity,
                recipient,
                message,
                self.session.segment_size,
            )
            out += [Publish(p.content_topic, p.payload, now_ns, "control") for p in parts]
        return out

    def _control_keys(self, community: Community) -> list[Action]:
        """Keys made and sent after a change of a community we control (see
        :meth:`CommunityKeys.control_change`)."""
        ratchet = self.session.hash_ratchet
        if ratchet is None or not self._communities.controls(community.id):
            return []
        distribution = self._community_keys.control_change(
            community, ratchet, self.session.encryption, self._now_ms()
        )
        return self._key_actions(distribution)

    def _community_and_keys(self, community: Community, sends: list[Send]) -> list[Action]:
        """What a change of ``community`` sends: its keys made first (so the description is
        sealed under a new one) and saved, then the description and answers, then the 1:1 key
        messages. status-go sends the keys first; a pystatus member takes keys only from whom
        it knows as the owner, which the answer to its request tells it, so they go after it
        (relay keeps one sender's order on a topic mostly; a member that still lacks the key
        once joined asks for it)."""
        keys = self._control_keys(community)
        saved = [a for a in keys if isinstance(a, Commit)]
        return saved + self._community_sends(sends) + [a for a in keys if a not in saved]

    def _answer_key_request(self, message: Unwrapped) -> None:
        """A member asks for the keys of a community we control (answered to members only)."""
        ratchet = self.session.hash_ratchet
        community = self._communities.get(decode_key_request(message.payload))
        if ratchet is None or community is None or not self._communities.controls(community.id):
            return
        distribution = self._community_keys.answer_request(
            community, message.author, ratchet, self.session.encryption, self._now_ms()
        )
        self._perform_later(self._key_actions(distribution))


def group_id_of_community(community_id: str) -> bytes:
    """The hash ratchet group of a community id (``0x02...``): its compressed key's bytes."""
    return bytes.fromhex(community_id[2:])
