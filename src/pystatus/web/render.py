"""HTML of the web client's pages, rendered on the server.

Every value from outside (message text, names, keys, ids) goes through :func:`html.escape`
with quotes escaped, so text is shown as text: markup in a message is never markup, and no
text is ever made a link (a ``javascript:`` URL stays words). Pages load one script and one
stylesheet from ``/static`` and carry no inline script or style (the CSP forbids both).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode

from pystatus.chat.events import ChatEvent
from pystatus.web.render_community import (
    READ_ONLY_NOTICE,
    CommunityItem,
    CommunityPanel,
    community_forms,
    community_items,
    community_panel,
)
from pystatus.web.render_group import GroupPanel, group_panel, new_group_form

REACTIONS = {
    1: ("\u2764\ufe0f", "love"),
    2: ("\U0001f44d", "thumbs up"),
    3: ("\U0001f44e", "thumbs down"),
    4: ("\U0001f602", "laugh"),
    5: ("\U0001f622", "sad"),
    6: ("\U0001f620", "angry"),
}
"""EmojiReaction types (status-go protocol/protobuf/emoji_reaction.proto) as shown."""

TICKS = {
    "pending": "\u25cb",
    "sent": "\u2713",
    "stored": "\u2713",
    "delivered": "\u2713\u2713",
    "failed": "!",
}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


@dataclass(frozen=True, slots=True)
class ChatItem:
    id: str
    name: str
    kind: str
    unread: int
    active: bool = True
    key: str = ""
    """The chat key of a 1:1 chat's other person (``zQ3...``); a public chat's name."""


@dataclass(frozen=True, slots=True)
class RequestItem:
    chat_key: str
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class NodePanel:
    """What the node panel shows; bytes since the node started."""

    peers: int
    shards: tuple[int, ...]
    store_node: str
    bytes_in: int
    bytes_out: int


@dataclass(slots=True)
class MainView:
    csrf: str
    chat_key: str
    display_name: str
    chats: list[ChatItem]
    requests: list[RequestItem]
    node: NodePanel | None
    chat: ChatItem | None = None
    contact_state: str = ""
    messages: list[ChatEvent] = field(default_factory=list)
    reactions: dict[str, list[int]] = field(default_factory=dict)
    limit: int = 50
    more: bool = False
    reply_to: ChatEvent | None = None
    editing: ChatEvent | None = None
    notice: str = ""
    group: GroupPanel | None = None
    communities: list[CommunityItem] = field(default_factory=list)
    community: CommunityPanel | None = None
    """The community shown (alone, or around its channel :attr:`chat`)."""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/app.css">'
        '<script src="/static/app.js" defer></script></head>'
        f"<body>{body}</body></html>"
    )


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(token)}">'


def unlock_page(token: str, chat_key: str, error: str = "") -> str:
    alert = f'<p role="alert" class="error">{_e(error)}</p>' if error else ""
    return page(
        "Unlock - pystatus",
        '<main class="unlock"><h1>pystatus</h1>'
        f'<p>Account <code class="key">{_e(chat_key)}</code></p>{alert}'
        '<form method="post" action="/unlock">'
        f"{_csrf(token)}"
        '<label for="password">Password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" '
        "required autofocus>"
        '<button type="submit">Unlock</button></form></main>',
    )


def _url(chat: str, **extra: object) -> str:
    query = {"chat": chat, **{k: str(v) for k, v in extra.items() if v}}
    return "/?" + urlencode(query)


def _post(action: str, csrf: str, label: str, *, fields: dict[str, str] | None = None) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{_e(k)}" value="{_e(v)}">' for k, v in (fields or {}).items()
    )
    return (
        f'<form method="post" action="{_e(action)}" class="inline">{_csrf(csrf)}{hidden}'
        f'<button type="submit">{_e(label)}</button></form>'
    )


_CURRENT = ' aria-current="page"'


SECTIONS = (
    ("chats", "Chats", ("one_to_one", "public")),
    ("groups", "Groups", ("group",)),
    ("communities", "Communities", ("community",)),
)
"""The sidebar's chat lists: element id, heading, and the chat kinds each holds (a kind
added here gets its own list). Communities list communities, not their channels: a
community's screen lists its channels."""


def _chat_items(view: MainView, kinds: tuple[str, ...]) -> str:
    return "".join(
        f'<li aria-label="{_e(c.name)}"{_CURRENT if view.chat and view.chat.id == c.id else ""}>'
        f'<a href="{_e(_url(c.id))}">{_e(c.name)}</a>'
        + (
            f' <span class="unread" aria-label="{c.unread} unread">{c.unread}</span>'
            if c.unread
            else ""
        )
        + "</li>"
        for c in view.chats
        if c.active and c.kind in kinds
    )


def _section_items(view: MainView, key: str, kinds: tuple[str, ...]) -> str:
    if key == "communities":
        current = view.community.id if view.community is not None else ""
        return community_items(view.csrf, view.communities, current)
    return _chat_items(view, kinds)


