"""The web client's routes: a Starlette app over one running :class:`Messenger`.

Pages are plain HTML forms posting to the routes below and answered by a 303 back to the
page (so everything works from the keyboard and without script); ``/static/app.js`` adds the
live part: ``GET /events`` is a server-sent event stream, and on each event the script
fetches the current page again and swaps its chat list and messages in (no polling).

Every route but ``/static`` and the unlock page needs the session cookie set by
``POST /unlock``; every POST needs the session's CSRF token (form field ``csrf``) and, when
the browser sends one, an ``Origin`` equal to the page's own. ``POST /send`` with the header
``x-pystatus-fetch: 1`` (the page's script) answers 204 rather than 303. Errors: a bad chat
key, community id or text answers the messenger's message (status 400), a refused group or
community change (not an admin, a read-only channel) 409, never a stack trace. Group routes
are in :mod:`pystatus.web.groups`, community routes in :mod:`pystatus.web.communities`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from prometheus_client import Counter, Gauge
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pystatus.chat.account import KEYSTORE_FILE
from pystatus.chat.community import InvalidCommunity
from pystatus.chat.community_chats import CommunityNotAllowed
from pystatus.chat.content import ContentError
from pystatus.chat.errors import (
    InvalidChatKey,
    KeystoreError,
    NotPermitted,
    UnknownMessage,
    WrongPassword,
)
from pystatus.chat.events import ChatEvent
from pystatus.chat.group import NotAGroupMember
from pystatus.chat.ids import OneToOneChatId, PublicChatId, parse_chat_id
from pystatus.chat.keystore import decrypt, read
from pystatus.chat.membership import InvalidMembershipUpdate, is_group_chat_id
from pystatus.chat.messenger import Messenger
from pystatus.chat.messenger_group import GROUP, group_members
from pystatus.chat.user_input import (
    MAX_TEXT_LENGTH,
    InvalidChatName,
    normalize_public_chat_name,
    parse_chat_key,
    public_key_of,
)
from pystatus.web import render
from pystatus.web.common import COOKIE, PRE_COOKIE, Refused, SecurityHeaders, read_form, token
from pystatus.web.communities import (
    MAX_ID,
    community_handlers,
    community_items,
    community_of_chat,
    community_panel,
)
from pystatus.web.groups import group_handlers, group_panel
from pystatus.web.live import LiveFeed, Unread
from pystatus.web.security import (
    Session,
    Sessions,
    UnlockLimiter,
    UnlockRateLimited,
    csrf_matches,
)

STATIC = Path(__file__).parent / "static"
PAGE = 50
MAX_PAGE = 1000

WEB_REQUESTS = Counter("pystatus_web_refused", "Web client requests refused", ["reason"])
WEB_UNLOCKS = Counter("pystatus_web_unlocks", "Web client unlock attempts", ["result"])
WEB_SESSIONS = Gauge("pystatus_web_sessions", "Web client sessions open")

_log = logging.getLogger(__name__)

NodeView = Callable[[], render.NodePanel]
"""What the node panel shows, read when a page is rendered."""


def _check_password(directory: Path, password: str) -> bool:
    """True when ``password`` opens the account's keystore (scrypt: run in a thread)."""
    try:
        decrypt(read(directory / KEYSTORE_FILE), password)
    except (KeystoreError, WrongPassword):
        return False
    return True


