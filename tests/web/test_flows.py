"""The web client's everyday flows in the browser (issue 18, item 3), two accounts on two
nodes: a contact request shows its introduction; a message arriving while the tab is hidden
raises a notification (and not while it is shown); edit and delete reach the other browser;
a failed message is resent; history pages in as the user scrolls up; the main flows work
from the keyboard alone (tab order, Enter to send, Escape closes a menu, focus visible);
a private group: Alice creates it with Bob, who sees it live and writes; Alice adds Carol,
who reads what follows; only an admin gets add and remove; Alice removes Carol; Bob leaves.
axe-core finds no serious or critical violation on the request screen, in the dark theme and
on the group screens. One test, three accounts on three nodes: the browser and the nodes
start once (Chromium's start-up is most of a short test's time).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

from pystatus.chat.keys import AccountKeys, new_mnemonic, seed_from_mnemonic
from pystatus.chat.reliability import ReliabilityConfig
from pystatus.node import WakuNode
from tests.web.browser import chromium, serious_violations
from tests.web.helpers import WebPeer, meshed, node_config, unlock, web_peer

WAIT = 20_000  # ms
# A stand-in for the browser's Notification: granted, and each one noted on the window.
NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) { window.__notes.push(options.body); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""
NAMES = ("alice", "bob", "carol")
FAST_FAIL = ReliabilityConfig(resend_interval=1.0, max_sends=2)
"""A message nobody acknowledges fails within a few seconds (status-go's: 15 sends)."""


async def test_requests_notifications_edits_resend_paging_keyboard_groups(tmp_path: Path) -> None:
    from playwright.async_api import Page, expect

    expect.set_options(timeout=WAIT)
    async with contextlib.AsyncExitStack() as stack:
        browser = await stack.enter_async_context(chromium())
        nodes = [await stack.enter_async_context(WakuNode(node_config())) for _ in range(3)]
        await meshed(nodes)
        alice_peer, bob_peer, carol_peer = [
            await stack.enter_async_context(
                web_peer(tmp_path / name, f"{name} password", node=node, reliability=config)
            )
            for name, node, config in zip(NAMES, nodes, (FAST_FAIL, None, None), strict=True)
        ]

        async def opened(peer: WebPeer, name: str) -> Page:
            context = await browser.new_context()
            await context.add_init_script(NOTIFICATIONS)
            page = await context.new_page()
            page.set_default_timeout(WAIT)
            await unlock(page, peer.url, f"{name} password")
            return page

        alice, bob, carol = await asyncio.gather(
            *(opened(p, n) for p, n in zip((alice_peer, bob_peer, carol_peer), NAMES, strict=True))
        )
        alice_key, bob_key = alice_peer.messenger.chat_key, bob_peer.messenger.chat_key
        carol_key = carol_peer.messenger.chat_key

        # A contact request with Alice's own introduction; Bob's request screen shows it.
        await alice.get_by_role("textbox", name="Chat key").fill(bob_key)
        await alice.get_by_role("button", name="Start chat").click()
        await alice.get_by_role("textbox", name="Introduction").fill("Alice from the web test")
        await alice.get_by_role("button", name="Send contact request").click()
        request = bob.get_by_role("listitem", name=f"Request from {alice_key}")
        await expect(request.locator(".intro")).to_have_text("Alice from the web test")
        assert await serious_violations(bob) == []
        await bob.get_by_role("button", name="Dark theme").click()
        await expect(bob.locator("html[data-theme='dark']")).to_have_count(1)
        assert await serious_violations(bob) == []
        await request.get_by_role("button", name="Accept").click()
        await expect(bob.get_by_role("listitem", name=alice_key)).to_be_visible()

        # Shown tab: no notification; hidden tab: one.
        chat = bob.get_by_role("listitem", name=alice_key).get_by_role("link")
        await chat.click()
        await alice.get_by_role("textbox", name="Message").fill("while you look")
        await alice.keyboard.press("Enter")  # Enter sends
        await expect(bob.locator("#messages li", has_text="while you look")).to_be_visible()
        assert await bob.evaluate("window.__notes") == []
        await bob.evaluate(
            "Object.defineProperty(document, 'hidden', {value: true, configurable: true})"
        )
        await alice.get_by_role("textbox", name="Message").fill("helo bob")
        await alice.keyboard.press("Enter")
        await _notes(bob, 1)
        assert await bob.evaluate("window.__notes[0]") == f"New message in {alice_key}"
        await bob.evaluate("delete document.hidden")

        # Alice edits her typo and deletes a message; Bob's page follows.
        typo = alice.locator("#messages li", has_text="helo bob")
        await typo.get_by_role("link", name="Edit").click()
        await alice.get_by_role("textbox", name="Edit message").fill("hello bob")
        await alice.get_by_role("button", name="Save").click()
        edited = bob.locator("#messages li", has_text="hello bob")
        await expect(edited.locator(".edited")).to_have_text("(edited)")
        first = alice.locator("#messages li", has_text="while you look")
        await first.get_by_role("button", name="Delete").click()
        await expect(bob.locator("#messages li .deleted")).to_have_text("This message was deleted")
        await expect(bob.locator("#messages li", has_text="while you look")).to_have_count(0)

        # A message nobody acknowledges fails; Resend sends it again.
        nobody = AccountKeys.from_seed(seed_from_mnemonic(new_mnemonic())).chat_key_text
        await alice.get_by_role("textbox", name="Chat key").fill(nobody)
        await alice.get_by_role("button", name="Start chat").click()
        await alice.get_by_role("textbox", name="Message").fill("into the void")
        await alice.keyboard.press("Enter")
        void = alice.locator("#messages li", has_text="into the void")
        await expect(void.locator(".tick")).to_have_attribute("data-status", "failed")
        await void.get_by_role("button", name="Resend").click()
        await expect(void.locator(".tick")).to_have_attribute(
            "data-status", re.compile("pending|sent|stored")
        )
        await expect(void.get_by_role("button", name="Resend")).to_have_count(0)

        # History pages in as Bob scrolls up: 60 messages, 50 shown, then all.
        await alice_peer.messenger.join_public_chat("paging")
        for n in range(60):
            await alice_peer.messenger.send_public("paging", f"page message {n}")
        await alice.goto(alice_peer.url + "/?chat=paging")
        shown = alice.locator("#messages li")
        await expect(shown).to_have_count(50)
        await alice.locator("#history").evaluate("h => { h.scrollTop = 0; }")
        await expect(shown).to_have_count(60)
        await expect(shown.first).to_contain_text("page message 0")

        # The keyboard alone: Tab order through the sidebar, focus visible, Escape closes
        # the New group menu, Enter sends.
        await bob.goto(bob_peer.url + "/")
        await bob.get_by_role("textbox", name="Chat key").focus()
        await bob.keyboard.press("Tab")
        await expect(bob.get_by_role("button", name="Start chat")).to_be_focused()
        outline = await bob.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("", "none"), outline
        await bob.keyboard.press("Tab")
        await expect(bob.get_by_role("textbox", name="Public chat")).to_be_focused()
        await bob.keyboard.press("Tab")
        await bob.keyboard.press("Tab")
        new_group = bob.locator(".new-group")
        await expect(new_group.locator("summary")).to_be_focused()
        await bob.keyboard.press("Enter")
        await expect(new_group).to_have_attribute("open", "")
        await bob.keyboard.press("Tab")
        await expect(bob.get_by_role("textbox", name="Group name")).to_be_focused()
        await bob.keyboard.press("Escape")
        await expect(new_group).not_to_have_attribute("open", "")
        await expect(new_group.locator("summary")).to_be_focused()
        await alice.get_by_role("listitem", name=bob_key).get_by_role("link").click()
        link = bob.get_by_role("listitem", name=alice_key).get_by_role("link")
        for _ in range(10):
            if await link.evaluate("e => e === document.activeElement"):
                break
            await bob.keyboard.press("Tab")
        await bob.keyboard.press("Enter")
        await expect(bob.get_by_role("textbox", name="Message")).to_be_focused()
        await bob.keyboard.type("typed, then Enter")
        await bob.keyboard.press("Enter")
        await expect(alice.locator("#messages li", has_text="typed, then Enter")).to_be_visible()
        await expect(bob.get_by_role("textbox", name="Message")).to_have_value("")

        # Alice creates "Trio" with Bob; her page opens it, she is its admin.
        await alice.locator(".new-group > summary").click()
        await alice.get_by_role("textbox", name="Group name").fill("Trio")
        await alice.get_by_role("textbox", name="Members").fill(bob_key)
        await alice.get_by_role("button", name="Create group").click()
        await expect(alice.get_by_role("heading", name="Trio")).to_be_visible()
        groups = alice.get_by_role("list", name="Groups")
        await expect(groups.get_by_role("listitem", name="Trio")).to_be_visible()
        await alice.locator("#members-box > summary").click()
        members = alice.get_by_role("list", name="Members")
        await expect(members.get_by_role("listitem")).to_have_count(2)
        await expect(members.get_by_role("listitem", name="You")).to_contain_text("admin")
        assert await serious_violations(alice) == []

        # Bob sees it live, opens it and writes; Alice reads it live.
        trio = bob.get_by_role("list", name="Groups").get_by_role("listitem", name="Trio")
        await trio.get_by_role("link").click()
        await expect(bob.get_by_role("heading", name="Trio")).to_be_visible()
        await bob.locator("#members-box > summary").click()
        # Not an admin: no add, no remove; but he may leave.
        await expect(bob.get_by_role("button", name="Leave group")).to_be_visible()
        assert await bob.get_by_role("button", name="Add member").count() == 0
        assert await bob.get_by_role("button", name="Remove", exact=False).count() == 0
        assert await serious_violations(bob) == []
        await bob.get_by_role("textbox", name="Message").fill("hi trio")
        await bob.keyboard.press("Enter")
        await expect(alice.locator("#messages li", has_text="hi trio")).to_be_visible()

        # Alice adds Carol, who sees the group and reads what is written after.
        await alice.get_by_role("textbox", name="Member chat key").fill(carol_key)
        await alice.get_by_role("button", name="Add member").click()
        await expect(members.get_by_role("listitem")).to_have_count(3)
        carol_trio = carol.get_by_role("list", name="Groups").get_by_role("listitem", name="Trio")
        await carol_trio.get_by_role("link").click()
        await alice.get_by_role("textbox", name="Message").fill("welcome carol")
        await alice.get_by_role("button", name="Send", exact=True).click()
        await expect(carol.locator("#messages li", has_text="welcome carol")).to_be_visible()
        await expect(bob.locator("#messages li", has_text="welcome carol")).to_be_visible()
        mine = alice.locator("#messages li", has_text="welcome carol")
        await expect(mine.locator(".tick")).to_have_attribute("data-status", "delivered")

        # Alice removes Carol; Bob's member list follows live.
        await members.get_by_role("button", name=f"Remove {carol_key}").click()
        await expect(members.get_by_role("listitem")).to_have_count(2)
        bob_members = bob.get_by_role("list", name="Members")
        await expect(bob_members.get_by_role("listitem", name=carol_key)).to_have_count(0)
        await expect(carol_trio).to_have_count(0)
        await carol.reload()  # the group's history stays readable; writing to it is over
        await expect(carol.get_by_text("You are no longer a member of this group.")).to_be_visible()
        await expect(carol.get_by_role("textbox", name="Message")).to_have_count(0)

        # Bob leaves: the group leaves his list; Alice sees him gone.
        await bob.get_by_role("button", name="Leave group").click()
        await expect(trio).to_have_count(0)
        await expect(members.get_by_role("listitem", name=bob_key)).to_have_count(0)
        await expect(members.get_by_role("listitem")).to_have_count(1)


async def _notes(page: object, count: int) -> None:
    """Wait until the page has raised ``count`` notifications (evaluated through the
    debugging protocol: the page's CSP forbids Playwright's string-eval'd wait_for_function)."""
    async with asyncio.timeout(WAIT / 1000):
        while await page.evaluate("window.__notes.length") != count:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)  # a condition polled with a deadline
