"""Communities in the browser (issue 18), two accounts on two nodes: Alice creates a
community that needs approval, with an ordinary and a read-only channel; Bob joins it by its
id (its description comes from the store on Alice's node); what Alice types in the
community's box survives the live refresh a post causes; Alice accepts his request from her
screen; both post in the ordinary channel and see each other's posts live; a post in
another channel counts as unread on the community in the sidebar until it is opened; Bob gets no
composer in the read-only channel and is told why, while Alice's post there reaches him;
Alice bans him. axe-core finds no serious or critical violation on either community screen.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from pystatus.node import WakuNode
from pystatus.node.config import StoreConfig
from pystatus.web.render_community import READ_ONLY_NOTICE
from tests.p2p.hosts import within
from tests.web.browser import chromium, serious_violations
from tests.web.helpers import meshed, node_config, unlock, web_peer

WAIT = 20_000  # ms: Playwright's unit


async def test_create_join_accept_post_read_only_ban(tmp_path: Path) -> None:
    from playwright.async_api import Page, expect

    expect.set_options(timeout=WAIT)
    async with contextlib.AsyncExitStack() as stack:
        browser = await stack.enter_async_context(chromium())
        archive = StoreConfig(db_url=f"sqlite:///{tmp_path}/store.sqlite3", resume=False)
        alice_node = await stack.enter_async_context(WakuNode(node_config(store=archive)))
        store_addr = alice_node.host.full_addrs()[0]
        bob_node = await stack.enter_async_context(WakuNode(node_config(storenode=store_addr)))
        await within(alice_node.connect(bob_node.host.full_addrs()[0]))
        await meshed([alice_node, bob_node])
        alice_peer = await stack.enter_async_context(
            web_peer(tmp_path / "alice", "alice password", node=alice_node)
        )
        bob_peer = await stack.enter_async_context(
            web_peer(tmp_path / "bob", "bob password", node=bob_node)
        )
        bob_key = bob_peer.messenger.chat_key

        async def opened(url: str, password: str) -> Page:
            page = await (await browser.new_context()).new_page()
            page.set_default_timeout(WAIT)
            await unlock(page, url, password)
            return page

        alice = await opened(alice_peer.url, "alice password")
        bob = await opened(bob_peer.url, "bob password")

        # Alice creates "Cats" (approval needed), which comes with #general; adds #news.
        await alice.locator(".new-community > summary").click()
        await alice.get_by_role("textbox", name="Community name").fill("Cats")
        await alice.get_by_role("checkbox", name="Members need approval").check()
        await alice.get_by_role("button", name="Create community").click()
        await expect(alice.get_by_role("heading", name="Cats")).to_be_visible()
        listed = alice.get_by_role("list", name="Communities").get_by_role("listitem", name="Cats")
        await expect(listed).to_be_visible()
        community_id = await alice.locator("main").get_attribute("data-community")
        assert community_id and community_id.startswith("0x")
        # #general came with the community, as in the Status app
        await alice.get_by_role("list", name="Channels").get_by_role("link").click()
        await expect(alice.get_by_role("heading", name="general")).to_be_visible()
        general = await alice.locator("main").get_attribute("data-chat")
        assert general is not None
        # What she types in the community's box stays while a post refreshes the page.
        await alice.get_by_role("textbox", name="Channel name").fill("news")
        await alice.get_by_role("checkbox", name="Read-only (only admins post)").check()
        await alice_peer.messenger.send_community(general, "typed meanwhile")
        await expect(alice.locator("#messages li", has_text="typed meanwhile")).to_be_visible()
        await alice.get_by_role("button", name="Add channel").click()
        channels = alice.get_by_role("list", name="Channels")
        await expect(channels.get_by_role("listitem")).to_have_count(2)
        await expect(channels.get_by_role("listitem", name="news")).to_contain_text("read-only")

        # Bob asks to join by the id; Alice's screen shows his request live; she accepts.
        await bob.get_by_role("textbox", name="Community id").fill(community_id)
        await bob.get_by_role("button", name="Join community").click()
        await expect(bob.get_by_text("Request sent; waiting for approval.")).to_be_visible()
        request = alice.get_by_role("listitem", name=f"Request from {bob_key}")
        await request.get_by_role("button", name=f"Accept {bob_key}").click()
        members = alice.get_by_role("list", name="Members")
        await expect(members.get_by_role("listitem")).to_have_count(2)
        await expect(alice.get_by_role("heading", name="news")).to_be_visible()  # she stays

        # Bob's screen follows live: the channels appear; both write in #general.
        bob_channels = bob.get_by_role("list", name="Channels")
        await bob_channels.get_by_role("listitem", name="general").get_by_role("link").click()
        await expect(bob.get_by_role("heading", name="general")).to_be_visible()
        await channels.get_by_role("listitem", name="general").get_by_role("link").click()
        await expect(alice.get_by_role("heading", name="general")).to_be_visible()
        await bob.get_by_role("textbox", name="Message").fill("hello cats")
        await bob.keyboard.press("Enter")
        await expect(alice.locator("#messages li", has_text="hello cats")).to_be_visible()
        await alice.get_by_role("textbox", name="Message").fill("welcome <b>bob</b>")
        await alice.keyboard.press("Enter")
        await expect(bob.locator("#messages li", has_text="welcome <b>bob</b>")).to_be_visible()
        assert await serious_violations(alice) == []
        assert await serious_violations(bob) == []

        # #news: Alice posts; Bob reads it, has no composer and is told why.
        await channels.get_by_role("listitem", name="news").get_by_role("link").click()
        await alice.get_by_role("textbox", name="Message").fill("news for cats")
        await alice.keyboard.press("Enter")
        # Bob, in #general, sees the community's unread count; opening #news reads it.
        cats = bob.get_by_role("list", name="Communities").get_by_role("listitem", name="Cats")
        await expect(cats.locator(".unread")).to_have_text("1")
        await bob_channels.get_by_role("listitem", name="news").get_by_role("link").click()
        await expect(bob.get_by_role("heading", name="news")).to_be_visible()
        await expect(bob.locator("#messages li", has_text="news for cats")).to_be_visible()
        await expect(bob.get_by_text(READ_ONLY_NOTICE)).to_be_visible()
        await expect(cats.locator(".unread")).to_have_count(0)
        await expect(bob.get_by_role("textbox", name="Message")).to_have_count(0)
        assert await bob.get_by_role("button", name="Add channel").count() == 0
        assert await bob.get_by_role("button", name="Ban", exact=False).count() == 0
        assert await serious_violations(bob) == []

        # Alice bans Bob: he leaves her member list.
        await members.get_by_role("button", name=f"Ban {bob_key}").click()
        await expect(members.get_by_role("listitem")).to_have_count(1)


async def test_community_routes_check_csrf_origin_input_and_escape(tmp_path: Path) -> None:
    """Over HTTP, no browser: the community routes refuse a missing or forged CSRF token and
    a foreign Origin (403), a malformed id, name or chat key (400) and an unknown community
    (404); names are shown as text; the control node keeps its composer in a read-only
    channel."""
    import re

    import httpx

    from tests.web.test_security import PASSWORD, _csrf, _unlocked

    hostile = '<img src=x onerror="alert(1)">'
    async with (
        WakuNode(node_config()) as node,
        web_peer(tmp_path / "me", PASSWORD, node=node) as me,
        httpx.AsyncClient(base_url=me.url) as client,
    ):
        token = await _unlocked(client)
        create = {"name": hostile[:30], "csrf": token}
        assert (await client.post("/communities/create", data={"name": "x"})).status_code == 403
        forged = {**create, "csrf": "forged"}
        assert (await client.post("/communities/create", data=forged)).status_code == 403
        evil = {"origin": "http://evil.example"}
        assert (
            await client.post("/communities/create", data=create, headers=evil)
        ).status_code == 403
        too_long = {"name": "x" * 31, "csrf": token}
        assert (await client.post("/communities/create", data=too_long)).status_code == 400
        made = await client.post("/communities/create", data=create)
        assert made.status_code == 303
        page = (await client.get(made.headers["location"])).text
        assert "<img" not in page and "&lt;img src=x onerror=&quot;" in page
        assert "># general</a>" in page  # made with the community, as the Status app does
        community_id = _community_id(page)
        channel = {"name": "<b>ro</b>", "read_only": "1", "csrf": token}
        added = await client.post(f"/communities/{community_id}/channels", data=channel)
        assert added.status_code == 303
        page = (await client.get(added.headers["location"])).text
        assert "<b>ro</b>" not in page and "&lt;b&gt;ro&lt;/b&gt;" in page
        assert 'name="text"' in page  # the control node may post in its read-only channel
        assert _csrf(page) == token
        ro_channel = added.headers["location"].split("chat=")[1]
        from urllib.parse import unquote

        ro_channel = unquote(ro_channel)
        sent = await client.post("/send", data={"chat": ro_channel, "text": "hi", "csrf": token})
        assert sent.status_code == 303
        page = (await client.get(sent.headers["location"])).text
        # the control node may react, edit and delete in its read-only channel
        assert ">hi</p>" in page and "React love" in page and ">Edit</a>" in page
        message_id = re.findall(r'data-id="(0x[0-9a-f]+)"', page)[-1]
        # Reactions, edits and deletes in a channel, as in any chat (issue 17).
        for action in ("react", "edit", "delete"):
            fields = {"chat": ro_channel, "reaction": "1", "text": "x", "csrf": token}
            answer = await client.post(f"/messages/{message_id}/{action}", data=fields)
            assert answer.status_code == 303, (action, answer.status_code)
        assert await me.messenger.reactions(message_id) == [(me.messenger.chat_key, 1)]
        gone = await me.messenger.message(message_id)
        assert gone is not None and gone.deleted
        bad = {"id": "0xnothex", "csrf": token}
        assert (await client.post("/communities/join", data=bad)).status_code == 400
        assert (await client.get("/?community=0xnothex")).status_code == 400
        unknown = "0x02" + "11" * 32
        member = {"member": me.messenger.chat_key, "csrf": token}
        assert (await client.post(f"/communities/{unknown}/accept", data=member)).status_code == 404
        not_a_key = {"member": "zQ3notakey", "csrf": token}
        assert (
            await client.post(f"/communities/{community_id}/ban", data=not_a_key)
        ).status_code == 400


def _community_id(page: str) -> str:
    import re

    found = re.search(r'data-community="(0x[0-9a-f]+)"', page)
    assert found is not None, page
    return found.group(1)
