"""HTML of the community parts of the web client (issue 18): the sidebar's list of
communities with its "New community" and "Join community" forms, and a community's panel
(its id to share, its channels, and for the control node the requests to join with Accept,
the members with Ban, and a form to add a channel). Outside values are escaped (quotes too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from pystatus.web.render_parts import csrf_field as _csrf
from pystatus.web.render_parts import e as _e
from pystatus.web.render_parts import member_action, person_item


@dataclass(frozen=True, slots=True)
class CommunityItem:
    id: str
    """The community's id (``0x02...``/``0x03...``)."""
    name: str
    unread: int = 0
    """Messages received in its channels since each was last shown."""


@dataclass(frozen=True, slots=True)
class ChannelItem:
    chat_id: str
    name: str
    read_only: bool


@dataclass(frozen=True, slots=True)
class PersonItem:
    key: str
    """A chat key (``zQ3...``)."""
    name: str
    privileged: bool = False
    me: bool = False


@dataclass(slots=True)
class CommunityPanel:
    """What a community's screen shows. ``known`` is false while its description has not
    arrived (we asked to join by id)."""

    id: str
    name: str = ""
    about: str = ""
    known: bool = False
    joined: bool = False
    controlled: bool = False
    channels: list[ChannelItem] = field(default_factory=list)
    members: list[PersonItem] = field(default_factory=list)
    requests: list[PersonItem] = field(default_factory=list)
    channel: ChannelItem | None = None
    """The channel shown, if any."""
    may_post: bool = True
    """We may post in :attr:`channel` (false in a read-only channel unless privileged)."""
    relay_only: bool = False
    """Asked to join with no store node known to ask for the description (not ``known``)."""


def community_url(community_id: str, chat: str = "") -> str:
    return "/?" + urlencode({"chat": chat} if chat else {"community": community_id})


def community_items(csrf: str, communities: list[CommunityItem], current: str) -> str:
    """The sidebar's list items, one a community."""
    return "".join(
        f'<li aria-label="{_e(c.name)}"'
        + (' aria-current="page"' if c.id == current else "")
        + f'><a href="{_e(community_url(c.id))}">{_e(c.name)}</a>'
        + (
            f' <span class="unread" aria-label="{c.unread} unread">{c.unread}</span>'
            if c.unread
            else ""
        )
        + "</li>"
        for c in communities
    )


def community_forms(csrf: str) -> str:
    """The sidebar's "New community" disclosure and the join-by-id form."""
    return (
        '<details class="new-community"><summary>New community</summary>'
        '<form method="post" action="/communities/create">'
        f"{_csrf(csrf)}"
        '<label for="community-name">Community name</label>'
        '<input id="community-name" name="name" required maxlength="30" autocomplete="off">'
        '<label><input type="checkbox" name="manual" value="1" checked> '
        "Members need approval</label>"
        '<label><input type="checkbox" name="no_general" value="1"> '
        "Without a #general channel</label>"
        '<button type="submit">Create community</button></form></details>'
        '<form method="post" action="/communities/join">'
        f"{_csrf(csrf)}"
        '<label for="community-id">Community id</label>'
        '<input id="community-id" name="id" required maxlength="80" autocomplete="off" '
        'spellcheck="false">'
        '<button type="submit">Join community</button></form>'
    )


def _people(csrf: str, panel: CommunityPanel) -> str:
    path = f"/communities/{panel.id}"
    base = _e(path)
    # The channel shown, so that an accept or a ban comes back to it.
    here = (
        f'<input type="hidden" name="chat" value="{_e(panel.channel.chat_id)}">'
        if panel.channel is not None
        else ""
    )
    requests = "".join(
        person_item(
            r.name,
            label=f"Request from {r.name}",
            actions=member_action(f"{path}/accept", csrf, "Accept", r.key, r.name, here),
        )
        for r in panel.requests
    )
    members = []
    for m in panel.members:
        ban = ""
        if panel.controlled and not m.me and not m.privileged:
            ban = member_action(f"{path}/ban", csrf, "Ban", m.key, m.name, here)
        members.append(person_item(m.name, admin=m.privileged, actions=ban))
    add = ""
    if panel.controlled:
        add = (
            f'<form method="post" action="{base}/channels">{_csrf(csrf)}'
            '<label for="channel-name">Channel name</label>'
            '<input id="channel-name" name="name" required maxlength="30" autocomplete="off">'
            '<input type="checkbox" id="channel-read-only" name="read_only" value="1">'
            '<label for="channel-read-only">Read-only (only admins post)</label>'
            '<button type="submit">Add channel</button></form>'
        )
    shown = (
        f'<h2 id="community-requests-title">Requests to join</h2><ul id="community-requests" '
        f'aria-labelledby="community-requests-title">{requests}</ul>'
        if requests
        else ""
    )
    return (
        f"{shown}"
        f'<h2 id="community-members-title">Members <span class="count">{len(members)}'
        f'</span></h2><ul id="community-members" aria-labelledby="community-members-title">'
        f"{''.join(members)}</ul>{add}"
    )


def community_panel(csrf: str, panel: CommunityPanel) -> str:
    """The community's box (replaced whole by the page's script on each event)."""
    if not panel.known:
        return (
            '<section id="community-box" class="community" aria-label="Community">'
            f'<p class="notice">Asked to join <code class="key">{_e(panel.id)}</code>; waiting '
            "for the community's description.</p>"
            + (
                f'<p class="notice" id="relay-only">{_e(RELAY_ONLY_NOTICE)}</p>'
                if panel.relay_only
                else ""
            )
            + "</section>"
        )
    state = ""
    if not panel.joined:
        state = '<p class="notice">Request sent; waiting for approval.</p>'
    current = panel.channel.chat_id if panel.channel is not None else ""
    channels = "".join(
        f'<li aria-label="{_e(c.name)}"'
        + (' aria-current="page"' if c.chat_id == current else "")
        + f'><a href="{_e(community_url(panel.id, c.chat_id))}"># {_e(c.name)}</a>'
        + (' <span class="badge">read-only</span>' if c.read_only else "")
        + "</li>"
        for c in panel.channels
    )
    listed = (
        f'<h2 id="channels-title">Channels</h2>'
        f'<ul id="channels" aria-labelledby="channels-title">{channels}</ul>'
        if panel.joined
        else ""
    )
    return (
        '<section id="community-box" class="community" aria-labelledby="community-title">'
        f'<p class="community-name" id="community-title">{_e(panel.name)}</p>'
        + (f'<p class="about">{_e(panel.about)}</p>' if panel.about else "")
        + f'<p>Community id <code class="key">{_e(panel.id)}</code></p>'
        + state
        + listed
        + (_people(csrf, panel) if panel.joined else "")
        + "</section>"
    )


RELAY_ONLY_NOTICE = (
    "No store node is known to ask for it: the request to join leaves when the community"
    " next publishes its description on relay."
)
READ_ONLY_NOTICE = "This channel is read-only: only the community's admins post here."
