"""Who in a community may do what: status-go v1.1.0's roles and their rights.

Roles (``CommunityMember.Roles``, communities.proto): ``ROLE_OWNER`` (1), ``ROLE_ADMIN`` (4),
``ROLE_TOKEN_MASTER`` (5); a member with none is an ordinary member. Owners, admins and token
masters are *privileged* (``IsPrivilegedMember``, ``manageCommunityRoles`` in
``protocol/communities/community.go``), which is also what ``CanManageUsers`` and
``CanDeleteMessageForEveryone`` ask.

Rights by event type follow ``protocol/communities/roles_authorization.go``:

- an admin may send every CommunityEvent type but ``COMMUNITY_TOKEN_ADD``; a token master and
  the owner every type;
- token permissions: admins and token masters may change or delete ``BECOME_MEMBER``,
  ``CAN_VIEW_CHANNEL`` and ``CAN_VIEW_AND_POST_CHANNEL`` ones; only the owner ``BECOME_ADMIN``
  and ``BECOME_TOKEN_MASTER`` ones;
- kick, ban, unban and deleting a banned member's messages: the owner acts on anyone, a token
  master on members who are neither token master nor owner, an admin on members with none of
  the three roles.

The control node itself never sends events (``hasPermissionToSendCommunityEvent`` is false for
it): it signs a new description instead.

Pure functions over role values (ints); no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from pystatus.chat.community import PRIVILEGED, Community, PermissionType, Roles
from pystatus.chat.proto import community_update_pb2 as upb

EventType = upb.CommunityEvent.EventType

ADMIN_EVENTS: frozenset[int] = frozenset(
    {
        EventType.COMMUNITY_EDIT,
        EventType.COMMUNITY_MEMBER_TOKEN_PERMISSION_CHANGE,
        EventType.COMMUNITY_MEMBER_TOKEN_PERMISSION_DELETE,
        EventType.COMMUNITY_CATEGORY_CREATE,
        EventType.COMMUNITY_CATEGORY_DELETE,
        EventType.COMMUNITY_CATEGORY_EDIT,
        EventType.COMMUNITY_CHANNEL_CREATE,
        EventType.COMMUNITY_CHANNEL_DELETE,
        EventType.COMMUNITY_CHANNEL_EDIT,
        EventType.COMMUNITY_CATEGORY_REORDER,
        EventType.COMMUNITY_CHANNEL_REORDER,
        EventType.COMMUNITY_REQUEST_TO_JOIN_ACCEPT,
        EventType.COMMUNITY_REQUEST_TO_JOIN_REJECT,
        EventType.COMMUNITY_MEMBER_KICK,
        EventType.COMMUNITY_MEMBER_BAN,
        EventType.COMMUNITY_MEMBER_UNBAN,
        EventType.COMMUNITY_DELETE_BANNED_MEMBER_MESSAGES,
    }
)
"""Event types an admin may send (``adminAuthorizedEventTypes``)."""

TOKEN_MASTER_EVENTS: frozenset[int] = ADMIN_EVENTS | {EventType.COMMUNITY_TOKEN_ADD}
OWNER_EVENTS = TOKEN_MASTER_EVENTS

EVENTS_BY_ROLE: dict[int, frozenset[int]] = {
    Roles.ROLE_NONE: frozenset(),
    Roles.ROLE_OWNER: OWNER_EVENTS,
    Roles.ROLE_ADMIN: ADMIN_EVENTS,
    Roles.ROLE_TOKEN_MASTER: TOKEN_MASTER_EVENTS,
}

ADMIN_PERMISSIONS: frozenset[int] = frozenset(
    {
        PermissionType.BECOME_MEMBER,
        PermissionType.CAN_VIEW_CHANNEL,
        PermissionType.CAN_VIEW_AND_POST_CHANNEL,
    }
)
OWNER_PERMISSIONS: frozenset[int] = ADMIN_PERMISSIONS | {
    PermissionType.BECOME_ADMIN,
    PermissionType.BECOME_TOKEN_MASTER,
}
PERMISSIONS_BY_ROLE: dict[int, frozenset[int]] = {
    Roles.ROLE_NONE: frozenset(),
    Roles.ROLE_OWNER: OWNER_PERMISSIONS,
    Roles.ROLE_ADMIN: ADMIN_PERMISSIONS,
    Roles.ROLE_TOKEN_MASTER: ADMIN_PERMISSIONS,
}

MEMBER_EVENTS: frozenset[int] = frozenset(
    {
        EventType.COMMUNITY_MEMBER_KICK,
        EventType.COMMUNITY_MEMBER_BAN,
        EventType.COMMUNITY_MEMBER_UNBAN,
        EventType.COMMUNITY_DELETE_BANNED_MEMBER_MESSAGES,
    }
)
"""Events aimed at a member, judged by both roles (``canRolesKickOrBanMember``)."""

PERMISSION_EVENTS: frozenset[int] = frozenset(
    {
        EventType.COMMUNITY_MEMBER_TOKEN_PERMISSION_CHANGE,
        EventType.COMMUNITY_MEMBER_TOKEN_PERMISSION_DELETE,
    }
)


def is_privileged(roles: Iterable[int]) -> bool:
    """status-go's ``IsPrivilegedMember`` (= ``CanManageUsers``) on a member's roles."""
    return bool(PRIVILEGED.intersection(roles))


def can_perform(roles: Iterable[int], event_type: int) -> bool:
    """``canRolesPerformEvent``: some role of ``roles`` may send ``event_type``."""
    return any(event_type in EVENTS_BY_ROLE.get(role, frozenset()) for role in roles)


def can_modify_permission(roles: Iterable[int], permission_type: int) -> bool:
    """``canRolesModifyPermission``: some role may change a token permission of that type."""
    return any(permission_type in PERMISSIONS_BY_ROLE.get(r, frozenset()) for r in roles)


def can_act_on_member(sender_roles: Iterable[int], member_roles: Iterable[int]) -> bool:
    """``canRolesKickOrBanMember``: may a member with ``sender_roles`` kick or ban one with
    ``member_roles``."""
    sender = set(sender_roles)
    member = set(member_roles)
    if Roles.ROLE_OWNER in sender:
        return True
    if Roles.ROLE_TOKEN_MASTER in sender and not member & {
        Roles.ROLE_TOKEN_MASTER,
        Roles.ROLE_OWNER,
    }:
        return True
    return Roles.ROLE_ADMIN in sender and not member & PRIVILEGED


def authorized(
    sender_roles: Iterable[int],
    member_roles: Iterable[int],
    event_type: int,
    permission_type: int | None = None,
) -> bool:
    """``RolesAuthorizedToPerformEvent``: may a member with ``sender_roles`` send an event of
    ``event_type``; ``member_roles`` are the roles of the member it acts on (kick, ban...),
    ``permission_type`` the type of the token permission it changes (permission events)."""
    sender = tuple(sender_roles)
    if not can_perform(sender, event_type):
        return False
    if event_type in PERMISSION_EVENTS:
        return permission_type is not None and can_modify_permission(sender, permission_type)
    if event_type in MEMBER_EVENTS:
        return can_act_on_member(sender, member_roles)
    return True


def may_send_event(
    community: Community, member: str, event_type: int, *, controls: bool = False
) -> bool:
    """``hasPermissionToSendCommunityEvent`` for ``member`` (``0x04...``): not the control
    node (``controls``: we hold the community key; it signs a description instead) and
    holding a role that may send ``event_type``."""
    if controls or member == community.control_node:
        return False
    return can_perform(community.members.get(member, ()), event_type)


def admins(community: Community) -> list[str]:
    """Members with ROLE_ADMIN or ROLE_TOKEN_MASTER (those who change the community through
    events; the owner's account is the control node's), sorted."""
    managing = {Roles.ROLE_ADMIN, Roles.ROLE_TOKEN_MASTER}
    return sorted(
        k
        for k, member_roles in community.members.items()
        if managing.intersection(member_roles) and Roles.ROLE_OWNER not in member_roles
    )