def _sidebar(view: MainView) -> str:
    lists = "".join(
        f'<h2 id="{key}-title">{title}</h2>'
        f'<ul id="{key}" aria-labelledby="{key}-title">{_section_items(view, key, kinds)}</ul>'
        for key, title, kinds in SECTIONS
    )
    requests = "".join(
        f'<li aria-label="Request from {_e(r.name)}"><span class="name">{_e(r.name)}</span>'
        + (f'<p class="text intro">{_e(r.text)}</p>' if r.text else "")
        + _post(f"/contacts/{r.chat_key}/accept", view.csrf, "Accept")
        + _post(f"/contacts/{r.chat_key}/decline", view.csrf, "Decline")
        + "</li>"
        for r in view.requests
    )
    return (
        '<nav aria-label="Chats" class="sidebar">'
        f'<p class="me">You: <span class="name">{_e(view.display_name or "no display name")}</span>'
        f' <code class="key">{_e(view.chat_key)}</code></p>'
        '<form method="post" action="/chats/start">'
        f"{_csrf(view.csrf)}"
        '<label for="chat-key">Chat key</label>'
        '<input id="chat-key" name="chat_key" required autocomplete="off">'
        '<button type="submit">Start chat</button></form>'
        '<form method="post" action="/chats/join">'
        f"{_csrf(view.csrf)}"
        '<label for="public-name">Public chat</label>'
        '<input id="public-name" name="name" required autocomplete="off">'
        '<button type="submit">Join</button></form>'
        + '<div id="requests-box">'
        + (
            f'<h2 id="requests-title">Contact requests</h2><ul id="requests" '
            f'aria-labelledby="requests-title">{requests}</ul>'
            if requests
            else ""
        )
        + "</div>"
        + new_group_form(view.csrf)
        + community_forms(view.csrf)
        + lists
        + '<div class="tools"><button type="button" id="theme">Dark theme</button>'
        '<button type="button" id="notify">Notifications</button>'
        + _post("/lock", view.csrf, "Lock")
        + "</div>"
        + f'<div id="node-box">{_node_panel(view.node)}</div>'
        + "</nav>"
    )


def _node_panel(node: NodePanel | None) -> str:
    if node is None:
        return ""
    shards = ", ".join(str(s) for s in node.shards) or "none"
    return (
        '<section aria-labelledby="node-title" class="node"><h2 id="node-title">Node</h2><dl>'
        f"<dt>Peers</dt><dd>{node.peers}</dd><dt>Shards</dt><dd>{_e(shards)}</dd>"
        f"<dt>Store node</dt><dd>{_e(node.store_node or 'none')}</dd>"
        f"<dt>Bandwidth</dt><dd>{node.bytes_in:,} B in, {node.bytes_out:,} B out</dd>"
        "</dl></section>"
    )


def _message(view: MainView, event: ChatEvent) -> str:
    assert view.chat is not None
    chat = view.chat.id
    author = "You" if event.outgoing else (event.display_name or event.author)
    parts = [
        f'<li class="msg{" mine" if event.outgoing else ""}" id="m-{_e(event.id)}" '
        f'data-id="{_e(event.id)}"><span class="author">{_e(author)}</span>'
    ]
    if event.response_to:
        quoted = next((m for m in view.messages if m.id == event.response_to), None)
        parts.append(
            '<blockquote class="reply">'
            + _e(quoted.text if quoted is not None else "an earlier message")
            + "</blockquote>"
        )
    if event.deleted:
        parts.append('<p class="text deleted">This message was deleted</p>')
    else:
        parts.append(f'<p class="text">{_e(event.text)}</p>')
    if event.edited and not event.deleted:
        parts.append('<span class="edited">(edited)</span>')
    if event.outgoing and event.status:
        parts.append(
            f'<span class="tick tick-{_e(event.status)}" data-status="{_e(event.status)}">'
            f'<span aria-hidden="true">{TICKS.get(event.status, "")}</span> '
            f"{_e(event.status)}</span>"
        )
    standing = view.reactions.get(event.id, [])
    if standing:
        shown = " ".join(
            f"{REACTIONS[r][0]} {standing.count(r)}"
            for r in sorted(set(standing))
            if r in REACTIONS
        )
        parts.append(f'<span class="reactions" aria-label="Reactions">{_e(shown)}</span>')
    # Community channels: reactions where we may post; our posts edited and deleted, and
    # others' deleted by the control node (status-go's CanDeleteMessageForEveryone); a
    # failed post resent as in any chat (sealed again under its channel's key).
    channel = view.chat.kind == "community"
    community = view.community if channel else None
    may_react = community is None or community.may_post
    moderator = community is not None and community.controlled
    if not event.deleted:
        parts.append('<div class="actions">')
        parts.append(
            f'<a href="{_e(_url(chat, reply=event.id, limit=view.limit))}" '
            f'aria-label="Reply to {_e(author)}">Reply</a>'
        )
        for reaction, (emoji, name) in REACTIONS.items() if may_react else ():
            parts.append(
                f'<form method="post" action="/messages/{_e(event.id)}/react" class="inline">'
                f'{_csrf(view.csrf)}<input type="hidden" name="chat" value="{_e(chat)}">'
                f'<input type="hidden" name="reaction" value="{reaction}">'
                f'<button type="submit" aria-label="React {name}">{emoji}</button></form>'
            )
        if event.outgoing:
            parts.append(
                f'<a href="{_e(_url(chat, edit=event.id, limit=view.limit))}">Edit</a>'
                + _post(f"/messages/{event.id}/delete", view.csrf, "Delete", fields={"chat": chat})
            )
        elif moderator:
            parts.append(
                _post(f"/messages/{event.id}/delete", view.csrf, "Delete", fields={"chat": chat})
            )
        if event.outgoing and event.status == "failed":
            parts.append(
                _post(f"/messages/{event.id}/resend", view.csrf, "Resend", fields={"chat": chat})
            )
        parts.append("</div>")
    parts.append("</li>")
    return "".join(parts)


