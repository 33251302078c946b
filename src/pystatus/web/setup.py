"""Creating or restoring the account in the browser, when the data dir has none (issue 18).

The first screen offers "Create account" (display name, password twice) and "Restore from
recovery phrase". A new phrase is made by the account code the CLI uses
(:meth:`pystatus.chat.account.Account.restore` over :func:`~pystatus.chat.keys.new_mnemonic`)
but nothing is written until the user has typed back :data:`CONFIRM_WORDS` of its words: until
then the phrase and password live in memory only (:class:`PendingAccounts`, bounded, expiring),
keyed by a random HttpOnly cookie. The phrase is shown once (a second visit of its page goes
on to the confirmation), never put in a URL, cookie or log (it is registered with the log
redaction filter), and no page shows it after confirmation. Wrong words are refused and
counted; after :data:`MAX_CONFIRM_ATTEMPTS` the pending account is dropped.

:class:`WebRoot` serves these screens until the account exists, then starts its messenger,
opens a session and hands every request on to the chat client of
:func:`pystatus.web.app.create_web_app`.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import Counter, Gauge
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from pystatus.chat.account import MIN_PASSWORD_LENGTH, Account
from pystatus.chat.content import ContentError
from pystatus.chat.content.validation import validate_display_name
from pystatus.chat.errors import AccountError, InvalidMnemonic
from pystatus.chat.keys import new_mnemonic, normalize_mnemonic
from pystatus.chat.keystore import ScryptParams
from pystatus.chat.messenger import Messenger
from pystatus.redaction import register_secret
from pystatus.web import render_account
from pystatus.web.common import (
    COOKIE,
    PRE_COOKIE,
    Refused,
    SecurityHeaders,
    read_form,
    token,
)
from pystatus.web.security import UnlockLimiter, UnlockRateLimited

STATIC = Path(__file__).parent / "static"
SETUP_COOKIE = "pystatus_setup"
CONFIRM_WORDS = 3
MAX_CONFIRM_ATTEMPTS = 5
MAX_PENDING = 8
PENDING_LIFETIME = 15 * 60.0
"""Seconds a created, unconfirmed account is kept in memory (monotonic clock)."""

WEB_ACCOUNTS = Counter(
    "pystatus_web_account_setup", "Web client account creation steps", ["result"]
)

WEB_PENDING = Gauge("pystatus_web_pending_accounts", "Web client accounts awaiting confirmation")


@dataclass(slots=True)
class PendingAccount:
    """A created account awaiting confirmation: ``asked`` are 0-based word positions,
    ``expires`` monotonic seconds."""

    id: str
    phrase: str = field(repr=False)
    password: str = field(repr=False)
    display_name: str
    asked: tuple[int, ...]
    expires: float
    shown: bool = False
    attempts: int = 0

    def words(self) -> list[str]:
        return self.phrase.split()

    def confirms(self, typed: list[str]) -> bool:
        """True when ``typed`` are the asked words (case and spaces aside)."""
        words = self.words()
        wanted = [words[i] for i in self.asked]
        given = [t.strip().lower() for t in typed]
        return secrets.compare_digest(" ".join(given).encode(), " ".join(wanted).encode())


class PendingAccounts:
    """At most :data:`MAX_PENDING` pending accounts (the oldest dropped for a new one), each
    for :data:`PENDING_LIFETIME` seconds; sans-IO, ``now`` is monotonic seconds."""

    def __init__(self, capacity: int = MAX_PENDING, lifetime: float = PENDING_LIFETIME) -> None:
        self._table: collections.OrderedDict[str, PendingAccount] = collections.OrderedDict()
        self._capacity = capacity
        self._lifetime = lifetime

    def __len__(self) -> int:
        return len(self._table)

    def new(self, phrase: str, password: str, display_name: str, now: float) -> PendingAccount:
        while len(self._table) >= self._capacity:
            self._table.popitem(last=False)
            WEB_ACCOUNTS.labels("pending_evicted").inc()
        count = len(phrase.split())
        asked = tuple(sorted(secrets.SystemRandom().sample(range(count), CONFIRM_WORDS)))
        pending = PendingAccount(
            token(), phrase, password, display_name, asked, now + self._lifetime
        )
        self._table[pending.id] = pending
        WEB_PENDING.set(len(self._table))
        return pending

    def get(self, pending_id: str | None, now: float) -> PendingAccount | None:
        pending = self._table.get(pending_id or "")
        if pending is not None and pending.expires <= now:
            self.drop(pending.id)
            WEB_ACCOUNTS.labels("pending_expired").inc()
            return None
        return pending

    def drop(self, pending_id: str) -> None:
        self._table.pop(pending_id, None)
        WEB_PENDING.set(len(self._table))

    def clear(self) -> None:
        self._table.clear()
        WEB_PENDING.set(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSetup:
    """How the web client makes the account of a data dir that has none: ``directory`` is
    the account's (``<data dir>/account``), ``messenger_for`` builds its messenger (not yet
    started), ``params`` the keystore's scrypt cost (None: the standard one)."""

    directory: Path
    messenger_for: Callable[[Account], Messenger]
    params: ScryptParams | None = None


