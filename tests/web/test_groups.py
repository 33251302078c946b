"""Private groups in the browser (issue 18): three accounts on three nodes. Alice creates a
group with Bob, who sees it live and writes to it; Alice adds Carol, who sees it and reads
what follows; only an admin gets add and remove; Alice removes Carol; Bob leaves; axe-core
finds no serious or critical violation on the group screens."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pystatus.node import WakuNode
from tests.web.browser import chromium, serious_violations
from tests.web.helpers import meshed, node_config, unlock, web_peer

WAIT = 20_000  # ms


async def test_private_group_in_three_browsers(tmp_path: Path) -> None:
    from playwright.async_api import Page, expect

    expect.set_options(timeout=WAIT)
    async with contextlib.AsyncExitStack() as stack:
        browser = await stack.enter_async_context(chromium())
        nodes = [await stack.enter_async_context(WakuNode(node_config())) for _ in range(3)]
        await meshed(nodes)
        names = ("alice", "bob", "carol")
        peers = [
            await stack.enter_async_context(web_peer(tmp_path / n, f"{n} password", node=node))
            for n, node in zip(names, nodes, strict=True)
        ]
        pages: list[Page] = []
        for name, peer in zip(names, peers, strict=True):
            page = await (await browser.new_context()).new_page()
            page.set_default_timeout(WAIT)
            await unlock(page, peer.url, f"{name} password")
            pages.append(page)
        alice, bob, carol = pages
        alice_key, bob_key, carol_key = (p.messenger.chat_key for p in peers)

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

        # Bob leaves: the group leaves his list; Alice sees him gone.
        await bob.get_by_role("button", name="Leave group").click()
        await expect(trio).to_have_count(0)
        await expect(members.get_by_role("listitem", name=bob_key)).to_have_count(0)
        await expect(members.get_by_role("listitem")).to_have_count(1)
        assert alice_key not in (bob_key, carol_key)
