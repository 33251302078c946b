"""One private group message from status-go v1.1.0 beside one from pystatus, in the same group
(issue 17, item 5): Waku messages and their encoded bytes as the service node's relay received
them from each sender.

status-go lets a group hold only mutual contacts, so the group is small: status-go's bob and
two pystatus accounts, alice and carol, made bob's mutual contacts first (as
tests/interop/test_statusgo_groups.py does). bob creates the group; once both were invited,
bob sends one text and then alice sends one, of the same length. What bob publishes is read
on the pystatus service node (a relay observer, by the peer it came from); what alice publishes
at her Messenger's transport (the chat node also carries carol's acknowledgements). Both from
just before the send until the other two members have it and one more MVDS epoch passed.

Run: ``nice -n 10 python -m bench.groups_statusgo`` (needs ``make statusgo``; 30 to 60 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pystatus.chat.account import Account
from pystatus.chat.messenger import Messenger
from pystatus.chat.transport import Published
from pystatus.waku.message import WakuMessage
from pystatus.waku.relay import RelayedMessage
from tests.interop.statusgo_network import (
    FAST,
    chat_messenger,
    hex_key,
    meshed,
    next_event,
    status_network,
)
from tests.interop.statusgo_peer import StatusGoPeer, statusgo_binary

TEXT = "x" * 100
OUR_TEXT = "y" * 100
EPOCH_WAIT = 1.5
"""Seconds after the last member got the text: MVDS batches every 300 ms (both sides)."""


@dataclass
class Seen:
    """Encoded sizes of the Waku messages each source published, by peer id text."""

    sizes: dict[str, list[int]] = field(default_factory=dict)
    recording: bool = False

    def __call__(self, item: RelayedMessage) -> None:
        if self.recording and item.source is not None:
            self.sizes.setdefault(str(item.source), []).append(len(item.message.encode()))


async def _mutual(bob: StatusGoPeer, messenger: Messenger) -> None:
    events = messenger.events()
    await bob.request("send_contact_request", to=hex_key(messenger.account), text="hi")
    await next_event(events, "contact_request")
    await messenger.accept_contact_request(bob.compressed_key)

    async def mutual() -> bool:
        contacts = (await bob.request("contacts"))["contacts"]
        return any(c.get("id") == hex_key(messenger.account) and c.get("mutual") for c in contacts)

    async with asyncio.timeout(60):
        while not await mutual():
            await bob.wait_event(lambda _: True, timeout=60, since=len(bob.events))


async def run_side_by_side(directory: Path) -> dict[str, list[int]]:
    """``{"status-go": sizes, "pystatus": sizes}``: the Waku messages one group text cost.
    Needs the built status-go peer (:func:`statusgo_binary`)."""
    alice_account, _ = Account.create(directory / "alice", "alice password", params=FAST)
    carol_account, _ = Account.create(directory / "carol", "carol password", params=FAST)
    seen = Seen()
    async with (
        status_network(directory) as network,
        StatusGoPeer(waku_nodes=[network.service_addr], display_name="bob") as bob,
    ):
        await meshed(network)
        relay = network.service.require_relay()
        relay.add_observer(seen)
        async with (
            chat_messenger(network, alice_account) as alice,
            chat_messenger(network, carol_account) as carol,
        ):
            await _mutual(bob, alice)
            await _mutual(bob, carol)
            alice_events, carol_events = alice.events(), carol.events()
            created = await bob.request(
                "group_create",
                name="bench",
                members=[hex_key(alice.account), hex_key(carol.account)],
            )
            chat = str(created["chatId"])
            for events in (alice_events, carol_events):
                await next_event(events, "group", lambda e: e.chat_id == chat)
            await asyncio.sleep(EPOCH_WAIT)  # the invitation's acknowledgements settle

            seen.sizes.clear()
            seen.recording = True
            await bob.request("send", chatId=chat, text=TEXT)
            for events in (alice_events, carol_events):
                await next_event(events, "message", lambda e: e.text == TEXT)
            await asyncio.sleep(EPOCH_WAIT)
            seen.recording = False
            statusgo = seen.sizes.get(bob.peer_id, [])

            ours: list[int] = []
            publish = alice.transport.publish

            async def recorded(pubsub_topic: str, message: WakuMessage) -> Published:
                ours.append(len(message.encode()))
                return await publish(pubsub_topic, message)

            alice.transport.publish = recorded  # type: ignore[method-assign]
            await alice.send_group(chat, OUR_TEXT)
            await bob.wait_event(
                lambda e: e.get("event") == "message" and e.get("text") == OUR_TEXT,
                timeout=60,
                since=0,
            )
            await next_event(carol_events, "message", lambda e: e.text == OUR_TEXT)
            await asyncio.sleep(EPOCH_WAIT)
            alice.transport.publish = publish  # type: ignore[method-assign]
        relay.remove_observer(seen)
    return {"status-go": statusgo, "pystatus": ours}


def side_by_side_table() -> Table:
    """The table for ``python -m bench --only groups``; its caption says why when status-go's
    peer is not built."""
    table = Table(title="groups: one 100-character group text, status-go bob and pystatus alice")
    for column in ("sender", "Waku messages", "bytes (encoded, summed)", "each"):
        table.add_column(column, justify="right")
    binary, reason = statusgo_binary()
    if binary is None:
        table.caption = f"skipped: {reason}"
        return table
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(run_side_by_side(Path(directory)))
    for name, sizes in result.items():
        each = ", ".join(f"{n:,}" for n in sorted(sizes))
        table.add_row(name, str(len(sizes)), f"{sum(sizes):,}", each)
    table.caption = (
        "The same group of 3 (status-go allows only mutual contacts): one message per other "
        "member; a first message to a member with no Double Ratchet session yet is larger."
    )
    return table


def main() -> int:
    Console(width=120).print(side_by_side_table())
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