def _composer(view: MainView) -> str:
    assert view.chat is not None
    chat = view.chat.id
    if view.editing is not None:
        return (
            f'<form method="post" action="/messages/{_e(view.editing.id)}/edit" class="composer">'
            f'{_csrf(view.csrf)}<input type="hidden" name="chat" value="{_e(chat)}">'
            '<label for="edit-text">Edit message</label>'
            f'<textarea id="edit-text" name="text" required>{_e(view.editing.text)}</textarea>'
            f'<button type="submit">Save</button> <a href="{_e(_url(chat))}">Cancel</a></form>'
        )
    reply = ""
    if view.reply_to is not None:
        reply = (
            f'<input type="hidden" name="response_to" value="{_e(view.reply_to.id)}">'
            f'<p class="replying">Replying to: {_e(view.reply_to.text)} '
            f'<a href="{_e(_url(chat))}">Cancel reply</a></p>'
        )
    return (
        '<form method="post" action="/send" class="composer" id="composer">'
        f'{_csrf(view.csrf)}<input type="hidden" name="chat" value="{_e(chat)}">{reply}'
        '<label for="message">Message</label>'
        '<textarea id="message" name="text" required autofocus></textarea>'
        '<button type="submit">Send</button>'
        '<p id="send-status" role="status" class="error"></p></form>'
    )


def _conversation(view: MainView) -> str:
    if view.chat is None and view.community is not None:
        shown = view.community
        return (
            f'<main id="conversation" data-community="{_e(shown.id)}"><header>'
            f"<h1>{_e(shown.name or 'Community')}</h1>"
            f"{community_panel(view.csrf, shown)}</header>"
            + ('<p class="empty">Pick a channel.</p>' if shown.joined else "")
            + "</main>"
        )
    if view.chat is None:
        return '<main id="conversation" class="empty"><p>Pick a chat or start one.</p></main>'
    chat = view.chat
    contact = ""
    if chat.kind == "one_to_one" and view.contact_state not in ("mutual", "sent"):
        contact = (
            f'<form method="post" action="/contacts/{_e(chat.key)}/request" class="inline">'
            f"{_csrf(view.csrf)}"
            '<label for="introduction">Introduction</label> '
            '<input id="introduction" name="text" value="Hi, add me" required maxlength="280">'
            '<button type="submit">Send contact request</button></form>'
        )
    elif view.contact_state == "sent":
        contact = '<span class="state">Contact request sent</span>'
    older = (
        f'<a id="older" href="{_e(_url(chat.id, limit=view.limit + 50))}">Older messages</a>'
        if view.more
        else ""
    )
    members = ""
    composer = _composer(view)
    if chat.kind == "group" and view.group is not None:
        members = group_panel(chat.id, view.csrf, view.group)
        if not view.group.member:  # left or removed: the chat layer would refuse a send
            composer = '<p class="notice">You are no longer a member of this group.</p>'
    if chat.kind == "community" and view.community is not None:
        members = community_panel(view.csrf, view.community)
        if not view.community.may_post:  # the chat layer would refuse it (status-go's CanPost)
            composer = f'<p class="notice" id="read-only">{_e(READ_ONLY_NOTICE)}</p>'

    messages = "".join(_message(view, m) for m in view.messages)
    notice = f'<p role="status" class="notice">{_e(view.notice)}</p>' if view.notice else ""
    return (
        f'<main id="conversation" data-chat="{_e(chat.id)}" data-limit="{view.limit}">'
        f"<header><h1>{_e(chat.name)}</h1>{contact}{members}</header>{notice}"
        f'<div id="history">{older}<ol id="messages" aria-label="Messages">{messages}</ol></div>'
        f"{composer}</main>"
    )


def main_page(view: MainView) -> str:
    title = f"{view.chat.name} - pystatus" if view.chat else "pystatus"
    return page(title, f'<div class="app">{_sidebar(view)}{_conversation(view)}</div>')