def create_web_app(
    messenger: Messenger,
    *,
    node_view: NodeView | None = None,
    clock: Callable[[], float] = time.monotonic,
    limiter: UnlockLimiter | None = None,
) -> Starlette:
    """The web client of ``messenger``'s account; ``clock`` is monotonic seconds."""
    sessions = Sessions()
    limiter = limiter if limiter is not None else UnlockLimiter()
    feed = LiveFeed(messenger)
    unread = Unread(messenger)
    directory = messenger.account.directory

    def session_of(request: Request) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE), clock())

    form_of = read_form

    async def state_change(request: Request) -> tuple[Session, dict[str, str]]:
        session = session_of(request)
        if session is None:
            raise Refused(401, "no_session", "locked: unlock first")
        form = await form_of(request)
        if not csrf_matches(session, form.get("csrf")):
            raise Refused(403, "csrf", "missing or wrong CSRF token")
        return session, form

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except Refused as exc:
                WEB_REQUESTS.labels(exc.reason).inc()
                response = PlainTextResponse(str(exc), status_code=exc.status)
            except UnlockRateLimited as exc:
                WEB_REQUESTS.labels("unlock_rate").inc()
                response = PlainTextResponse(str(exc), status_code=429)
                response.headers["retry-after"] = str(int(exc.retry_after) + 1)
            except (InvalidChatKey, InvalidChatName, ContentError) as exc:
                WEB_REQUESTS.labels("bad_input").inc()
                response = PlainTextResponse(str(exc), status_code=400)
            except UnknownMessage as exc:
                WEB_REQUESTS.labels("unknown_message").inc()
                response = PlainTextResponse(str(exc), status_code=404)
            except (NotPermitted, NotAGroupMember, CommunityNotAllowed) as exc:
                WEB_REQUESTS.labels("not_permitted").inc()
                response = PlainTextResponse(str(exc), status_code=409)
            except (InvalidMembershipUpdate, InvalidCommunity) as exc:
                WEB_REQUESTS.labels("bad_input").inc()
                response = PlainTextResponse(str(exc), status_code=400)
            WEB_SESSIONS.set(len(sessions))
            return response

        return run

    async def unlock_form(request: Request, error: str = "", status: int = 200) -> Response:
        pre = request.cookies.get(PRE_COOKIE) or token()
        response = HTMLResponse(
            render.unlock_page(pre, messenger.chat_key, error), status_code=status
        )
        response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict")
        return response

    async def index(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return await unlock_form(request)
        return HTMLResponse(await main_view(request, session))

    async def introduction(request_id: str) -> str:
        """The text of a contact request (its ContactRequest message), or ""."""
        if not request_id:
            return ""
        event = await messenger.message(request_id)
        return event.text if event is not None else ""

    async def main_view(request: Request, session: Session, notice: str = "") -> str:
        query = request.query_params
        contacts = {c.chat_key: c for c in await messenger.contacts()}
        counts = unread.counts()
        chats = []
        for row in await messenger.database.chats():
            name = row.name
            if row.kind == "one_to_one":
                person = contacts.get(row.name)
                name = (person.display_name if person else "") or row.name
            active = row.active
            if row.kind == GROUP:  # a group we left or were removed from is not listed
                group = messenger.group(row.id)
                active = group is not None and messenger.chat_key in group_members(group)
            unread_here = counts.get(row.id, 0)
            chats.append(render.ChatItem(row.id, name, row.kind, unread_here, active, row.name))
        requests = [
            render.RequestItem(
                p.chat_key, p.display_name or p.chat_key, await introduction(p.request_id)
            )
            for p in await messenger.requests()
            if p.state == "received"
        ]
        view = render.MainView(
            csrf=session.csrf,
            chat_key=messenger.chat_key,
            display_name=messenger.display_name,
            chats=chats,
            requests=requests,
            node=node_view() if node_view is not None else None,
            notice=notice,
            communities=community_items(messenger, counts),
        )
        names = {c.chat_key: c.display_name for c in contacts.values()}
        community_id = query.get("community", "")
        if community_id and not query.get("chat"):
            if len(community_id) > MAX_ID:
                raise Refused(400, "bad_input", "a community id is 0x and 66 hex digits")
            view.community = community_panel(messenger, community_id, names)
        wanted = query.get("chat")
        shown = next((c for c in chats if c.id == wanted), None)
        if shown is not None:
            view.chat = shown
            unread.read(shown.id)
            view.chats = [replace(c, unread=0) if c.id == shown.id else c for c in chats]
            view.communities = community_items(messenger, unread.counts())
            if shown.kind == "one_to_one":
                person = contacts.get(shown.key)
                view.contact_state = person.state if person else "none"
            group = messenger.group(shown.id) if shown.kind == GROUP else None
            if group is not None:
                view.group = replace(
                    group_panel(group, messenger.chat_key, names), open=query.get("members") == "1"
                )
            community = (
                community_of_chat(messenger, shown.id) if shown.kind == "community" else None
            )
            if community is not None:
                view.community = community_panel(messenger, community.id, names, shown.id)
            limit = _limit(query.get("limit"))
            history = await messenger.history(shown.id, limit + 1)
            view.more = len(history) > limit
            # A group member's messages carry no name of their own: the contact's, if known.
            view.messages = [
                replace(e, display_name=contacts[e.author].display_name)
                if not e.display_name and e.author in contacts
                else e
                for e in history[-limit:]
            ]
            view.limit = limit
            for event in view.messages:
                standing = await messenger.reactions(event.id)
                if standing:
                    view.reactions[event.id] = [r for _, r in standing]
            view.reply_to = _find(view.messages, query.get("reply"))
            editing = _find(view.messages, query.get("edit"))
            view.editing = editing if editing is not None and editing.outgoing else None
        return render.main_page(view)

    async def unlock(request: Request) -> Response:
        form = await form_of(request)
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or form.get("csrf") != pre:
            raise Refused(403, "csrf", "missing or wrong CSRF token")
        limiter.attempt(clock())
        password = form.get("password", "")
        if not await asyncio.to_thread(_check_password, directory, password):
            WEB_UNLOCKS.labels("wrong_password").inc()
            return await unlock_form(request, "Wrong password", 401)
        WEB_UNLOCKS.labels("unlocked").inc()
        session = sessions.open(clock())
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, session.id, httponly=True, samesite="strict")
        response.delete_cookie(PRE_COOKIE)
        return response

    async def lock(request: Request) -> Response:
        session, _ = await state_change(request)
        sessions.close(session.id)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def back(chat: str, **extra: object) -> Response:
        query = {"chat": chat, **{k: str(v) for k, v in extra.items() if v}}
        return RedirectResponse("/?" + urlencode(query), status_code=303)

    async def start_chat(request: Request) -> Response:
        _, form = await state_change(request)
        chat_id = await messenger.add_contact(parse_chat_key(form.get("chat_key", "").strip()))
        return back(chat_id)

    async def join_chat(request: Request) -> Response:
        _, form = await state_change(request)
        name = form.get("name", "")
        if len(name) > 100:
            raise Refused(400, "bad_input", "a public chat name is at most 100 characters")
        return back(await messenger.join_public_chat(normalize_public_chat_name(name)))

    async def contact(request: Request) -> Response:
        _, form = await state_change(request)
        key = parse_chat_key(request.path_params["key"])
        action = request.path_params["action"]
        if action == "request":
            await messenger.send_contact_request(key, _text(form))
        elif action == "accept":
            await messenger.accept_contact_request(key)
        elif action == "decline":
            await messenger.decline_contact_request(key)
            return RedirectResponse("/", status_code=303)
        else:
            raise Refused(404, "not_found", "no such action")
        return back(OneToOneChatId.of(_key_bytes(key)).text)

    async def send(request: Request) -> Response:
        _, form = await state_change(request)
        chat = form.get("chat", "")
        text = _text(form)
        reply = form.get("response_to", "")
        if is_group_chat_id(chat):
            await messenger.send_group(chat, text, response_to=reply)
        elif community_of_chat(messenger, chat) is not None:
            await messenger.send_community(chat, text, response_to=reply)
        else:
            target = parse_chat_id(chat)
            if isinstance(target, OneToOneChatId):
                await messenger.send(parse_chat_key(chat), text, response_to=reply)
            elif isinstance(target, PublicChatId):
                await messenger.send_public(target.name, text, response_to=reply)
            else:  # a group's or channel's form, but none this account has
                raise Refused(404, "not_found", "no such group or community channel")
        if request.headers.get("x-pystatus-fetch") == "1":
            return Response(status_code=204)  # the page's script fetches the chat again
        return back(chat)

    async def message_action(request: Request) -> Response:
        _, form = await state_change(request)
        message_id = request.path_params["id"]
        chat = form.get("chat", "")
        action = request.path_params["action"]
        if action == "react":
            reaction = form.get("reaction", "")
            if not reaction.isdigit():
                raise Refused(400, "bad_input", "a reaction is 1 to 6")
            await messenger.react(chat, message_id, int(reaction))
        elif action == "edit":
            await messenger.edit(message_id, _text(form))
        elif action == "delete":
            await messenger.delete(message_id)
        elif action == "resend":
            event = await messenger.message(message_id)
            if event is None or not event.outgoing or event.status != "failed":
                raise Refused(409, "not_failed", "only a failed message of ours is resent")
            await messenger.resend(message_id)
        else:
            raise Refused(404, "not_found", "no such action")
        return back(chat)

    async def events(request: Request) -> Response:
        if session_of(request) is None:
            raise Refused(401, "no_session", "locked: unlock first")
        stream = feed.open()
        if stream is None:
            raise Refused(503, "no_stream", "too many event streams open, or stopping")

        async def body() -> AsyncIterator[bytes]:
            with contextlib.closing(stream):
                yield b"retry: 2000\n\n"
                async for event in stream:
                    yield _sse(event)

        return StreamingResponse(body(), media_type="text/event-stream")

    routes = [
        Route("/", guarded(index), methods=["GET"]),
        Route("/unlock", guarded(unlock), methods=["POST"]),
        Route("/lock", guarded(lock), methods=["POST"]),
        Route("/chats/start", guarded(start_chat), methods=["POST"]),
        Route("/chats/join", guarded(join_chat), methods=["POST"]),
        Route("/contacts/{key}/{action}", guarded(contact), methods=["POST"]),
        Route("/send", guarded(send), methods=["POST"]),
        Route("/messages/{id}/{action}", guarded(message_action), methods=["POST"]),
        Route("/events", guarded(events), methods=["GET"]),
        *(
            Route(path, guarded(handler), methods=["POST"])
            for path, handler in group_handlers(messenger, state_change, back).items()
        ),
        *(
            Route(path, guarded(handler), methods=["POST"])
            for path, handler in community_handlers(messenger, state_change, back).items()
        ),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])
    app.state.feed = feed
    app.state.sessions = sessions
    return app


def end_streams(app: Starlette) -> None:
    """End the app's open event streams, so that its server can stop."""
    feed: LiveFeed = app.state.feed
    feed.end()


def _limit(text: str | None) -> int:
    if text is None or not text.isdigit():
        return PAGE
    return max(1, min(int(text), MAX_PAGE))


def _text(form: dict[str, str]) -> str:
    text = form.get("text", "")
    if not text.strip():
        raise Refused(400, "bad_input", "write something first")
    if len(text) > MAX_TEXT_LENGTH:
        raise Refused(400, "bad_input", f"a message is at most {MAX_TEXT_LENGTH} characters")
    return text


def _key_bytes(chat_key: str) -> bytes:
    return public_key_of(chat_key)


def _find(messages: list[ChatEvent], message_id: str | None) -> ChatEvent | None:
    if not message_id:
        return None
    return next((m for m in messages if m.id == message_id), None)


def _sse(event: ChatEvent) -> bytes:
    """One server-sent event: what changed and where, never the text (the page is fetched
    again, rendered and escaped by the server)."""
    data = {"kind": event.kind, "chat": event.chat_id, "outgoing": event.outgoing}
    return f"event: chat\ndata: {json.dumps(data)}\n\n".encode()
