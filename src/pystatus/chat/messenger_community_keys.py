"""Hash ratchet keys in the Messenger: the asyncio side of :mod:`pystatus.chat.community_keys`,
mixed into :class:`~pystatus.chat.messenger_community.CommunityMessaging`.

A control node sends keys after each change of an encrypted community it controls and answers
members' key requests; a member asks for keys when a message comes under a key it lacks. Keys
and the Double Ratchet steps that carried them are committed before the messages leave.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pystatus.chat.actions import Action, Commit, Publish
from pystatus.chat.community import CONTROL_PUBSUB_TOPIC, Community, community_key
from pystatus.chat.community_chats import CommunityChats, Send
from pystatus.chat.community_keys import CommunityKeys, decode_key_request, seal_direct
from pystatus.chat.hash_ratchet_exchange import KeyDistribution, community_of_group
from pystatus.chat.hash_ratchet_state import STATE_NAME as HASH_RATCHET_STATE
from pystatus.chat.hash_ratchet_state import export_state as export_hash_ratchet
from pystatus.chat.session import ChatSession
from pystatus.chat.wrapper import Unwrapped


class CommunityKeyMessaging:
    session: ChatSession
    _identity: bytes
    _communities: CommunityChats
    _community_keys: CommunityKeys

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        def _perform_later(self, actions: list[Action]) -> None: ...

        def _community_sends(self, sends: list[Send]) -> list[Action]: ...

        @staticmethod
        def _now_ms() -> int: ...

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
