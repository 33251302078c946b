"""HTML of the account screens: create or restore an account, the recovery phrase shown once,
and its confirmation. Every outside value is escaped (:func:`html.escape`, quotes too)."""

from __future__ import annotations

from html import escape

from pystatus.web.render import page


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _csrf(token: str) -> str:
    return f'<input type="hidden" name="csrf" value="{_e(token)}">'


def _alert(error: str) -> str:
    return f'<p role="alert" class="error">{_e(error)}</p>' if error else ""


def _password_pair(prefix: str) -> str:
    return (
        f'<label for="{prefix}-password">Password</label>'
        f'<input id="{prefix}-password" name="password" type="password" '
        'autocomplete="new-password" minlength="6" required>'
        f'<label for="{prefix}-password2">Repeat password</label>'
        f'<input id="{prefix}-password2" name="password2" type="password" '
        'autocomplete="new-password" minlength="6" required>'
    )


def setup_page(token: str, error: str = "") -> str:
    """The first screen of a data dir without an account: create one, or restore one."""
    return page(
        "New account - pystatus",
        '<main class="unlock"><h1>pystatus</h1><p>This node has no account yet.</p>'
        f"{_alert(error)}"
        '<section aria-labelledby="create-title"><h2 id="create-title">Create account</h2>'
        '<form method="post" action="/account/create">'
        f"{_csrf(token)}"
        '<label for="create-name">Display name</label>'
        '<input id="create-name" name="display_name" autocomplete="nickname" '
        'maxlength="24" autofocus>'
        f"{_password_pair('create')}"
        '<button type="submit">Create account</button></form></section>'
        '<section aria-labelledby="restore-title">'
        '<h2 id="restore-title">Restore from recovery phrase</h2>'
        '<form method="post" action="/account/restore">'
        f"{_csrf(token)}"
        '<label for="restore-phrase">Recovery phrase</label>'
        '<textarea id="restore-phrase" name="phrase" autocomplete="off" spellcheck="false" '
        "required></textarea>"
        '<label for="restore-name">Display name</label>'
        '<input id="restore-name" name="display_name" autocomplete="nickname" maxlength="24">'
        f"{_password_pair('restore')}"
        '<button type="submit">Restore account</button></form></section></main>',
    )


def phrase_page(words: list[str]) -> str:
    """The new recovery phrase, shown this once; the next step asks for some of its words."""
    items = "".join(f"<li>{_e(w)}</li>" for w in words)
    return page(
        "Recovery phrase - pystatus",
        '<main class="unlock"><h1>Your recovery phrase</h1>'
        "<p>Write these words down in this order and keep them safe: they are the only way "
        "to restore the account, and they are shown only this once.</p>"
        f'<ol id="phrase" class="phrase" aria-label="Recovery phrase">{items}</ol>'
        '<a class="button" href="/account/confirm">I wrote it down</a></main>',
    )


def confirm_page(token: str, asked: tuple[int, ...], error: str = "") -> str:
    """Asks for the words at ``asked`` (0-based positions) of the phrase just shown."""
    fields = "".join(
        f'<label for="word-{i}">Word {i + 1}</label>'
        f'<input id="word-{i}" name="word-{i}" autocomplete="off" spellcheck="false" '
        f'autocapitalize="none" required{" autofocus" if n == 0 else ""}>'
        for n, i in enumerate(asked)
    )
    return page(
        "Confirm recovery phrase - pystatus",
        '<main class="unlock"><h1>Confirm your recovery phrase</h1>'
        f"{_alert(error)}"
        '<form method="post" action="/account/confirm">'
        f"{_csrf(token)}{fields}"
        '<button type="submit">Confirm</button></form>'
        '<form method="post" action="/account/cancel">'
        f"{_csrf(token)}"
        '<button type="submit">Start over</button></form></main>',
    )
