"""The browser client: ``pystatus node --chat --web`` serves it at http://127.0.0.1:8646/.

Design decision (issue 18): rendered on the server. Pages are HTML built by
:mod:`pystatus.web.render` (every outside value escaped, so message text is shown as text),
with plain forms that post and answer 303 back to the page, so the client works from the
keyboard and without script. One hand-written script, ``static/app.js`` (committed as is,
nothing is built at run time or by ``make``), subscribes to ``GET /events``, a server-sent
event stream fed by the messenger's listeners, and on each event fetches the page again and
swaps its changing parts in: live updates with no polling. It also keeps the theme, asks
for notifications and pages history as the user scrolls up. No template engine or front-end
framework is needed for pages this size, so the client adds no dependency.

Security (:mod:`pystatus.web.security`): 127.0.0.1 unless ``--web-address`` says otherwise;
an HttpOnly SameSite=Strict session cookie after the account's password is checked against
its keystore; rate-limited unlock attempts; a CSRF token in every form that changes state;
a Content-Security-Policy forbidding inline scripts and styles.

The composer is the one form the script takes over: it posts with ``fetch`` and the server
answers 204 instead of 303, so sending does not reload the page (without script it posts as
the others do).

Modules: :mod:`~pystatus.web.app` (routes), :mod:`~pystatus.web.groups` (private group
routes), :mod:`~pystatus.web.setup` (creating or restoring the account when the data dir has
none), :mod:`~pystatus.web.render`, :mod:`~pystatus.web.render_group` and
:mod:`~pystatus.web.render_account` (HTML), :mod:`~pystatus.web.live` (event fan-out, unread
counts), :mod:`~pystatus.web.security` (sans-IO sessions, CSRF, unlock limit),
:mod:`~pystatus.web.common` (refusals, cookies, forms, security headers) and
:mod:`~pystatus.web.server` (the listening server).
"""
