"""HTML pieces the group and community parts of the web client share: escaping, the CSRF
field, a one-button form that acts on a member (Remove, Ban, Accept), and a person's line in
a member list. Every outside value is escaped here, quotes too; callers pass raw text."""

from __future__ import annotations

from html import escape


def e(text: object) -> str:
    """``text`` escaped for HTML text and attribute values (quotes too)."""
    return escape(str(text), quote=True)


def csrf_field(token: str) -> str:
    """The hidden field carrying the session's CSRF token, which every POST form needs."""
    return f'<input type="hidden" name="csrf" value="{e(token)}">'


def member_action(action: str, csrf: str, verb: str, key: str, name: str, here: str = "") -> str:
    """An inline form posting ``member=key`` to ``action`` (a path), its button ``verb``,
    labelled ``<verb> <name>`` for screen readers; ``here`` is raw HTML of further hidden
    fields (already escaped)."""
    return (
        f'<form method="post" action="{e(action)}" class="inline">{csrf_field(csrf)}{here}'
        f'<input type="hidden" name="member" value="{e(key)}">'
        f'<button type="submit" aria-label="{e(verb)} {e(name)}">{e(verb)}</button></form>'
    )


def person_item(name: str, *, admin: bool = False, actions: str = "", label: str = "") -> str:
    """A member list's line: the person's name, an ``admin`` badge, then ``actions`` (raw
    HTML, such as :func:`member_action`'s); ``label`` names the line for screen readers
    (default: the name)."""
    badge = ' <span class="badge">admin</span>' if admin else ""
    return (
        f'<li aria-label="{e(label or name)}"><span class="name">{e(name)}</span>'
        f"{badge}{actions}</li>"
    )
