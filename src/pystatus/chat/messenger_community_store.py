"""Communities and the store in the Messenger, mixed into
:class:`~pystatus.chat.messenger_community.CommunityMessaging`.

What status-go v1.1.0 does so that a community is found, read and confirmed through store
nodes (``protocol/messenger_communities.go``, ``protocol/messenger_store_node_request_manager.go``):

- A joiner that lacks a community's description asks a store for it (``FetchCommunity``): our
  store node, else on relay a connected peer that serves store (``RelayTransport.find_store``);
  with neither it says so once and waits for the control node's next publication on relay.
- The control node advertises the descriptions of the communities it controls again once
  online after a start and every 24 h (:mod:`pystatus.chat.community_advert`), so a store
  keeps a recent copy.
- Channels we start to listen to (a community joined, a channel added while we were away) are
  fetched from the store at once; the session's own history sync asks only for the topics it
  listened to when it started.
- Our posts, which have no data sync, are confirmed by the store as public messages are: one
  unconfirmed when the messenger stopped goes again at start (:meth:`Messenger.start`),
  sealed again under the current hash ratchet key where its channel has one; a failed one
  goes again the same way when the user resends it (:meth:`Messenger.resend`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pystatus.chat.actions import Action, Commit, Publish
from pystatus.chat.community import description_content_topic, pubsub_topic
from pystatus.chat.community_advert import Advertiser
from pystatus.chat.community_answers import AnswerResends
from pystatus.chat.community_chats import CommunityChats, Send
from pystatus.chat.community_keys import post_group, seal_post
from pystatus.chat.delivery import DeliveryStatus
from pystatus.chat.errors import UnknownGroupKey
from pystatus.chat.history import HistoryFetcher
from pystatus.chat.relay_transport import RelayTransport
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.chat.session import ChatSession
from pystatus.chat.supervisor import Supervisor
from pystatus.chat.transport import Transport
from pystatus.errors import PystatusError

log = logging.getLogger("pystatus.chat.messenger_community")

ANSWERS_STATE = "community_answers"
"""The sync state key of the answers and kicks kept to send again."""

DESCRIPTION_LOOKBACK_NS = 30 * 24 * 3600 * 10**9
"""How far back the store is asked for a community's description when we start to follow it."""


