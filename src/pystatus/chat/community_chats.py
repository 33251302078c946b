"""The communities of one account, sans-IO: what to send and what to make of what arrives.

Roles, as status-go v1.1.0 (``protocol/messenger_communities.go``, ``communities/manager.go``):

- As **control node** (we created it and hold its key): we publish the signed description on
  the community's topic after each change, take requests to join (accepted at once in an open
  community, ``AUTO_ACCEPT``, or kept pending, at most 100 as status-go's
  ``maxNbPendingRequestedMembers``, until accepted or declined when it needs approval,
  ``MANUAL_ACCEPT``), answer each with a ``COMMUNITY_REQUEST_TO_JOIN_RESPONSE``, remove members
  who ask to leave, and tell a member we remove or ban with ``COMMUNITY_USER_KICKED``.
- As **member**: we watch a community's description topic, send a request to join once we have
  its description, join when the answer (signed by the control node) accepts us, and post in
  its channels when the description lets us (``CanPost``); a post the description does not
  allow is refused (:class:`ReadOnlyChannel`) before anything is sent.
- Every member drops channel messages whose author may not post there, counted in
  ``chat_community_dropped_messages{reason}`` (status-go's ``handleChatMessage`` checks
  ``CanPost`` on receipt).

Outputs are :class:`Send` records the adapter carries out; ``now_ms`` is wall-clock
milliseconds (clocks and the requests' seconds), passed in; no I/O and no clock read here.
Tables are bounded: communities (``chat_communities`` gauge, least recently used forgotten
past :data:`MAX_COMMUNITIES`, never one we control or joined) and pending requests.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

from prometheus_client import Counter, Gauge

from pystatus.chat import community_control as control
from pystatus.chat import community_requests as requests
from pystatus.chat.community import (
    CONTROL_PUBSUB_TOPIC,
    Access,
    Community,
    InvalidCommunity,
    community_id_of,
    community_key,
    decode_description,
    dehydrate,
    member_key,
    open_description,
    pubsub_topic,
    sign_description,
)
from pystatus.chat.community_resend import RESEND_DELAY_MS, resend_due

# The community errors live with the chat errors; importers of this module keep them.
from pystatus.chat.errors import CommunityNotAllowed as CommunityNotAllowed
from pystatus.chat.errors import ReadOnlyChannel as ReadOnlyChannel
from pystatus.chat.proto import communities_pb2 as pb
from pystatus.chat.wrapper import MessageType, Unwrapped

MAX_COMMUNITIES = 1_000
MAX_PENDING = 100
"""Pending requests kept per community (status-go's ``maxNbPendingRequestedMembers``)."""
MAX_WANTED = 100
"""Communities we wait for a description of (to join, or to spectate)."""

COMMUNITIES = Gauge("chat_communities", "Communities held")
EVICTED = Counter("chat_community_evicted", "Communities forgotten at the bound")
DROPPED = Counter(
    "chat_community_dropped_messages",
    "Community messages not taken, by reason",
    ["reason"],
)
PENDING_REFUSED = Counter(
    "chat_community_requests_refused", "Requests to join refused: too many pending"
)
RESENT = Counter("chat_community_requests_resent", "Requests to join sent again, unanswered")


@dataclass(frozen=True, slots=True)
class Send:
    """One message to send. ``route``: ``description`` (a public topic named ``name``, the
    symmetric key from that name, bare wrapper), ``control`` (ECIES to ``recipient``, the
    community key, on its control topic, bare) or ``private`` (ECIES to ``recipient``'s
    partitioned topic, bare: status-go's ``SendPrivate`` with ``SkipEncryptionLayer``)."""

    route: str
    wrapped: bytes
    pubsub_topic: str
    name: str = ""
    recipient: bytes = b""


@dataclass(frozen=True, slots=True)
class Change:
    """What a received message or our action did to a community. ``kind``: ``created``,
    ``updated``, ``request`` (a pending request, ``member`` the requester), ``accepted``,
    ``declined``, ``joined``, ``left``, ``kicked``, ``banned``."""

    community: Community
    kind: str
    member: str = ""
    display_name: str = ""


@dataclass(slots=True)
class _Pending:
    requests: OrderedDict[str, tuple[int, str]] = field(default_factory=OrderedDict)
    """Requester (``0x04...``) -> (clock in seconds, display name)."""


class CommunityChats:
    """The communities of one account (``identity``: its chat private key, 32 bytes)."""

    def __init__(self, identity: bytes, public_key: bytes) -> None:
        self.identity = identity
        self.public_key = public_key
        self.me = member_key(public_key)
        self._communities: OrderedDict[str, Community] = OrderedDict()
        self._keys: dict[str, bytes] = {}
        self._pending: dict[str, _Pending] = {}
        self._requested: dict[str, int] = {}  # community id -> our request's clock (s)
        self._joined: set[str] = set()
        self._want_join: dict[str, str] = {}  # community id -> our display name
        # community id -> (our request, sends so far, when it goes again: wall-clock ms);
        # one per requested community, so bounded as ``_requested`` is.
        self._resend: dict[str, tuple[Send, int, int]] = {}
        self._watched: set[str] = set()

    # -- state ----------------------------------------------------------------------------

    def get(self, community_id: str) -> Community | None:
        return self._communities.get(community_id)

    def communities(self) -> list[Community]:
        return list(self._communities.values())

    def joined(self, community_id: str) -> bool:
        return community_id in self._joined

    def controls(self, community_id: str) -> bool:
        return community_id in self._keys

    def private_key(self, community_id: str) -> bytes | None:
        """The community's private key when we are its control node (secret: never log)."""
        return self._keys.get(community_id)

    def pending(self, community_id: str) -> list[tuple[str, int, str]]:
        """Pending requests: (requester ``0x04...``, clock in seconds, display name)."""
        found = self._pending.get(community_id)
        if found is None:
            return []
        return [(k, c, n) for k, (c, n) in found.requests.items()]

    def requested(self, community_id: str) -> bool:
        return community_id in self._requested or community_id in self._want_join

    def channel_of(self, chat_id: str) -> tuple[Community, str] | None:
        """The community and channel id of a channel's chat id."""
        if not chat_id.startswith("0x") or len(chat_id) <= 68:
            return None
        community = self._communities.get(chat_id[:68])
        if community is None:
            return None
        channel = community.channel_by_chat_id(chat_id)
        return None if channel is None else (community, channel.id)

    def _keep(self, community: Community) -> None:
        self._communities[community.id] = community
        self._communities.move_to_end(community.id)
        while len(self._communities) > MAX_COMMUNITIES:
            for key in self._communities:
                if key not in self._keys and key not in self._joined:
                    del self._communities[key]
                    EVICTED.inc()
                    break
            else:
                break
        COMMUNITIES.set(len(self._communities))

    def restore(
        self,
        signer: bytes,
        payload: bytes,
        *,
        private_key: bytes | None = None,
        joined: bool = False,
        requested_clock: int = 0,
        pending: list[tuple[str, int, str]] | None = None,
    ) -> Community:
        """A community as saved (:meth:`saved`): its description and signer (checked
        again), our key when we control it, whether we joined or asked to. Raises
        :class:`InvalidCommunity`."""
        community = open_description(payload, signer)
        if private_key is not None:
            self._keys[community.id] = private_key
            wrapped = sign_description(community.description, private_key)
            community = replace(community, wrapped=wrapped)
        if joined:
            self._joined.add(community.id)
        if requested_clock:
            self._requested[community.id] = requested_clock
            if not joined and private_key is None:
                # Unanswered when we stopped: it goes again once online (status-go keeps its
                # raw messages to resend across restarts), the resends counted from there.
                wrapped = requests.request_to_join(self.identity, community.id, requested_clock)
                key = community_key(community.id)
                send = Send("control", wrapped, CONTROL_PUBSUB_TOPIC, recipient=key)
                self._resend[community.id] = (send, 1, 0)
        if pending and private_key is not None:
            table = self._pending.setdefault(community.id, _Pending())
            for member, clock, name in pending[:MAX_PENDING]:
                member_key(bytes.fromhex(member[2:]))  # a key, or ValueError
                table.requests[member] = (int(clock), str(name))
        self._keep(community)
        return community

    def saved(self, community_id: str) -> tuple[bytes, bytes, int] | None:
        """What to keep of a community: (signer, description payload, our request's clock),
        the signer being the community key (what :meth:`restore` takes)."""
        community = self._communities.get(community_id)
        if community is None:
            return None
        payload = dehydrate(community.description).SerializeToString()
        return community_key(community_id), payload, self._requested.get(community_id, 0)

    def watch(self, community_id: str) -> None:
        """Take descriptions of ``community_id`` from now on (spectate). Raises
        :class:`InvalidCommunity` for a malformed id."""
        community_key(community_id)
        if community_id not in self._watched and len(self._watched) >= MAX_WANTED:
            raise CommunityNotAllowed(f"watching {MAX_WANTED} communities already")
        self._watched.add(community_id)

    # -- as control node ------------------------------------------------------------------

    def _control(self, community_id: str) -> tuple[Community, bytes]:
        community = self._communities.get(community_id)
        key = self._keys.get(community_id)
        if community is None or key is None:
            raise CommunityNotAllowed(f"we do not control community {community_id[:80]!r}")
        return community, key

    def _publish(self, community: Community) -> Send:
        return Send("description", community.wrapped, pubsub_topic(None), name=community.id)

    def create(
        self,
        name: str,
        now_ms: int,
        *,
        about: str = "",
        color: str = "#887af9",
        manual: bool = False,
        encrypted: bool = False,
    ) -> tuple[Community, list[Send]]:
        """A community we control (open unless ``manual``; its posts under the hash ratchet
        when ``encrypted``, see :func:`~pystatus.chat.community_control.create`). Raises
        :class:`InvalidCommunity`."""
        if len(self._keys) >= MAX_COMMUNITIES:
            raise CommunityNotAllowed(f"controlling {MAX_COMMUNITIES} communities already")
        key, community = control.create(
            self.public_key,
            name,
            now_ms,
            about=about,
            color=color,
            manual_accept=manual,
            encrypted=encrypted,
        )
        self._keys[community.id] = key
        self._joined.add(community.id)
        self._keep(community)
        return community, [self._publish(community)]

    def add_channel(
        self,
        community_id: str,
        name: str,
        now_ms: int,
        *,
        read_only: bool = False,
        category_id: str = "",
        about: str = "",
    ) -> tuple[str, list[Send]]:
        """A new channel; returns (its chat id, what to send)."""
        community, key = self._control(community_id)
        channel_id, community = control.add_channel(
            community, key, name, now_ms, read_only=read_only, category_id=category_id, about=about
        )
        self._keep(community)
        return community.id + channel_id, [self._publish(community)]

    def republish(self, community_id: str, now_ms: int) -> list[Send]:
        """The description again, clock advanced (status-go's control node publishes it
        after each change and again periodically, for members who were not listening)."""
        community, key = self._control(community_id)
        community = control.resign(community, key, now_ms)
        self._keep(community)
        return [self._publish(community)]

    def add_category(self, community_id: str, name: str, now_ms: int) -> tuple[str, list[Send]]:
        community, key = self._control(community_id)
        category_id, community = control.add_category(community, key, name, now_ms)
        self._keep(community)
        return category_id, [self._publish(community)]

    def accept(self, community_id: str, member: str, now_ms: int) -> list[Send]:
        """Accept ``member``'s (``0x04...``) request: they join, the new description goes
        out, and they get the answer. Raises :class:`CommunityNotAllowed`,
        :class:`InvalidCommunity` (a banned member)."""
        community, key = self._control(community_id)
        pending = self._pending.get(community_id)
        if pending is not None:
            pending.requests.pop(member, None)
        community = control.add_member(community, key, member, now_ms)
        self._keep(community)
        # An encrypted community's keys go to the new member over 1:1 messages with HR headers
        # (KeyExMsgReuse), sent by the adapter after this answer (messenger_community_keys.py).
        description = dehydrate(community.description)
        answer = requests.response(key, description, community.id, True, community.clock)
        return [self._publish(community), _private(answer, member)]

    def decline(self, community_id: str, member: str, now_ms: int) -> list[Send]:
        """Decline a pending request; the requester is told (``accepted`` false)."""
        community, key = self._control(community_id)
        pending = self._pending.get(community_id)
        if pending is None or pending.requests.pop(member, None) is None:
            raise CommunityNotAllowed("no such pending request")
        answer = requests.response(key, None, community.id, False, max(community.clock, now_ms))
        return [_private(answer, member)]

    def _remove(
        self, community_id: str, member: str, now_ms: int, *, ban: bool, delete_all: bool = False
    ) -> list[Send]:
        community, key = self._control(community_id)
        if ban:
            community = control.ban(community, key, member, now_ms, delete_all_messages=delete_all)
        else:
            community = control.remove_member(community, key, member, now_ms)
        self._keep(community)
        kicked = requests.user_kicked(key, community.id, community.clock)
        return [self._publish(community), _private(kicked, member)]

    def ban(
        self, community_id: str, member: str, now_ms: int, delete_all: bool = False
    ) -> list[Send]:
        """Ban ``member`` (``0x04...``); they are told; with ``delete_all`` the description
        asks members to delete all their messages (``CommunityBanInfo``). Raises
        :class:`CommunityNotAllowed`."""
        return self._remove(community_id, member, now_ms, ban=True, delete_all=delete_all)

    def kick(self, community_id: str, member: str, now_ms: int) -> list[Send]:
        return self._remove(community_id, member, now_ms, ban=False)

    # -- as member ------------------------------------------------------------------------

    def request_to_join(
        self, community_id: str, now_ms: int, *, display_name: str = ""
    ) -> list[Send]:
        """Ask to join: at once when we have the description, else once it arrives (the
        adapter listens on its topic). Raises :class:`InvalidCommunity` for a bad id."""
        key = community_key(community_id)
        if community_id in self._joined:
            return []
        if community_id not in self._communities:
            if community_id not in self._want_join and len(self._want_join) >= MAX_WANTED:
                raise CommunityNotAllowed(f"waiting for {MAX_WANTED} communities already")
            self._want_join[community_id] = display_name
            return []
        self._want_join.pop(community_id, None)
        clock = now_ms // 1000
        self._requested[community_id] = clock
        wrapped = requests.request_to_join(
            self.identity, community_id, clock, display_name=display_name
        )
        send = Send("control", wrapped, CONTROL_PUBSUB_TOPIC, recipient=key)
        self._resend[community_id] = (send, 1, now_ms + RESEND_DELAY_MS)
        return [send]

    def next_deadline(self) -> int | None:
        """When an unanswered request to join goes again (wall-clock ms, the clock status-go's
        resend compares ``LastSent`` with), or None."""
        self._forget_answered()
        return min((due for _, _, due in self._resend.values()), default=None)

    def handle_timer(self, now_ms: int) -> list[Send]:
        """The requests to join still unanswered at ``now_ms`` (wall-clock ms) whose time came,
        sent again unchanged as status-go's raw-message resend does (``ResendTypeRawMessage``
        in RequestToJoinCommunity): 30, 60 and 120 s after the first, second and third sends,
        then no more. status-go also stops once a store confirms the envelope; we stop on an
        answer (accepted, declined, joined), on cancelling or on leaving."""
        self._forget_answered()
        out = resend_due(self._resend, now_ms)
        RESENT.inc(len(out))
        return out

    def _forget_answered(self) -> None:
        for community_id in [c for c in self._resend if c not in self._requested]:
            del self._resend[community_id]

    def cancel_request(self, community_id: str, now_ms: int) -> list[Send]:
        self._want_join.pop(community_id, None)
        if self._requested.pop(community_id, None) is None:
            return []
        wrapped = requests.cancel_request(self.identity, community_id, now_ms // 1000)
        key = community_key(community_id)
        return [Send("control", wrapped, CONTROL_PUBSUB_TOPIC, recipient=key)]

    def leave(self, community_id: str, now_ms: int) -> list[Send]:
        """Leave (status-go's ``LeaveCommunity``: a request to leave to the control node).
        Raises :class:`CommunityNotAllowed` for the control node."""
        if community_id in self._keys:
            raise CommunityNotAllowed("the control node cannot leave its community")
        self._joined.discard(community_id)
        self._requested.pop(community_id, None)
        wrapped = requests.request_to_leave(self.identity, community_id, now_ms)
        key = community_key(community_id)
        return [Send("control", wrapped, CONTROL_PUBSUB_TOPIC, recipient=key)]

    def check_post(self, chat_id: str, message_type: int = MessageType.CHAT_MESSAGE) -> str:
        """Whether we may post ``message_type`` in channel ``chat_id``; returns the pubsub
        topic to post on. Raises :class:`ReadOnlyChannel` or :class:`CommunityNotAllowed`. A
        channel of an encrypted community is sent under its hash ratchet key by the adapter
        (:mod:`pystatus.chat.community_keys`)."""
        found = self.channel_of(chat_id)
        if found is None:
            raise CommunityNotAllowed(f"no community channel {chat_id[:140]!r}")
        community, channel_id = found
        if not community.can_view(self.me, channel_id):
            raise CommunityNotAllowed("we are not a member of this channel")
        if not community.can_post(self.me, channel_id, message_type):
            raise ReadOnlyChannel("this channel is read-only for us")
        return pubsub_topic(None)

    def take_post(self, chat_id: str, author: bytes, message_type: int) -> bool:
        """Whether a received post (``author``: uncompressed key) in channel ``chat_id`` is
        taken; a post the description does not allow is dropped and counted."""
        found = self.channel_of(chat_id)
        if found is None:
            DROPPED.labels("unknown_channel").inc()
            return False
        community, channel_id = found
        if not community.can_post(member_key(author), channel_id, message_type):
            DROPPED.labels("not_allowed").inc()
            return False
        return True

    # -- what arrives ---------------------------------------------------------------------

    def receive(self, message: Unwrapped, now_ms: int) -> tuple[Change | None, list[Send]]:
        """A community message (its wrapper's author recovered): what changed and what to
        send. Raises :class:`InvalidCommunity` (counted) for what status-go refuses."""
        if message.type == MessageType.COMMUNITY_DESCRIPTION:
            return self._description(message, now_ms)
        request = requests.decode(message.type, message.payload)
        author = member_key(message.author)
        if message.type == MessageType.COMMUNITY_REQUEST_TO_JOIN_RESPONSE:
            return self._response(message, request), []
        if message.type == MessageType.COMMUNITY_USER_KICKED:
            return self._kicked(message, request), []
        community, key = self._controlled(request.community_id)
        if message.type == MessageType.COMMUNITY_REQUEST_TO_JOIN:
            return self._request(community, author, request, now_ms)
        if message.type == MessageType.COMMUNITY_CANCEL_REQUEST_TO_JOIN:
            pending = self._pending.get(community.id)
            if pending is not None:
                pending.requests.pop(author, None)
            return Change(community, "cancelled", author), []
        # COMMUNITY_REQUEST_TO_LEAVE
        if not community.is_member(author) or author == self.me:
            return None, []
        community = control.remove_member(community, key, author, now_ms)
        self._keep(community)
        return Change(community, "left", author), [self._publish(community)]

    def _controlled(self, community_id: str) -> tuple[Community, bytes]:
        try:
            return self._control(community_id)
        except CommunityNotAllowed:
            reason = "a request to a community we do not control"
            raise InvalidCommunity("not_control", reason) from None

    def _description(self, message: Unwrapped, now_ms: int) -> tuple[Change | None, list[Send]]:
        wanted_id = decode_description(message.payload).ID or community_id_of(message.author)
        known = self._communities.get(wanted_id)
        if known is None and wanted_id not in self._want_join and wanted_id not in self._watched:
            DROPPED.labels("unwatched").inc()
            return None, []
        if wanted_id in self._keys:
            return None, []  # our own, relayed back
        known_clock = known.clock if known is not None else 0
        community = open_description(
            message.payload, message.author, message.raw, known_clock=known_clock
        )
        # One at the clock we hold is taken only when it opened further: a token-gated
        # channel's members, sealed under a channel key that came after it (status-go sends
        # the key beside the description).
        if (
            known is not None
            and community.clock == known.clock
            and community.channels == known.channels
        ):
            if not known.wrapped:  # known from an answer: keep the signed form (admins' base)
                self._keep(replace(known, wrapped=community.wrapped))
            return None, []
        self._keep(community)
        sends: list[Send] = []
        if community.id in self._want_join:
            name = self._want_join[community.id]
            sends = self.request_to_join(community.id, now_ms, display_name=name)
        kind = "updated"
        if community.id in self._joined and not community.is_member(self.me):
            self._joined.discard(community.id)
            kind = "banned" if community.is_banned(self.me) else "kicked"
        elif community.id in self._requested and community.is_member(self.me):
            self._requested.pop(community.id, None)
            self._joined.add(community.id)
            kind = "joined"
        return Change(community, kind), sends

    def _response(self, message: Unwrapped, request: requests.Request) -> Change | None:
        community = self._communities.get(request.community_id)
        if community is None or request.community_id not in self._requested:
            DROPPED.labels("unrequested").inc()
            return None
        if member_key(message.author) != community.control_node:
            raise InvalidCommunity("signer", "an answer not signed by the control node")
        answer = request.message
        assert isinstance(answer, pb.CommunityRequestToJoinResponse)
        if not answer.accepted:
            self._requested.pop(community.id, None)
            return Change(community, "declined")
        if answer.HasField("community"):
            known = community
            community = open_description(
                answer.community.SerializeToString(), message.author, known_clock=community.clock
            )
            if community.clock == known.clock:  # keep the signed form the topic brought
                community = replace(community, wrapped=known.wrapped)
        if not community.is_member(self.me):
            return None  # the description that adds us is still to come
        self._requested.pop(community.id, None)
        self._joined.add(community.id)
        self._keep(community)
        return Change(community, "joined")

    def _kicked(self, message: Unwrapped, request: requests.Request) -> Change | None:
        community = self._communities.get(request.community_id)
        if community is None or member_key(message.author) != community.control_node:
            DROPPED.labels("kicked_unsigned").inc()
            return None
        self._joined.discard(community.id)
        return Change(community, "kicked")

    def _request(
        self, community: Community, author: str, request: requests.Request, now_ms: int
    ) -> tuple[Change | None, list[Send]]:
        message = request.message
        assert isinstance(message, pb.CommunityRequestToJoin)
        if community.is_banned(author):
            raise InvalidCommunity("banned", "a request from a banned key")
        if not message.revealed_accounts:
            raise InvalidCommunity("no_addresses", "a request revealing no address")
        if now_ms // 1000 >= request.clock + requests.REQUEST_TIMEOUT_S:
            raise InvalidCommunity("expired", "a request older than 7 days")
        if community.access == Access.AUTO_ACCEPT or community.is_member(author):
            sends = self.accept(community.id, author, now_ms)
            got = self._communities[community.id]
            return Change(got, "accepted", author, message.display_name), sends
        pending = self._pending.setdefault(community.id, _Pending())
        if author not in pending.requests and len(pending.requests) >= MAX_PENDING:
            PENDING_REFUSED.inc()
            raise InvalidCommunity("too_many_pending", "100 requests pending already")
        pending.requests[author] = (request.clock, message.display_name)
        return Change(community, "request", author, message.display_name), []


def _private(wrapped: bytes, member: str) -> Send:
    """To ``member`` (``0x04...``) over their partitioned topic, whose filter status-go
    creates on the default shard (``loadPartitioned``: no pubsub topic)."""
    return Send("private", wrapped, pubsub_topic(None), recipient=bytes.fromhex(member[2:]))
