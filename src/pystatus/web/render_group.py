"""HTML of the private group parts of the chat screen: the sidebar's "New group" form and a
group's member list with its admin actions. Outside values are escaped (quotes too)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pystatus.web.render_parts import csrf_field as _csrf
from pystatus.web.render_parts import e as _e
from pystatus.web.render_parts import member_action, person_item


@dataclass(frozen=True, slots=True)
class MemberItem:
    key: str
    """The member's chat key (``zQ3...``)."""
    name: str
    admin: bool
    me: bool


@dataclass(frozen=True, slots=True)
class GroupPanel:
    members: list[MemberItem] = field(default_factory=list)
    admin: bool = False
    """We are an admin (we may add and remove)."""
    member: bool = False
    open: bool = False
    """The member list is shown open (after an admin's change)."""


def new_group_form(csrf: str) -> str:
    """A disclosure in the sidebar: a name and the members' chat keys."""
    return (
        '<details class="new-group"><summary>New group</summary>'
        '<form method="post" action="/groups/create">'
        f"{_csrf(csrf)}"
        '<label for="group-name">Group name</label>'
        '<input id="group-name" name="name" required maxlength="100" autocomplete="off">'
        '<label for="group-members">Members</label>'
        '<textarea id="group-members" name="members" aria-describedby="group-members-help" '
        'autocomplete="off" spellcheck="false"></textarea>'
        '<p id="group-members-help" class="help">Chat keys, one a line</p>'
        '<button type="submit">Create group</button></form></details>'
    )


def group_panel(chat_id: str, csrf: str, panel: GroupPanel) -> str:
    """The member list; an admin's add and remove; everyone's leave."""
    base = f"/groups/{_e(chat_id)}"
    rows = []
    for m in panel.members:
        remove = ""
        if panel.admin and not m.me and not m.admin:
            remove = member_action(f"/groups/{chat_id}/remove", csrf, "Remove", m.key, m.name)
        rows.append(person_item(m.name, admin=m.admin, actions=remove))
    add = ""
    if panel.admin:
        add = (
            f'<form method="post" action="{base}/add">{_csrf(csrf)}'
            '<label for="member-key">Member chat key</label>'
            '<input id="member-key" name="member" required autocomplete="off">'
            '<button type="submit">Add member</button></form>'
        )
    leave = ""
    if panel.member:
        leave = (
            f'<form method="post" action="{base}/leave" class="inline">{_csrf(csrf)}'
            '<button type="submit">Leave group</button></form>'
        )
    return (
        f'<details class="members" id="members-box"{" open" if panel.open else ""}>'
        "<summary>Members "
        f'<span class="count">{len(panel.members)}</span></summary>'
        f'<ul id="members" aria-label="Members">{"".join(rows)}</ul>{add}{leave}</details>'
    )