class CommunityStoreMessaging:
    session: ChatSession
    fetcher: HistoryFetcher | None
    transport: Transport
    config: ReliabilityConfig
    _communities: CommunityChats
    _advertiser: Advertiser
    _answer_resends: AnswerResends
    _supervisor: Supervisor
    _pubsub_for: Callable[[str], str]
    _identity: bytes

    if TYPE_CHECKING:  # provided by the Messenger this is mixed into

        async def _perform(self, actions: list[Action]) -> None: ...

        def _community_sends(self, sends: list[Send]) -> list[Action]: ...

        @staticmethod
        def _now_ms() -> int: ...

    # -- timers: requests to join again, adverts ---------------------------------------------

    def _community_deadline(self) -> float | None:
        """When an unanswered request to join goes again, or the descriptions of the
        communities we control are advertised again (once online), in monotonic seconds (the
        core keeps both in wall-clock ms, as status-go's resend and advert do)."""
        online = self.transport.connected()  # offline, the session wakes the core each second
        requests = self._communities.next_deadline() if online else None
        answers = self._answer_resends.next_deadline() if online else None
        dues = (requests, answers, self._advertiser.next_deadline(online))
        due_ms = min((d for d in dues if d is not None), default=None)
        if due_ms is None:
            return None
        return time.monotonic() + max(0, due_ms - self._now_ms()) / 1000

    def _community_timer(self) -> list[Action]:
        """Requests to join sent again now, once online (see
        :meth:`CommunityChats.handle_timer`), and
        the descriptions of the communities we control when their advert is due: unchanged
        (same clock, as status-go's ``publishOrg``), so members drop them and a store keeps
        a recent copy for joiners."""
        now_ms = self._now_ms()
        online = self.transport.connected()
        sends = self._communities.handle_timer(now_ms) if online else []
        answers = self._answer_resends.handle_timer(now_ms) if online else []
        if self._advertiser.handle_timer(now_ms, online):
            sends += [
                Send("description", c.wrapped, pubsub_topic(None), name=c.id)
                for c in self._communities.communities()
                if self._communities.controls(c.id)
            ]
        out = self._community_sends(sends + answers)
        if answers:  # their counts moved, the last sends left the table: saved again
            out.append(Commit(sync_state=((ANSWERS_STATE, self._answer_resends.saved()),)))
        return out

    # -- answers and kicks kept to send again (community_answers.py) -------------------------

    def _answers_kept(self, community_id: str, sends: list[Send]) -> dict[str, bytes]:
        """Keep the answers and kicks among ``sends``; the sync state to write with them."""
        if not self._answer_resends.keep(community_id, sends, self._now_ms()):
            return {}
        return {ANSWERS_STATE: self._answer_resends.saved()}

    def _restore_answer_resends(self, state: dict[str, bytes]) -> None:
        """At start: the answers and kicks kept when we stopped go again once online."""
        self._answer_resends = AnswerResends()
        if ANSWERS_STATE not in state:
            return
        try:
            self._answer_resends.restore(state[ANSWERS_STATE])
        except ValueError as exc:  # written only once valid: damage, not input
            log.warning("community answers to send again not restored: %s", exc)

    # -- the store ---------------------------------------------------------------------------

    async def _fetch_description(self, community_id: str) -> bool:
        """Ask a store for the community's descriptions of the last 30 days (as status-go's
        FetchCommunity asks its store nodes): our store node, else on relay a connected peer
        that serves store; what arrives is received as if relayed. False when no store node
        is known (logged at WARNING: the description can then come only on relay)."""
        fetcher = self.fetcher
        if fetcher is None and isinstance(self.transport, RelayTransport):
            find = self.transport.find_store
            source = await find() if find is not None else None
            fetcher = HistoryFetcher(source) if source is not None else None
        if fetcher is None:
            log.warning(
                "no store node to ask for the description of community %s (give --storenode,"
                " or connect to a peer that runs --store): waiting for it on relay",
                community_id,
            )
            return False
        start_ns = time.time_ns() - DESCRIPTION_LOOKBACK_NS
        await self._fetch_missed(fetcher, [description_content_topic(community_id)], start_ns)
        return True

    async def _fetch_missed(
        self, fetcher: HistoryFetcher, content_topics: list[str], start_ns: int
    ) -> None:
        """What reached ``content_topics`` since ``start_ns`` (wall-clock ns) that we did not
        see, from the store, received as if relayed. A store that fails is logged: what is
        missing comes on relay, or with the next history sync."""
        by_pubsub: dict[str, list[str]] = {}
        for content_topic in content_topics:
            by_pubsub.setdefault(self._pubsub_for(content_topic), []).append(content_topic)
        end_ns = time.time_ns()
        try:
            for pubsub, wanted in by_pubsub.items():
                entries = await fetcher.missed(pubsub, wanted, start_ns, end_ns, self.session.seen)
                for entry in entries:
                    if entry.message is not None and not self.session.seen(entry.hash):
                        fetcher.count(True)
                        await self._perform(
                            self.session.receive(entry.message, entry.hash, time.monotonic())
                        )
        except (PystatusError, OSError, TimeoutError) as exc:
            log.info("community messages not fetched from the store: %s", exc)

    def _community_history(self, content_topics: list[str], joined: bool) -> None:
        """Fetch, in the background, what reached community topics we just started to listen
        to: a community's channels once we ``joined`` (the last ``first_history_window``), or
        a channel added while we were away (since our last history sync, less its margin).
        Without this, a channel that a description fetched from the store brought at start
        would miss its posts until the next sync, whose window may have moved past them."""
        if self.fetcher is None or not content_topics:
            return
        now_ns = time.time_ns()
        start_ns = now_ns - int(self.config.first_history_window * 1e9)
        synced = self.session.last_synced_ns
        if not joined and synced is not None:
            start_ns = max(start_ns, synced - int(self.config.history_margin * 1e9))
        fetching = self._fetch_missed(self.fetcher, content_topics, start_ns)
        self._supervisor.spawn(fetching, "community history")

    def _community_republishable(self, chat_id: str) -> bool:
        """Whether our post in ``chat_id``, unconfirmed when the messenger stopped, goes
        again at start as public messages do (a community post has no data sync: the store's
        confirmation is its last state, as in status-go): a channel of a community we know,
        sent by :meth:`_republish_own`."""
        return self._communities.channel_of(chat_id) is not None

    def _republish_own(
        self, chat_id: str, wrapped: bytes, message_id: str, status: DeliveryStatus, now_ns: int
    ) -> list[Action]:
        """At start, our message ``wrapped`` (``status`` when the device stopped) published
        again as :meth:`ChatSession.republish` says; a post in a channel that goes under a
        hash ratchet key is sealed again under its current one (:meth:`_post_again`).
        ``now_ns``: wall-clock nanoseconds."""
        if not self._post_group(chat_id):
            return self.session.republish(chat_id, wrapped, message_id, status, now_ns)
        if status == DeliveryStatus.PENDING or (
            status == DeliveryStatus.SENT and self.session.has_store
        ):
            try:
                return self._post_again(chat_id, wrapped, message_id, now_ns)
            except UnknownGroupKey:
                log.warning("post %s not sent again at start: no key for its channel", message_id)
        return []

    def _post_group(self, chat_id: str) -> bytes:
        found = self._communities.channel_of(chat_id)
        return post_group(found[0] if found is not None else None, chat_id)

    def _post_again(
        self, chat_id: str, wrapped: bytes, message_id: str, now_ns: int
    ) -> list[Action]:
        """Our post ``wrapped`` in channel ``chat_id`` published again (at start, or the
        user's resend of a failed one): in the clear as a public message, or, where it goes
        under a hash ratchet key (status-go's dispatchMessage), sealed under the current key
        (a key rotated since the first send is the one members hold now). Raises
        :class:`UnknownGroupKey` when we hold no key for it."""
        group = self._post_group(chat_id)
        ratchet = self.session.hash_ratchet
        found = self._communities.channel_of(chat_id)
        if not group or found is None:
            return self.session.send_public(chat_id, wrapped, now_ns, [message_id])
        if ratchet is None or ratchet.current_key(group) is None:
            raise UnknownGroupKey("no key for this channel", group_id=b"", key_id=b"")
        parts = seal_post(
            ratchet, self._identity, found[0], chat_id, wrapped, self.session.segment_size, group
        )
        publishes: list[Action] = [
            Publish(p.content_topic, p.payload, now_ns, "public") for p in parts[:-1]
        ]
        last = parts[-1]
        track = self.session.has_store
        publishes.append(
            Publish(last.content_topic, last.payload, now_ns, "public", (message_id,), track=track)
        )
        return publishes