Finish = Callable[[Account, str], Awaitable[str]]
"""Starts the new account's messenger with a display name; returns a session id."""


def create_setup_app(
    setup: AccountSetup,
    finish: Finish,
    *,
    clock: Callable[[], float],
    limiter: UnlockLimiter,
) -> Starlette:
    """The account screens of :mod:`pystatus.web.setup`; ``clock`` is monotonic seconds."""
    pending_accounts = PendingAccounts()
    done = asyncio.Lock()

    def pending_of(request: Request) -> PendingAccount | None:
        return pending_accounts.get(request.cookies.get(SETUP_COOKIE), clock())

    async def checked_form(request: Request) -> dict[str, str]:
        form = await read_form(request)
        pre = request.cookies.get(PRE_COOKIE)
        if not pre or not secrets.compare_digest(form.get("csrf", "").encode(), pre.encode()):
            raise Refused(403, "csrf", "missing or wrong CSRF token")
        return form

    def pre_token(request: Request) -> str:
        return request.cookies.get(PRE_COOKIE) or token()

    def with_pre(response: Response, value: str) -> Response:
        response.set_cookie(PRE_COOKIE, value, httponly=True, samesite="strict")
        return response

    async def start_page(request: Request, error: str = "", status: int = 200) -> Response:
        value = pre_token(request)
        return with_pre(
            HTMLResponse(render_account.setup_page(value, error), status_code=status), value
        )

    def new_password(form: dict[str, str]) -> str:
        password = form.get("password", "")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise Refused(
                400, "bad_input", f"a password has at least {MIN_PASSWORD_LENGTH} characters"
            )
        if not secrets.compare_digest(password.encode(), form.get("password2", "").encode()):
            raise Refused(400, "bad_input", "the two passwords differ")
        return password

    async def opened(account: Account, display_name: str) -> Response:
        session_id = await finish(account, display_name)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, session_id, httponly=True, samesite="strict")
        response.delete_cookie(PRE_COOKIE)
        response.delete_cookie(SETUP_COOKIE)
        return response

    async def create(request: Request) -> Response:
        form = await checked_form(request)
        try:
            display_name = validate_display_name(form.get("display_name", ""))
            password = new_password(form)
        except (Refused, ContentError) as exc:
            WEB_ACCOUNTS.labels("bad_input").inc()
            return await start_page(request, str(exc), 400)
        phrase = new_mnemonic()
        register_secret(phrase)
        pending = pending_accounts.new(phrase, password, display_name, clock())
        WEB_ACCOUNTS.labels("created").inc()
        response = RedirectResponse("/account/phrase", status_code=303)
        response.set_cookie(SETUP_COOKIE, pending.id, httponly=True, samesite="strict")
        return response

    async def phrase(request: Request) -> Response:
        pending = pending_of(request)
        if pending is None:
            return RedirectResponse("/", status_code=303)
        if pending.shown:  # shown once: a reload goes on to the confirmation
            return RedirectResponse("/account/confirm", status_code=303)
        pending.shown = True
        return HTMLResponse(render_account.phrase_page(pending.words()))

    async def confirm_form(request: Request, error: str = "", status: int = 200) -> Response:
        pending = pending_of(request)
        if pending is None:
            return RedirectResponse("/", status_code=303)
        value = pre_token(request)
        html = render_account.confirm_page(value, pending.asked, error)
        return with_pre(HTMLResponse(html, status_code=status), value)

    async def confirm(request: Request) -> Response:
        form = await checked_form(request)
        pending = pending_of(request)
        if pending is None:
            return await start_page(request, "That account was not confirmed in time: start over")
        limiter.attempt(clock())
        if not pending.confirms([form.get(f"word-{i}", "") for i in pending.asked]):
            WEB_ACCOUNTS.labels("wrong_words").inc()
            pending.attempts += 1
            if pending.attempts >= MAX_CONFIRM_ATTEMPTS:
                pending_accounts.drop(pending.id)
                return await start_page(request, "Too many wrong words: start over", 400)
            return await confirm_form(
                request, "Those are not the words of your recovery phrase", 400
            )
        async with done:
            account = await asyncio.to_thread(
                Account.restore,
                setup.directory,
                pending.phrase,
                pending.password,
                params=setup.params,
            )
            pending_accounts.clear()
            WEB_ACCOUNTS.labels("confirmed").inc()
            return await opened(account, pending.display_name)

    async def restore(request: Request) -> Response:
        form = await checked_form(request)
        limiter.attempt(clock())
        try:
            display_name = validate_display_name(form.get("display_name", ""))
            password = new_password(form)
            phrase = normalize_mnemonic(form.get("phrase", ""))
        except (Refused, ContentError, InvalidMnemonic) as exc:
            WEB_ACCOUNTS.labels("bad_input").inc()
            return await start_page(request, str(exc), 400)
        register_secret(phrase)
        async with done:
            account = await asyncio.to_thread(
                Account.restore, setup.directory, phrase, password, params=setup.params
            )
            pending_accounts.clear()
            WEB_ACCOUNTS.labels("restored").inc()
            return await opened(account, display_name)

    async def cancel(request: Request) -> Response:
        await checked_form(request)
        pending = pending_of(request)
        if pending is not None:
            pending_accounts.drop(pending.id)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SETUP_COOKIE)
        return response

    async def elsewhere(request: Request) -> Response:
        return PlainTextResponse("no account yet: create one at /", status_code=401)

    def guarded(
        handler: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as exc:
                WEB_ACCOUNTS.labels(exc.reason).inc()
                return PlainTextResponse(str(exc), status_code=exc.status)
            except UnlockRateLimited as exc:
                WEB_ACCOUNTS.labels("rate_limited").inc()
                response = PlainTextResponse(str(exc), status_code=429)
                response.headers["retry-after"] = str(int(exc.retry_after) + 1)
                return response
            except AccountError as exc:  # the account appeared meanwhile, a disk error
                WEB_ACCOUNTS.labels("account_error").inc()
                return PlainTextResponse(str(exc), status_code=409)

        return run

    routes = [
        Route("/", guarded(start_page), methods=["GET"]),
        Route("/account/create", guarded(create), methods=["POST"]),
        Route("/account/phrase", guarded(phrase), methods=["GET"]),
        Route("/account/confirm", guarded(confirm_form), methods=["GET"]),
        Route("/account/confirm", guarded(confirm), methods=["POST"]),
        Route("/account/restore", guarded(restore), methods=["POST"]),
        Route("/account/cancel", guarded(cancel), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/{rest:path}", elsewhere, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])


class WebRoot:
    """ASGI app: the account screens until the account exists, then the chat client of the
    messenger it started (``build`` makes that client; its ``state.sessions`` opens the
    first session). ``clock`` is monotonic seconds."""

    def __init__(
        self,
        setup: AccountSetup,
        build: Callable[[Messenger], Starlette],
        *,
        clock: Callable[[], float],
        limiter: UnlockLimiter,
    ) -> None:
        self._build = build
        self._setup = setup
        self._clock = clock
        self.main: Starlette | None = None
        self.messenger: Messenger | None = None
        self._account_app = create_setup_app(setup, self._finish, clock=clock, limiter=limiter)

    async def _finish(self, account: Account, display_name: str) -> str:
        messenger = self._setup.messenger_for(account)
        await messenger.start()
        self.messenger = messenger
        if display_name:
            await messenger.set_display_name(display_name)
        main = self._build(messenger)
        self.main = main
        session_id: str = main.state.sessions.open(self._clock()).id
        return session_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.main or self._account_app)(scope, receive, send)
